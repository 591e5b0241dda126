/**
 * A TCP fault proxy on loopback, between a client and a broker, that breaks connections on
 * purpose: cut after N bytes, cut at a chosen packet (which is then not forwarded), stall
 * (black-hole) traffic, delay or stop one direction, refuse new connections.
 *
 *   const proxy = await startFaultProxy(broker.port);
 *   proxy.cutAtPacket(PacketType.PUBREL, 'up');   // the first PUBREL client -> broker is lost
 *   after(() => proxy.stop());
 *
 * 'up' is client -> broker, 'down' is broker -> client. Rules are one-shot and apply to the
 * connections open or opened after they are set. Traffic is forwarded whole packet by whole
 * packet (framed by the fixed header), so a cut at a packet is exact.
 */
import { connect, createServer, type Socket } from 'node:net';
import { concat, framePacket, packetType } from './fake-broker.js';

export type Direction = 'up' | 'down';

interface Rule {
  direction: Direction | 'both';
  /** Cut when this many more bytes have passed. */
  bytes?: number;
  /** Cut at the nth (1-based) packet of this type. */
  type?: number;
  nth?: number;
  /** Forward the packet that triggers the cut (default false: it is lost). */
  forward?: boolean;
  fired: boolean;
}

interface Pair {
  client: Socket;
  server: Socket;
  closed: boolean;
}

export interface FaultProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Packets forwarded so far, by direction and type. */
  counts: Record<Direction, number[]>;
  cutAll(): void;
  cutAfterBytes(bytes: number, direction?: Direction | 'both'): void;
  cutAtPacket(type: number, direction: Direction, options?: { nth?: number; forward?: boolean }): void;
  /** Stops forwarding (data is discarded, sockets stay open) until called with false. */
  blackhole(on: boolean): void;
  /** Holds each chunk of `direction` back for `ms` (0 to stop). */
  delay(direction: Direction, ms: number): void;
  /** Discards everything in `direction` (the other still flows) until called with false. */
  halt(direction: Direction, on: boolean): void;
  /** Closes new connections at once (the broker looks down) until called with false. */
  refuse(on: boolean): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let rules: Rule[] = [];
  let blackholed = false;
  let refusing = false;
  let accepted = 0;
  const delays: Record<Direction, number> = { up: 0, down: 0 };
  const halted: Record<Direction, boolean> = { up: false, down: false };
  const counts: Record<Direction, number[]> = { up: new Array(16).fill(0), down: new Array(16).fill(0) };

  const cut = (pair: Pair) => {
    if (pair.closed) return;
    pair.closed = true;
    pair.client.resetAndDestroy();
    pair.server.resetAndDestroy();
  };

  /** Decides for one packet: forward it, or cut the connection (and whether to forward first). */
  const check = (direction: Direction, packet: Uint8Array, seen: Map<number, number>) => {
    const type = packetType(packet);
    const n = (seen.get(type) ?? 0) + 1;
    seen.set(type, n);
    for (const rule of rules) {
      if (rule.fired || (rule.direction !== 'both' && rule.direction !== direction)) continue;
      if (rule.bytes !== undefined) {
        rule.bytes -= packet.length;
        if (rule.bytes <= 0) {
          rule.fired = true;
          return 'cut';
        }
      } else if (rule.type === type) {
        rule.nth = (rule.nth ?? 1) - 1;
        if (rule.nth <= 0) {
          rule.fired = true;
          return rule.forward ? 'forward-then-cut' : 'cut';
        }
      }
    }
    return 'forward';
  };

  const pipe = (pair: Pair, from: Socket, to: Socket, direction: Direction) => {
    let pending: Uint8Array = new Uint8Array(0);
    const seen = new Map<number, number>();
    from.on('data', (chunk: Buffer) => {
      if (pair.closed || blackholed || halted[direction]) return;
      pending = pending.length === 0 ? new Uint8Array(chunk) : concat(pending, chunk);
      const out: Uint8Array[] = [];
      let action = 'forward';
      for (let size = framePacket(pending); size > 0; size = framePacket(pending)) {
        const packet = pending.subarray(0, size);
        pending = pending.subarray(size);
        action = check(direction, packet, seen);
        if (action === 'cut') break;
        out.push(packet);
        counts[direction][packetType(packet)]!++;
        if (action === 'forward-then-cut') break;
      }
      const send = () => {
        if (pair.closed) return;
        for (const packet of out) to.write(packet);
        if (action !== 'forward') {
          if (action === 'forward-then-cut') setImmediate(() => cut(pair));
          else cut(pair);
        }
      };
      if (delays[direction] > 0) setTimeout(send, delays[direction]);
      else send();
    });
  };

  const server = createServer((client) => {
    accepted++;
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    client.pause();
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair: Pair = { client, server: upstream, closed: false };
    pairs.add(pair);
    const close = () => {
      if (!pair.closed) cut(pair);
      pairs.delete(pair);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.once('connect', () => client.resume());
    pipe(pair, client, upstream, 'up');
    pipe(pair, upstream, client, 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    counts,
    cutAll() {
      for (const pair of pairs) cut(pair);
    },
    cutAfterBytes(bytes, direction = 'both') {
      rules = rules.filter((r) => !r.fired);
      rules.push({ direction, bytes, fired: false });
    },
    cutAtPacket(type, direction, options = {}) {
      rules = rules.filter((r) => !r.fired);
      rules.push({ direction, type, nth: options.nth ?? 1, forward: options.forward === true, fired: false });
    },
    blackhole(on) {
      blackholed = on;
    },
    delay(direction, ms) {
      delays[direction] = ms;
    },
    halt(direction, on) {
      halted[direction] = on;
    },
    refuse(on) {
      refusing = on;
    },
    async stop() {
      for (const pair of pairs) cut(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
