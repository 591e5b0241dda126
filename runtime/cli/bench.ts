/**
 * `mqtt bench pub|sub|conn`: a load generator in the spirit of emqtt-bench. Every run is bounded:
 * by --count, else by --duration (10 s by default), and the wait for outstanding acknowledgements
 * and messages after sending stops is at most DRAIN_MS.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from '../client.js';
import type { ClientOptions } from '../options.js';
import {
  bool,
  CliError,
  CONNECTION_OPTIONS,
  CONNECTION_USAGE,
  checkTopic,
  connectionOptions,
  int,
  num,
  type OptionSpec,
  parse,
  qos as qosFlag,
  str,
  UsageError,
  type Values,
} from './args.js';
import {
  type Counters,
  type LatencySummary,
  latencyLine,
  latencyNs,
  latencySummary,
  Progress,
  payloadBuffer,
  Samples,
  STAMP_SIZE,
  stamp,
} from './bench-stats.js';
import { connectClient, createClient } from './connection.js';

export const BENCH_OPTIONS = {
  ...CONNECTION_OPTIONS,
  clients: { type: 'string', short: 'c' },
  rate: { type: 'string' },
  qos: { type: 'string', short: 'q' },
  size: { type: 'string', short: 's' },
  duration: { type: 'string' },
  count: { type: 'string', short: 'n' },
  topic: { type: 'string', short: 't' },
  inflight: { type: 'string' },
  'no-sub': { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

export const BENCH_USAGE = 'Usage: mqtt bench pub|sub|conn [options]';

export const BENCH_HELP = `${BENCH_USAGE}

  pub    N clients publish; an in-process subscriber measures end-to-end latency
  sub    N clients subscribe and measure the latency of stamped messages (from 'bench pub
         --no-sub' in another process on the same host)
  conn   N clients connect; measures connection setup time

Prints a progress line to stderr each second (rates, in-flight, errors) and a summary with
throughput and latency percentiles (p50/p95/p99) to stdout. Latency comes from a monotonic
timestamp (process.hrtime) in each payload, so publisher and subscriber must share a host.

Bench options:
  -c, --clients N            clients (default 1)
  --rate R                   pub: messages/s per client; conn: connections/s (default: as fast
                             as possible)
  -q, --qos 0|1|2            QoS (default 0)
  -s, --size BYTES           payload size, at least ${STAMP_SIZE} (default 64)
  --duration SEC             stop sending after SEC seconds (default 10 unless --count is given);
                             conn: hold the connections this long
  -n, --count N              pub: messages per client; sub: stop once each client has N
  -t, --topic TOPIC          pub: topic, %i is the client number (default mqttforge/bench/<run>/%i);
                             sub: filter (default mqttforge/bench/#)
  --inflight N               pub: unacknowledged publishes per client (default 100);
                             conn: connections opening at once (default 100)
  --no-sub                   pub: no in-process subscriber (no latency figures)
  --json                     print the summary as JSON

${CONNECTION_USAGE}`;

/** After sending stops, how long to wait for outstanding acknowledgements and messages. */
const DRAIN_MS = 5000;

interface BenchConfig {
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

function config(values: Values): BenchConfig {
  const count = int(values, 'count', 1, Number.MAX_SAFE_INTEGER);
  const duration = num(values, 'duration');
  const size = int(values, 'size', STAMP_SIZE, 268_435_455 - 1024) ?? 64;
  const { url, options } = connectionOptions(values);
  const run = randomBytes(3).toString('hex');
  const clientIdPrefix = options.clientId ?? `mqttbench_${run}_`;
  delete options.clientId;
  return {
    clients: int(values, 'clients', 1, 1_000_000) ?? 1,
    rate: num(values, 'rate') || undefined,
    qos: qosFlag(values),
    size,
    durationMs: duration !== undefined ? duration * 1000 : count === undefined ? 10_000 : undefined,
    holdMs: (duration ?? 0) * 1000,
    count,
    inflight: int(values, 'inflight', 1, 65_535) ?? 100,
    json: bool(values, 'json'),
    url,
    options: { ...options, reconnectPeriod: 0, connectTimeout: 10_000 },
    clientIdPrefix,
    run,
    debug: bool(values, 'debug'),
  };
}

function newClient(cfg: BenchConfig, id: string): MqttClient {
  return createClient({ url: cfg.url, options: { ...cfg.options, clientId: id }, debug: cfg.debug });
}

/** Connects `clients`; throws when none connects, warns on stderr when some do not. */
async function connectAll(clients: MqttClient[], counters: Counters): Promise<MqttClient[]> {
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

function seconds(from: bigint, to: bigint = process.hrtime.bigint()): number {
  return Number(to - from) / 1e9;
}

interface Summary {
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

function printSummary(s: Summary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const rate = (n: number | undefined) => (n === undefined ? '' : `  (${n.toFixed(1)}/s)`);
  const lines = [
    `mqtt bench ${s.command}: ${s.clients} client${s.clients === 1 ? '' : 's'}` +
      (s.qos === undefined ? '' : `, QoS ${s.qos}`) +
      (s.size === undefined ? '' : `, ${s.size}-byte payloads`),
    `  duration   ${s.seconds.toFixed(3)} s`,
  ];
  if (s.connected !== undefined) lines.push(`  connected  ${s.connected}${rate(s.connectionsPerSecond)}`);
  if (s.sent !== undefined) lines.push(`  sent       ${s.sent}${rate(s.sentPerSecond)}`);
  if (s.acked !== undefined && s.qos !== 0) lines.push(`  acked      ${s.acked}`);
  if (s.received !== undefined) lines.push(`  received   ${s.received}${rate(s.receivedPerSecond)}`);
  lines.push(`  errors     ${s.errors}`);
  lines.push(`  latency    ${s.latencyMs ? latencyLine(s.latencyMs) : 'no samples'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Resolves when `done()` holds or `ms` have passed, checking every 10 ms. */
async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(10);
}

/** Ends every client without waiting for acknowledgements. */
async function endAll(clients: MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
}

interface Publisher {
  client: MqttClient;
  topic: string;
  payload: Buffer;
  sent: number;
  inFlight: number;
  alive: boolean;
}

async function benchPub(
  cfg: BenchConfig,
  noSub: boolean,
  topicTemplate: string | undefined,
): Promise<Summary> {
  const counters: Counters = { sent: 0, received: 0, inFlight: 0, errors: 0 };
  let acked = 0;
  const latency = new Samples();
  const template = topicTemplate ?? `mqttforge/bench/${cfg.run}/%i`;
  const topics = Array.from({ length: cfg.clients }, (_v, i) => template.replaceAll('%i', String(i)));

  let receiver: MqttClient | undefined;
  let lastReceive = process.hrtime.bigint();
  if (!noSub) {
    receiver = newClient(cfg, `${cfg.clientIdPrefix}sub`);
    await connectClient(receiver);
    receiver.on('message', (_t, payload) => {
      counters.received++;
      lastReceive = process.hrtime.bigint();
      const ns = latencyNs(payload, lastReceive);
      if (ns !== undefined) latency.add(ns);
    });
    receiver.on('error', () => counters.errors++);
    await receiver.subscribeAsync(Object.fromEntries([...new Set(topics)].map((t) => [t, { qos: cfg.qos }])));
  }

  const clients = await connectAll(
    topics.map((_t, i) => newClient(cfg, `${cfg.clientIdPrefix}${i}`)),
    counters,
  ).catch(async (error: unknown) => {
    if (receiver) await endAll([receiver]);
    throw error;
  });
  const pubs: Publisher[] = clients.map((client, i) => ({
    client,
    topic: topics[i]!,
    payload: payloadBuffer(cfg.size),
    sent: 0,
    inFlight: 0,
    alive: true,
  }));
  let wake: (() => void) | undefined;
  for (const p of pubs) {
    p.client.on('error', () => counters.errors++);
    p.client.on('close', () => {
      p.alive = false;
    });
  }
  const publishOne = (p: Publisher) => {
    stamp(p.payload, p.sent);
    p.sent++;
    p.inFlight++;
    counters.sent++;
    counters.inFlight++;
    // publish() encodes the payload before returning, so the buffer can be stamped again.
    p.client.publish(p.topic, p.payload, { qos: cfg.qos }, (error) => {
      p.inFlight--;
      counters.inFlight--;
      if (error) counters.errors++;
      else acked++;
      wake?.();
    });
  };

  const progress = new Progress('bench pub', () => counters);
  const start = process.hrtime.bigint();
  const limit = cfg.count ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const elapsed = seconds(start);
    if (cfg.durationMs !== undefined && elapsed * 1000 >= cfg.durationMs) break;
    let active = 0;
    let wrote = 0;
    for (const p of pubs) {
      if (!p.alive || p.sent >= limit) continue;
      active++;
      const due = cfg.rate === undefined ? limit : Math.min(limit, Math.floor(elapsed * cfg.rate) + 1);
      while (p.sent < due && p.inFlight < cfg.inflight) {
        publishOne(p);
        wrote++;
      }
    }
    if (active === 0) break;
    if (cfg.rate !== undefined) await sleep(10);
    else if (wrote > 0)
      await nextTurn(); // let the socket write and acks come in
    else await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
  }
  const sendEnd = process.hrtime.bigint();
  await waitUntil(
    () => counters.inFlight === 0 && (receiver === undefined || counters.received >= acked),
    DRAIN_MS,
  );
  progress.stop();
  await endAll(receiver ? [...clients, receiver] : clients);
  const sendSeconds = seconds(start, sendEnd);
  const receiveSeconds = seconds(start, lastReceive);
  return {
    command: 'pub',
    clients: cfg.clients,
    qos: cfg.qos,
    size: cfg.size,
    seconds: seconds(start),
    sent: counters.sent,
    acked,
    ...(receiver ? { received: counters.received } : {}),
    errors: counters.errors,
    sentPerSecond: counters.sent / sendSeconds,
    ...(receiver ? { receivedPerSecond: counters.received / Math.max(receiveSeconds, 1e-9) } : {}),
    ...optionalLatency(latency),
  };
}

function optionalLatency(samples: Samples): { latencyMs?: LatencySummary } {
  const l = latencySummary(samples);
  return l ? { latencyMs: l } : {};
}

async function benchSub(cfg: BenchConfig, filter: string | undefined): Promise<Summary> {
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

async function benchConn(cfg: BenchConfig): Promise<Summary> {
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

export async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, BENCH_OPTIONS);
  if (bool(values, 'help')) {
    process.stdout.write(`${BENCH_HELP}\n`);
    return 0;
  }
  const [mode, ...rest] = positionals;
  if (mode === undefined) throw new UsageError('missing mode: pub, sub or conn');
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (mode !== 'pub' && mode !== 'sub' && mode !== 'conn') {
    throw new UsageError(`unknown bench mode '${mode}': expected pub, sub or conn`);
  }
  const cfg = config(values);
  const topic = str(values, 'topic');
  if (topic !== undefined && mode !== 'conn') checkTopic(topic.replaceAll('%i', '0'), mode === 'sub');
  let summary: Summary;
  try {
    summary =
      mode === 'pub'
        ? await benchPub(cfg, bool(values, 'no-sub'), topic)
        : mode === 'sub'
          ? await benchSub(cfg, topic)
          : await benchConn(cfg);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, { cause: error });
  }
  printSummary(summary, cfg.json);
  return 0;
}
