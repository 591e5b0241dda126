/** What the bench modes share: their configuration, client set-up and teardown, the summary. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from '../client.js';
import type { ClientOptions } from '../options.js';
import { type Counters, type LatencySummary, latencySummary, type Samples } from './bench-stats.js';
import { connectClient, createClient } from './connection.js';

export interface BenchConfig {
  clients: number;
  rate: number | undefined;
  qos: 0 | 1 | 2;
  size: number;
  durationMs: number | undefined;
  /** --duration as given (conn holds its connections this long, 0 by default). */
  holdMs: number;
  count: number | undefined;
  inflight: number;
  json: boolean;
  url: string | undefined;
  options: ClientOptions;
  clientIdPrefix: string;
  run: string;
  debug: boolean;
}

export function newClient(cfg: BenchConfig, id: string): MqttClient {
  return createClient({ url: cfg.url, options: { ...cfg.options, clientId: id }, debug: cfg.debug });
}

/** Connects `clients`; throws when none connects, warns on stderr when some do not. */
export async function connectAll(clients: MqttClient[], counters: Counters): Promise<MqttClient[]> {
  const results = await Promise.allSettled(clients.map((c) => connectClient(c)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length === clients.length) throw failures[0]!.reason as Error;
  if (failures.length > 0) {
    counters.errors += failures.length;
    process.stderr.write(
      `mqtt bench: ${failures.length} of ${clients.length} clients did not connect: ${(failures[0]!.reason as Error).message}\n`,
    );
  }
  return clients.filter((_c, i) => results[i]!.status === 'fulfilled');
}

export function seconds(from: bigint, to: bigint = process.hrtime.bigint()): number {
  return Number(to - from) / 1e9;
}

export interface Summary {
  command: string;
  clients: number;
  qos?: number;
  size?: number;
  seconds: number;
  sent?: number;
  acked?: number;
  received?: number;
  connected?: number;
  errors: number;
  sentPerSecond?: number;
  receivedPerSecond?: number;
  connectionsPerSecond?: number;
  latencyMs?: LatencySummary;
}

/** Resolves when `done()` holds or `ms` have passed, checking every 10 ms. */
export async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(10);
}

/** Ends every client without waiting for acknowledgements. */
export async function endAll(clients: MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
}

export function optionalLatency(samples: Samples): { latencyMs?: LatencySummary } {
  const l = latencySummary(samples);
  return l ? { latencyMs: l } : {};
}
