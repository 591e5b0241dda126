/** Shared helpers for the client tests: a codec-aware fake broker, waiting, and typed access. */
import {
  decode,
  encode,
  type Packet,
  type PacketInput,
  type ProtocolVersion,
} from '../../generated/index.js';
import type { MqttClient } from '../../runtime/index.js';
import { type FakeBroker, type FakeConnection, startFakeBroker } from '../helpers/fake-broker.js';

export type Version = 3 | 4 | 5;

/** A fake broker whose tests speak packets: `reply(conn, packet)` encodes at `version`. */
export interface ScriptedBroker extends FakeBroker {
  version: Version;
  send(connection: FakeConnection, packet: PacketInput): Promise<void>;
  /** The next whole packet of `connection`, decoded. */
  next(connection: FakeConnection, timeoutMs?: number): Promise<Packet>;
  /** Waits for the next connection and answers its CONNECT with a CONNACK. */
  accept(options?: { sessionPresent?: boolean; code?: number }): Promise<FakeConnection>;
}

export function connack(version: Version, sessionPresent = false, code = 0): PacketInput {
  return version === 5
    ? { cmd: 'connack', sessionPresent, reasonCode: code }
    : { cmd: 'connack', sessionPresent, returnCode: code };
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
    async accept(options: { sessionPresent?: boolean; code?: number } = {}) {
      const connection = await broker.nextConnection();
      const first = await next(connection);
      if (first.cmd !== 'connect') throw new Error(`expected CONNECT, got ${first.cmd}`);
      await send(connection, connack(version, options.sessionPresent ?? false, options.code ?? 0));
      return connection;
    },
  });
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
