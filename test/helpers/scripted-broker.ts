/**
 * A scripted MQTT 5 broker on our own codec, for the cases no real broker produces: enhanced
 * authentication, unsolicited Topic Aliases and AUTH, a second CONNACK, malformed packets. It
 * answers CONNECT with the CONNACK the test chose (or lets the test answer), answers PINGREQ,
 * records every decoded packet, and lets the test send packets or raw bytes.
 *
 *   const broker = await startScriptedBroker({ connack: { reasonCode: 0, properties: { topicAliasMaximum: 2 } } });
 *   after(() => broker.stop());
 *   const conn = await broker.nextConnection();
 *   await conn.next('publish');
 */
import { createServer, type Socket } from 'node:net';
import {
  type ConnackPacketInput,
  type ConnectPacket,
  Decoder,
  encode,
  type Packet,
  type PacketCmd,
  type PacketInput,
} from '../../generated/index.js';
import { listenOnLoopback } from './free-port.js';

export type ConnackChoice = Omit<ConnackPacketInput, 'cmd'>;

export interface ScriptedBrokerOptions {
  /**
   * The answer to CONNECT: a CONNACK, a function choosing one per connection, or `null` to
   * answer nothing (the test sends CONNACK or AUTH itself). Default: reason code 0.
   */
  connack?:
    | ConnackChoice
    | null
    | ((connect: ConnectPacket, connection: ScriptedConnection) => ConnackChoice | null);
  /** Called for each decoded packet after it is recorded. */
  onPacket?: (packet: Packet, connection: ScriptedConnection) => void;
  /** Answer PINGREQ with PINGRESP (default true). */
  answerPings?: boolean;
  timeoutMs?: number;
}

export interface ScriptedConnection {
  socket: Socket;
  index: number;
  connect: ConnectPacket | undefined;
  /** Every packet received, in order. */
  packets: Packet[];
  /** The next received packet not yet taken, optionally of one type (others before it are skipped). */
  next<C extends PacketCmd>(cmd?: C, timeoutMs?: number): Promise<Extract<Packet, { cmd: C }>>;
  /** Encodes and sends a packet at the connection's protocol level. */
  send(packet: PacketInput): void;
  /** Sends raw bytes. */
  sendRaw(bytes: Uint8Array | number[]): void;
  end(): void;
  drop(): void;
  closed: Promise<void>;
}

export interface ScriptedBroker {
  port: number;
  url: string;
  connections: ScriptedConnection[];
  nextConnection(timeoutMs?: number): Promise<ScriptedConnection>;
  stop(): Promise<void>;
}

export async function startScriptedBroker(options: ScriptedBrokerOptions = {}): Promise<ScriptedBroker> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const connections: ScriptedConnection[] = [];
  const waiting: ((c: ScriptedConnection) => void)[] = [];
  let untaken = 0;

  const server = createServer((socket) => {
    const decoder = new Decoder({ protocolVersion: 5 });
    let version: 3 | 4 | 5 = 5;
    let taken = 0;
    const waiters: (() => void)[] = [];
    let ended = false;
    const wake = () => {
      for (const w of waiters.splice(0)) w();
    };
    const connection: ScriptedConnection = {
      socket,
      index: connections.length,
      connect: undefined,
      packets: [],
      next(cmd, ms = timeoutMs) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`scripted broker: no ${cmd ?? 'packet'} in ${ms} ms`)),
            ms,
          );
          const check = () => {
            while (taken < connection.packets.length) {
              const p = connection.packets[taken++]!;
              if (cmd === undefined || p.cmd === cmd) {
                clearTimeout(timer);
                resolve(p as never);
                return;
              }
            }
            if (ended) {
              clearTimeout(timer);
              reject(new Error(`scripted broker: connection closed before ${cmd ?? 'a packet'}`));
              return;
            }
            waiters.push(check);
          };
          check();
        });
      },
      send(packet) {
        if (!socket.destroyed) socket.write(encode(packet, { protocolVersion: version }));
      },
      sendRaw(bytes) {
        if (!socket.destroyed) socket.write(Uint8Array.from(bytes));
      },
      end: () => socket.end(),
      drop: () => socket.resetAndDestroy(),
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    connections.push(connection);
    socket.on('error', () => {});
    socket.once('close', () => {
      ended = true;
      wake();
    });
    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      try {
        packets = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch {
        socket.destroy();
        return;
      }
      for (const packet of packets) {
        connection.packets.push(packet);
        if (packet.cmd === 'connect') {
          connection.connect = packet;
          version = packet.protocolVersion;
          const choice =
            typeof options.connack === 'function' ? options.connack(packet, connection) : options.connack;
          if (choice !== null) {
            const answer = choice ?? { reasonCode: 0 };
            connection.send(
              version === 5
                ? { cmd: 'connack', sessionPresent: false, ...answer }
                : { cmd: 'connack', sessionPresent: false, returnCode: answer.returnCode ?? 0 },
            );
          }
        } else if (packet.cmd === 'pingreq' && options.answerPings !== false) {
          connection.send({ cmd: 'pingresp' });
        }
        options.onPacket?.(packet, connection);
      }
      wake();
    });
    untaken++;
    const w = waiting.shift();
    if (w) {
      untaken--;
      w(connection);
    }
  });
  const port = await listenOnLoopback(server);
  let stopped = false;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    nextConnection(ms = timeoutMs) {
      if (untaken > 0) {
        untaken--;
        return Promise.resolve(connections[connections.length - 1 - untaken]!);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`scripted broker: no connection in ${ms} ms`)), ms);
        waiting.push((c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
