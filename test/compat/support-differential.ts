/**
 * The differential harness of test/compat/differential.test.ts: one script, run once on MQTT.js
 * (npm `mqtt`) and once on mqttforge, each against a fresh scripted fake broker on loopback, and
 * a recording of what the application sees in each run — events with their key fields, callback
 * arguments, and the client's state flags at each of them — for the test to compare.
 *
 * A line of the recording reads `event details [flags]`; flags are `C` connected, `R`
 * reconnecting, `G` disconnecting, `D` disconnected, `-` where false:
 *
 *   connect rc=0 sp=false [C---]
 *   cb:publish null [C---]
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import type { PacketCmd } from '../../generated/index.js';
import { type ClientOptions, connect } from '../../runtime/index.js';
import { type ScriptedBroker, startScriptedBroker, type Version } from '../client/support.js';

export type Library = 'MQTT.js' | 'mqttforge';
export const libraries: readonly Library[] = ['MQTT.js', 'mqttforge'];

/** What both clients have in common, as far as the scripts use it. */
export interface AnyClient {
  connected: boolean;
  reconnecting: boolean;
  disconnecting: boolean;
  disconnected: boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
  publish(topic: string, message: string, opts?: object, cb?: (...args: unknown[]) => void): unknown;
  subscribe(topic: string | string[], opts?: object, cb?: (...args: unknown[]) => void): unknown;
  unsubscribe(topic: string | string[], opts?: object, cb?: (...args: unknown[]) => void): unknown;
  end(force?: boolean, opts?: object, cb?: (...args: unknown[]) => void): unknown;
  reconnect(): unknown;
}

export interface Run {
  library: Library;
  client: AnyClient;
  broker: ScriptedBroker;
  /** With `relay: true`: the relay the client connects through. */
  relay?: Restartable;
  /** The recording so far. */
  log: string[];
  /** Records `line` with the flags. */
  note(line: string): void;
  /** A callback that records `cb:<name>` and its arguments when called. */
  cb(name: string): (...args: unknown[]) => void;
  /** Resolves once the recording has a line starting with `prefix` (counting from `from`). */
  until(prefix: string, ms?: number, from?: number): Promise<void>;
}

export type Script = (run: Run) => Promise<void>;

const EVENTS = [
  'connect',
  'reconnect',
  'close',
  'offline',
  'end',
  'error',
  'disconnect',
  'message',
  'packetsend',
  'packetreceive',
  'outgoingEmpty',
] as const;

/** Packet types whose packetsend/packetreceive is recorded (PINGREQ/PINGRESP come with timing). */
const QUIET: ReadonlySet<string> = new Set<PacketCmd>(['pingreq', 'pingresp']);

function flags(client: AnyClient): string {
  return (
    (client.connected ? 'C' : '-') +
    (client.reconnecting ? 'R' : '-') +
    (client.disconnecting ? 'G' : '-') +
    (client.disconnected ? 'D' : '-')
  );
}

/**
 * One name for an error, the same on both libraries: our `err.code`, and for MQTT.js the code
 * of ours that stands for the same condition (docs/errors.md lists ours). MQTT.js errors carry
 * only a message (and, on refused CONNACKs and failed acks, a numeric `code`), so they are
 * matched by message. An error nothing here knows stays as `?<message>`, and shows in the diff.
 */
export function errorName(library: Library, error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { code?: unknown; returnCode?: number; reasonCode?: number };
  if (library === 'mqttforge') {
    // README "Migrating from MQTT.js": `err.code` is always a string; MQTT.js puts the numeric
    // CONNACK code there, ours is in `err.returnCode`.
    if (e.code === 'MQTT_ERR_CONNACK_REFUSED') return `MQTT_ERR_CONNACK_REFUSED rc=${e.returnCode}`;
    if (e.code === 'MQTT_ERR_ACK_FAILED') return `MQTT_ERR_ACK_FAILED rc=${e.reasonCode}`;
    return typeof e.code === 'string' ? e.code : `?${e.message}`;
  }
  const m = e.message;
  if (m.startsWith('Connection refused: ')) return `MQTT_ERR_CONNACK_REFUSED rc=${e.code}`;
  if (m.startsWith('Publish error: ')) return `MQTT_ERR_ACK_FAILED rc=${e.code}`;
  if (m.startsWith('Subscribe error: ')) {
    // ErrorWithSubackPacket: the code is in the SUBACK it carries.
    const granted = (e as { packet?: { granted?: number[] } }).packet?.granted ?? [];
    return `MQTT_ERR_ACK_FAILED rc=${granted.find((c) => c >= 0x80)}`;
  }
  if (m === 'Keepalive timeout') return 'MQTT_ERR_KEEPALIVE_TIMEOUT';
  if (m === 'connack timeout') return 'MQTT_ERR_CONNECT_TIMEOUT';
  if (m === 'client disconnecting') return 'MQTT_ERR_CLIENT_ENDED';
  if (m === 'Connection closed') return 'MQTT_ERR_CONNECTION_CLOSED';
  if (m.startsWith('Invalid topic')) return 'MQTT_ERR_INVALID_TOPIC';
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code; // ECONNREFUSED, …
  return `?${m}`;
}

/** One argument of a callback or event, as a recording shows it. */
function show(library: Library, value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof Error) return errorName(library, value);
  if (Array.isArray(value)) return `[${value.map((v) => show(library, v)).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // A packet: its cmd and the fields an application reads; a granted subscription: topic/qos.
    if (typeof o.cmd === 'string') {
      // Packet ids are random in MQTT.js, sequential in ours: only their presence is compared.
      const fields = ['messageId', 'reasonCode', 'returnCode', 'granted', 'reasonCodes']
        .filter((k) => o[k] !== undefined)
        .map((k) => (k === 'messageId' ? 'messageId' : `${k}=${show(library, o[k])}`));
      return [o.cmd, ...fields].join(' ');
    }
    if (typeof o.topic === 'string') return `${o.topic}:${o.qos}`;
  }
  return String(value);
}

function record(run: Run): void {
  const { client, library, note } = run;
  for (const event of EVENTS) {
    client.on(event, (...args: never[]) => {
      const a = args as unknown[];
      switch (event) {
        case 'connect': {
          const p = a[0] as { returnCode?: number; reasonCode?: number; sessionPresent: boolean };
          note(`connect rc=${p.returnCode ?? p.reasonCode} sp=${p.sessionPresent}`);
          return;
        }
        case 'error':
          note(`error ${errorName(library, a[0])}`);
          return;
        case 'disconnect':
          note(`disconnect rc=${(a[0] as { reasonCode?: number }).reasonCode ?? 0}`);
          return;
        case 'message': {
          const p = a[2] as { qos: number; retain: boolean; dup: boolean };
          note(`message ${a[0]} ${String(a[1])} qos=${p.qos} retain=${p.retain} dup=${p.dup}`);
          return;
        }
        case 'packetsend':
        case 'packetreceive': {
          const cmd = (a[0] as { cmd: string }).cmd;
          if (!QUIET.has(cmd)) note(`${event} ${cmd}`);
          return;
        }
        default:
          note(event);
      }
    });
  }
}

export interface DifferentialOptions {
  version?: Version;
  /** Client options of both runs (default: reconnectPeriod 100, so reconnects are quick). */
  options?: ClientOptions;
  /** How long to go on recording after the script, for late events (default 100 ms). */
  settleMs?: number;
  /** Puts a `restartable` relay between the client and the broker (`run.relay`). */
  relay?: boolean;
}

/** Runs `script` on `library` against a fresh scripted broker; resolves with the recording. */
export async function runOn(
  library: Library,
  script: Script,
  o: DifferentialOptions = {},
): Promise<string[]> {
  const version = o.version ?? 4;
  const broker = await startScriptedBroker(version);
  // manualConnect, then connect() once listening: MQTT.js emits the first CONNECT's packetsend
  // inside connect(), before the caller could listen.
  const options = { reconnectPeriod: 100, ...o.options, protocolVersion: version, manualConnect: true };
  const relay = o.relay ? await restartable(broker.port) : undefined;
  const url = relay?.url ?? broker.url;
  const log: string[] = [];
  const waiters = new Set<() => void>();
  let client!: AnyClient;
  const note = (line: string) => {
    log.push(`${line} [${flags(client)}]`);
    for (const w of waiters) w();
  };
  client = (library === 'MQTT.js'
    ? mqtt.connect(url, options as mqtt.IClientOptions)
    : connect(url, options as ClientOptions)) as unknown as AnyClient;
  const run: Run = {
    library,
    client,
    broker,
    relay,
    log,
    note,
    cb:
      (name) =>
      (...args) =>
        note(`cb:${name} ${args.map((a) => show(library, a)).join(' ')}`.trimEnd()),
    until(prefix, ms = 3000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!log.slice(from).some((line) => line.startsWith(prefix))) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${library}: no "${prefix}" within ${ms} ms; recorded:\n  ${log.join('\n  ')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
  record(run);
  (client as unknown as { connect(): void }).connect();
  try {
    await script(run);
    await new Promise((resolve) => setTimeout(resolve, o.settleMs ?? 100));
    return [...log];
  } finally {
    client.end(true);
    if (library === 'MQTT.js') {
      // What MQTT.js's end() can leave behind, which would hold the test process open: an end()
      // while connecting keeps the socket, whose close later starts reconnecting (with
      // manualConnect, end() clears `disconnecting`), and the CONNACK timer.
      const c = client as unknown as {
        options: { reconnectPeriod: number };
        connackTimer?: NodeJS.Timeout;
        stream?: { destroy(): void };
        _clearReconnect(): void;
      };
      c.options.reconnectPeriod = 0;
      c._clearReconnect();
      clearTimeout(c.connackTimer);
      c.stream?.destroy();
    }
    await relay?.stop();
    await broker.stop();
  }
}

/** Both recordings, MQTT.js first. */
export async function differential(
  script: Script,
  options: DifferentialOptions = {},
): Promise<Record<Library, string[]>> {
  const mqttjs = await runOn('MQTT.js', script, options);
  const forge = await runOn('mqttforge', script, options);
  return { 'MQTT.js': mqttjs, mqttforge: forge };
}

/**
 * A loopback TCP relay in front of a broker that can go down and come back on the same port, as
 * a restarted broker does: `down()` drops every connection and stops listening (connections are
 * refused), `up()` listens again.
 */
export interface Restartable {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function restartable(targetPort: number): Promise<Restartable> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((inbound) => {
        const outbound = netConnect(targetPort, '127.0.0.1');
        for (const socket of [inbound, outbound]) {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.once('close', () => {
            sockets.delete(socket);
            inbound.destroy();
            outbound.destroy();
          });
        }
        inbound.pipe(outbound);
        outbound.pipe(inbound);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : 0;
        server = s;
        resolve();
      });
    });
  const down = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { url: `mqtt://127.0.0.1:${port}`, down, up: listen, stop: down };
}
