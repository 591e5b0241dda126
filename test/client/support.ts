/**
 * Shared helpers for the client tests: a codec-aware fake broker, a scene (that broker and a client
 * connected to it, both gone when the test ends), waiting, and typed access.
 */
import {
  type ConnackProperties,
  type ConnectPacket,
  decode,
  encode,
  type Packet,
  type PacketCmd,
  type PacketInput,
  type ProtocolVersion,
  type PublishPacketInput,
} from '../../generated/index.js';
import { type ClientOptions, connect, type MqttClient } from '../../runtime/index.js';
import { type FakeBroker, type FakeConnection, startFakeBroker } from '../helpers/fake-broker.js';

export type Version = 3 | 4 | 5;

/** A fake broker whose tests speak packets: `reply(conn, packet)` encodes at `version`. */
export interface ScriptedBroker extends FakeBroker {
  version: Version;
  send(connection: FakeConnection, packet: PacketInput): Promise<void>;
  /** The next whole packet of `connection`, decoded. */
  next(connection: FakeConnection, timeoutMs?: number): Promise<Packet>;
  /** Waits for the next connection and answers its CONNECT with a CONNACK. */
  accept(options?: AcceptOptions): Promise<FakeConnection>;
}

/** The CONNACK `accept` sends: Session Present, the return or reason code, and (MQTT 5) properties. */
export interface AcceptOptions {
  sessionPresent?: boolean;
  code?: number;
  properties?: ConnackProperties;
}

export function connack(
  version: Version,
  sessionPresent = false,
  code = 0,
  properties?: ConnackProperties,
): PacketInput {
  if (version !== 5) return { cmd: 'connack', sessionPresent, returnCode: code };
  return properties === undefined
    ? { cmd: 'connack', sessionPresent, reasonCode: code }
    : { cmd: 'connack', sessionPresent, reasonCode: code, properties };
}

/** A PUBLISH for the broker to send: topic `t`, payload `x`, neither DUP nor RETAIN, unless `fields` says. */
export function publishPacket(
  fields: Pick<PublishPacketInput, 'qos' | 'messageId'> & Partial<PublishPacketInput>,
): PublishPacketInput {
  return { cmd: 'publish', topic: 't', payload: Buffer.from('x'), dup: false, retain: false, ...fields };
}

async function expectConnect(packet: Promise<Packet>): Promise<ConnectPacket> {
  const first = await packet;
  if (first.cmd !== 'connect') throw new Error(`expected CONNECT, got ${first.cmd}`);
  return first;
}

export async function startScriptedBroker(version: Version): Promise<ScriptedBroker> {
  const broker = await startFakeBroker({ timeoutMs: 3000 });
  // A write to a client that has just closed is not an error of the test.
  const send = (connection: FakeConnection, packet: PacketInput) =>
    connection.send(encode(packet, { protocolVersion: version as ProtocolVersion })).catch(() => {});
  const next = async (connection: FakeConnection, timeoutMs?: number) =>
    decode(await connection.nextPacket(timeoutMs), { protocolVersion: version as ProtocolVersion });
  return Object.assign(broker, {
    version,
    send,
    next,
    async accept(options: AcceptOptions = {}) {
      const connection = await broker.nextConnection();
      await expectConnect(next(connection));
      await send(
        connection,
        connack(version, options.sessionPresent ?? false, options.code ?? 0, options.properties),
      );
      return connection;
    },
  });
}

/** The next packet `connection` sends to `broker`; it fails unless the packet is a `cmd`. */
export async function nextOf<C extends PacketCmd = PacketCmd>(
  broker: ScriptedBroker,
  connection: FakeConnection,
  cmd?: C,
  timeoutMs?: number,
): Promise<Extract<Packet, { cmd: C }>> {
  const packet = await broker.next(connection, timeoutMs);
  if (cmd !== undefined && packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${packet.cmd}`);
  return packet as never;
}

/** Anything with node:test's `after`: a test's context, say. */
export interface Teardown {
  after(fn: () => unknown): void;
}

/** `client`, ended at once when the test ends. */
export function track(client: MqttClient, t: Teardown): MqttClient {
  t.after(() => client.end(true));
  return client;
}

/** A scripted broker at `version` that stops when the test ends. */
export async function scriptedBroker(t: Teardown, version: Version): Promise<ScriptedBroker> {
  const broker = await startScriptedBroker(version);
  t.after(() => broker.stop());
  return broker;
}

export interface SceneOptions {
  /**
   * The CONNACK the broker answers the first CONNECT with (as `accept`; default: success, no
   * session; a refusal never brings `connect`, so send that with `null`). `null`: none; the test
   * answers, and `scene` does not wait for `connect`.
   */
  connack?: AcceptOptions | null;
  /**
   * Collect the client's errors into `errors` (default true). With false the client has no
   * `error` listener, so an error the test does not wait for fails it.
   */
  collectErrors?: boolean;
}

/** A scripted broker, a client connected to it, and its first connection seen from the broker. */
export interface Scene {
  broker: ScriptedBroker;
  client: MqttClient;
  /** The client's first connection. */
  conn: FakeConnection;
  /** The CONNECT the client opened `conn` with. */
  connect: ConnectPacket;
  /** Every error the client emitted (always empty with `collectErrors: false`). */
  errors: Error[];
  /** The next packet the client sends on `conn`; with `cmd`, it fails unless the packet is one. */
  next<C extends PacketCmd = PacketCmd>(cmd?: C, timeoutMs?: number): Promise<Extract<Packet, { cmd: C }>>;
  /** Every packet the client has sent on `conn`, CONNECT first, taken by `next` or not. */
  sent(): Packet[];
  /** Writes `packet` to the client on `conn`. */
  send(packet: PacketInput): Promise<void>;
}

/**
 * A scripted broker on loopback at the client's protocol version (`options.protocolVersion`,
 * default 4), a client connected to it with `options`, and its first connection; the client is
 * ended and the broker stopped when the test ends. Later connections go through `broker`.
 *
 *   const { client, next, send } = await scene(t, { reconnectPeriod: 0 });
 *   client.publish('t', 'm', { qos: 1 });
 *   const publish = await next('publish');
 *   await send({ cmd: 'puback', messageId: publish.messageId! });
 */
export async function scene(
  t: Teardown,
  options: ClientOptions = {},
  sceneOptions: SceneOptions = {},
): Promise<Scene> {
  const { connack: answer = {}, collectErrors: collect = true } = sceneOptions;
  const version = options.protocolVersion ?? 4;
  const broker = await scriptedBroker(t, version);
  const client = track(connect(broker.url, options), t);
  const errors = collect ? collectErrors(client) : [];
  // Listening before the CONNACK goes out, so that a fast one is not missed.
  const connected = answer === null ? undefined : once(client, 'connect');
  connected?.catch(() => {}); // awaited below; a failure before that must not go unhandled
  const conn = await broker.nextConnection();
  const connectPacket = await expectConnect(broker.next(conn));
  if (answer !== null) {
    await broker.send(
      conn,
      connack(version, answer.sessionPresent ?? false, answer.code ?? 0, answer.properties),
    );
    await connected;
  }
  return {
    broker,
    client,
    conn,
    connect: connectPacket,
    errors,
    next: (cmd, timeoutMs) => nextOf(broker, conn, cmd, timeoutMs),
    sent: () => conn.packets.map((packet) => decode(packet, { protocolVersion: version })),
    send: (packet) => broker.send(conn, packet),
  };
}

/** Answers the client's next connection to `broker` as `accept` does, and waits for its `connect` event. */
export async function reconnected(
  broker: ScriptedBroker,
  client: MqttClient,
  options?: AcceptOptions,
): Promise<FakeConnection> {
  const connected = once(client, 'connect');
  connected.catch(() => {}); // awaited below; a failure before that must not go unhandled
  const connection = await broker.accept(options);
  await connected;
  return connection;
}

/** Resolves with the arguments of the next `event`, or rejects after `ms`. */
export function once<T extends unknown[] = unknown[]>(
  client: MqttClient,
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    (client as unknown as { once(e: string, l: (...a: unknown[]) => void): void }).once(event, (...args) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

/** Polls `predicate` every 5 ms until it holds, or rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drops the client's current connection without DISCONNECT, as a network failure would. */
export function dropConnection(client: MqttClient): void {
  (client as unknown as { connection_?: { destroy(): void } }).connection_?.destroy();
}

/** Every `error` the client emits, collected (so none is unhandled). */
export function collectErrors(client: MqttClient): Error[] {
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  return errors;
}
