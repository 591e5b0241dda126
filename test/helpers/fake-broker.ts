/**
 * A scripted fake broker: a loopback TCP server that gives tests the raw bytes. It knows only
 * MQTT's fixed header (to cut the byte stream into packets), never the codec, so tests say what
 * to send as bytes and can drop a connection at the packet of their choice.
 *
 *   const broker = await startFakeBroker({
 *     onPacket(packet, connection) {
 *       if (packetType(packet) === PacketType.CONNECT) connection.send(hex('20 02 00 00'));
 *       if (packetType(packet) === PacketType.PUBLISH) connection.drop();
 *     },
 *   });
 *   after(() => broker.stop());
 */
import { createServer, type Socket } from 'node:net';
import { listenOnLoopback } from './free-port.js';

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;

/** `hex('20 02 00 00')` -> bytes; spaces and newlines are ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`not hex: ${text}`);
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** The packet type, the high nibble of the first byte. */
export function packetType(packet: Uint8Array): number {
  return (packet[0] ?? 0) >> 4;
}

/**
 * Length of the first whole packet in `bytes`, or 0 if it has not all arrived.
 * Fixed header: byte 1 = type/flags, then remaining length as a variable byte integer (1-4 bytes).
 */
export function framePacket(bytes: Uint8Array): number {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= bytes.length) return 0;
    const byte = bytes[i] as number;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return bytes.length >= 1 + i + remaining ? 1 + i + remaining : 0;
    multiplier *= 128;
  }
  throw new Error('malformed remaining length: more than 4 bytes');
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ resolve: (item: T) => void; reject: (error: Error) => void }> = [];
  private endedWith: Error | undefined;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.items.push(item);
  }

  end(error: Error): void {
    this.endedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  next(what: string, timeoutMs: number): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.endedWith) return Promise.reject(this.endedWith);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`fake broker: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

export interface FakeConnection {
  socket: Socket;
  /** 0 for the broker's first connection, 1 for the next, ... */
  index: number;
  /** Every chunk received so far, as it arrived. */
  chunks: Uint8Array[];
  /** Every whole packet received so far. */
  packets: Uint8Array[];
  /** The next chunk not yet returned by `nextChunk`. */
  nextChunk(timeoutMs?: number): Promise<Uint8Array>;
  /** The next whole packet not yet returned by `nextPacket`. */
  nextPacket(timeoutMs?: number): Promise<Uint8Array>;
  /** Writes raw bytes (a hex string is parsed with `hex`). */
  send(bytes: Uint8Array | number[] | string): Promise<void>;
  /** Closes gracefully (FIN). */
  end(): void;
  /** Drops the connection abruptly (RST). */
  drop(): void;
  readonly isClosed: boolean;
  closed: Promise<void>;
}

export interface FakeBrokerOptions {
  /** Called for each whole packet, in order; may send, end or drop. */
  onPacket?: (packet: Uint8Array, connection: FakeConnection) => void;
  /** Called for each new connection. */
  onConnection?: (connection: FakeConnection) => void;
  /** Default timeout of `nextChunk`/`nextPacket`/`nextConnection` (2000 ms). */
  timeoutMs?: number;
}

export interface FakeBroker {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  connections: FakeConnection[];
  /** The next connection not yet returned by `nextConnection`. */
  nextConnection(timeoutMs?: number): Promise<FakeConnection>;
  /** Drops every connection and closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

function wrap(socket: Socket, index: number, options: FakeBrokerOptions, timeoutMs: number): FakeConnection {
  const chunkQueue = new Queue<Uint8Array>();
  const packetQueue = new Queue<Uint8Array>();
  let pending: Uint8Array = new Uint8Array(0);
  let isClosed = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connection: FakeConnection = {
    socket,
    index,
    chunks: [],
    packets: [],
    nextChunk: (ms = timeoutMs) => chunkQueue.next('chunk', ms),
    nextPacket: (ms = timeoutMs) => packetQueue.next('packet', ms),
    send: (bytes) =>
      new Promise<void>((resolve, reject) => {
        const data = typeof bytes === 'string' ? hex(bytes) : Uint8Array.from(bytes);
        socket.write(data, (error) => (error ? reject(error) : resolve()));
      }),
    end: () => socket.end(),
    drop: () => socket.resetAndDestroy(),
    get isClosed() {
      return isClosed;
    },
    closed,
  };
  socket.on('data', (data: Buffer) => {
    // A plain Uint8Array view (no copy), so tests can deepEqual it against hex('...').
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    connection.chunks.push(chunk);
    chunkQueue.push(chunk);
    pending = pending.length === 0 ? chunk : concat(pending, chunk);
    for (let size = framePacket(pending); size > 0 && !socket.destroyed; size = framePacket(pending)) {
      const packet = pending.subarray(0, size);
      pending = pending.subarray(size);
      connection.packets.push(packet);
      packetQueue.push(packet);
      options.onPacket?.(packet, connection);
    }
  });
  socket.on('error', () => {}); // a drop or reset by the client is part of the tests
  socket.once('close', () => {
    isClosed = true;
    const error = new Error('fake broker: connection closed');
    chunkQueue.end(error);
    packetQueue.end(error);
  });
  return connection;
}

export async function startFakeBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const connections: FakeConnection[] = [];
  const connectionQueue = new Queue<FakeConnection>();
  const server = createServer((socket) => {
    const connection = wrap(socket, connections.length, options, timeoutMs);
    connections.push(connection);
    connectionQueue.push(connection);
    options.onConnection?.(connection);
  });
  const port = await listenOnLoopback(server);
  let stopped = false;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    nextConnection: (ms = timeoutMs) => connectionQueue.next('connection', ms),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const connection of connections) connection.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
