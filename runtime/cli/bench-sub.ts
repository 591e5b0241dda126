/** `mqtt bench sub` (N subscribers measuring stamped messages) and `mqtt bench conn` (N connections). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from '../client.js';
import {
  type BenchConfig,
  connectAll,
  endAll,
  newClient,
  optionalLatency,
  type Summary,
  seconds,
  waitUntil,
} from './bench-clients.js';
import { type Counters, latencyNs, Progress, Samples } from './bench-stats.js';
import { connectClient } from './connection.js';

export async function benchSub(cfg: BenchConfig, filter: string | undefined): Promise<Summary> {
  const counters: Counters = { sent: 0, received: 0, inFlight: 0, errors: 0 };
  const latency = new Samples();
  const topic = filter ?? 'mqttforge/bench/#';
  const perClient = new Array<number>(cfg.clients).fill(0);
  const clients = await connectAll(
    perClient.map((_n, i) => newClient(cfg, `${cfg.clientIdPrefix}${i}`)),
    counters,
  );
  clients.forEach((client, i) => {
    client.on('error', () => counters.errors++);
    client.on('message', (_t, payload) => {
      perClient[i]!++;
      counters.received++;
      const ns = latencyNs(payload);
      if (ns !== undefined) latency.add(ns);
    });
  });
  await Promise.all(clients.map((c) => c.subscribeAsync({ [topic]: { qos: cfg.qos } })));
  const progress = new Progress('bench sub', () => counters);
  const start = process.hrtime.bigint();
  const count = cfg.count;
  await waitUntil(
    () => count !== undefined && clients.every((_c, i) => perClient[i]! >= count),
    cfg.durationMs ?? Number.POSITIVE_INFINITY,
  );
  progress.stop();
  const elapsed = seconds(start);
  await endAll(clients);
  return {
    command: 'sub',
    clients: cfg.clients,
    qos: cfg.qos,
    seconds: elapsed,
    received: counters.received,
    errors: counters.errors,
    receivedPerSecond: counters.received / elapsed,
    ...optionalLatency(latency),
  };
}

export async function benchConn(cfg: BenchConfig): Promise<Summary> {
  const counters: Counters = { sent: 0, received: 0, inFlight: 0, errors: 0 };
  const latency = new Samples();
  const connected: MqttClient[] = [];
  let firstError: Error | undefined;
  const progress = new Progress('bench conn', () => counters, { sent: 'started', received: 'connected' });
  const start = process.hrtime.bigint();
  const attempts: Promise<void>[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    if (cfg.rate !== undefined) await sleep(Math.max(0, (i / cfg.rate) * 1000 - seconds(start) * 1000));
    while (counters.inFlight >= cfg.inflight) await sleep(5);
    const client = newClient(cfg, `${cfg.clientIdPrefix}${i}`);
    const t0 = process.hrtime.bigint();
    counters.sent++;
    counters.inFlight++;
    attempts.push(
      connectClient(client).then(
        () => {
          latency.add(Number(process.hrtime.bigint() - t0));
          counters.inFlight--;
          counters.received++;
          connected.push(client);
          client.on('error', () => counters.errors++);
        },
        (error: Error) => {
          counters.inFlight--;
          counters.errors++;
          firstError ??= error;
        },
      ),
    );
  }
  await Promise.all(attempts);
  const setup = seconds(start);
  if (cfg.holdMs > 0 && connected.length > 0) await sleep(cfg.holdMs);
  progress.stop();
  await endAll(connected);
  if (connected.length === 0 && firstError) throw firstError;
  if (firstError)
    process.stderr.write(`mqtt bench: ${counters.errors} connections failed: ${firstError.message}\n`);
  return {
    command: 'conn',
    clients: cfg.clients,
    seconds: setup,
    connected: connected.length,
    errors: counters.errors,
    connectionsPerSecond: connected.length / setup,
    ...optionalLatency(latency),
  };
}
