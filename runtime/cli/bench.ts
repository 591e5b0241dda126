/**
 * `mqtt bench pub|sub|conn`: a load generator in the spirit of emqtt-bench. Every run is bounded:
 * by --count, else by --duration (10 s by default), and the wait for outstanding acknowledgements
 * and messages after sending stops is at most 5 s (DRAIN_MS in bench-pub.ts).
 */
import { randomBytes } from 'node:crypto';
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
import type { BenchConfig, Summary } from './bench-clients.js';
import { benchPub } from './bench-pub.js';
import { latencyLine, STAMP_SIZE } from './bench-stats.js';
import { benchConn, benchSub } from './bench-sub.js';

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
