/**
 * End-to-end throughput through Mosquitto on loopback: one publisher process and one subscriber
 * process per run, mqttforge and MQTT.js (npm `mqtt`) in the same run, alternating, with the
 * same workload. Every message carries a sequence number that the subscriber checks (QoS 2:
 * exactly once and in order; QoS 1: at least once; QoS 0: counted).
 *
 *   npx tsx bench/throughput.ts            100,000 x 64 B at QoS 0/1/2, 50,000 x 16 KiB, 1,000 idle
 *   BENCH_QUICK=1 npx tsx bench/throughput.ts   a bounded version for CI (a few seconds)
 *
 * Run from source, it compiles the project with tsc into .tmp/throughput-build first and runs the
 * emitted JavaScript (tsx's transform slows our code down; MQTT.js is plain JavaScript). The
 * client processes load mqttforge from an esbuild bundle, as the package ships it. It
 * prints msgs/s, CPU time per message of each process (`process.cpuUsage`), peak RSS, memory
 * per idle connection, and the ratios mqttforge / MQTT.js.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Impl = 'mqttforge' | 'mqttjs';
type QoS = 0 | 1 | 2;

interface Workload {
  name: string;
  qos: QoS;
  size: number;
  count: number;
}

interface ProcessStats {
  /** CPU microseconds (user + system) from connected to done. */
  cpuUs: number;
  /** Peak resident set, KiB. */
  maxRssKb: number;
  /** Resident set once connected (the library loaded, before the workload), KiB. */
  connectedRssKb: number;
}

interface SubResult extends ProcessStats {
  received: number;
  unique: number;
  duplicates: number;
  outOfOrder: number;
  firstAt: number;
  lastAt: number;
}

interface PubResult extends ProcessStats {
  startAt: number;
  failed: number;
}

const quick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const WINDOW = 1000;
const TIMEOUT_MS = quick ? 30_000 : 180_000;
const self = fileURLToPath(import.meta.url);

// ───────────────────────────── the client side, the same for both libraries ─────────────────────

interface BenchClient {
  publish(topic: string, payload: Buffer, qos: QoS, cb: (error?: Error) => void): void;
  subscribe(topic: string, qos: QoS): Promise<void>;
  onMessage(handler: (payload: Uint8Array) => void): void;
  end(): Promise<void>;
}

async function openClient(impl: Impl, url: string): Promise<BenchClient> {
  const role = process.argv[2] ?? '';
  // BENCH_OPTIONS='{"batchReadsMs":0}' adds client options (for both libraries) to compare
  // settings; BENCH_PUB_OPTIONS / BENCH_SUB_OPTIONS add them to one side only.
  const options = {
    reconnectPeriod: 0,
    keepalive: 60,
    clean: true,
    ...JSON.parse(process.env.BENCH_OPTIONS ?? '{}'),
    ...JSON.parse(process.env[`BENCH_${role.toUpperCase()}_OPTIONS`] ?? '{}'),
  };
  // Both are connected, then wrapped; only the calls the bench makes go through the wrapper.
  // Ours from the esbuild bundle main() builds, as the package ships it (dist/esm); MQTT.js from
  // its package. Without the bundle (a child run by hand), the compiled sources.
  const entry = process.env.MQTTFORGE_BENCH_ENTRY;
  const lib =
    impl === 'mqttforge'
      ? ((await import(entry ? pathToFileURL(entry).href : '../runtime/index.js')) as unknown as MinimalLib)
      : ((await import('mqtt')) as unknown as { default: MinimalLib }).default;
  const client = await lib.connectAsync(url, options);
  return {
    publish: (topic, payload, qos, cb) => client.publish(topic, payload, { qos }, cb),
    subscribe: async (topic, qos) => {
      await client.subscribeAsync(topic, { qos });
    },
    onMessage: (handler) => client.on('message', (_t: string, payload: Uint8Array) => handler(payload)),
    end: async () => {
      await client.endAsync();
    },
  };
}

interface MinimalClient {
  publish(topic: string, payload: Buffer, opts: { qos: QoS }, cb: (error?: Error) => void): unknown;
  subscribeAsync(topic: string, opts: { qos: QoS }): Promise<unknown>;
  on(event: 'message', handler: (topic: string, payload: Uint8Array) => void): unknown;
  endAsync(): Promise<unknown>;
}

interface MinimalLib {
  connectAsync(url: string, options: object): Promise<MinimalClient>;
}

/** BENCH_VERBOSE: garbage collections by kind (count, ms), from the child's start. */
const gcs = new Map<string, [count: number, ms: number]>();
if (process.env.BENCH_VERBOSE && process.argv[2]) {
  const kinds: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = kinds[detail?.kind ?? 0] ?? 'other';
      const seen = gcs.get(kind) ?? [0, 0];
      gcs.set(kind, [seen[0] + 1, seen[1] + entry.duration]);
    }
  }).observe({ entryTypes: ['gc'] });
}

function stats(cpuStart: NodeJS.CpuUsage, connectedRssKb: number): ProcessStats {
  const cpu = process.cpuUsage(cpuStart);
  if (process.env.BENCH_VERBOSE)
    process.stderr.write(
      `${process.argv[2]} ${process.argv[3]} connected RSS MiB ${(connectedRssKb / 1024).toFixed(1)} peak ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} user ${cpu.user} system ${cpu.system} minor faults ${process.resourceUsage().minorPageFault} gc ${[...gcs].map(([k, [n, ms]]) => `${k} ${n}/${ms.toFixed(0)}ms`).join(' ')} memory MiB ${Object.entries(
        process.memoryUsage(),
      )
        .map(([k, v]) => `${k} ${(v / 1048576).toFixed(1)}`)
        .join(' ')}\n`,
    );
  return { cpuUs: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS, connectedRssKb };
}

async function runSubscriber(impl: Impl, url: string, w: Workload, topic: string): Promise<void> {
  const client = await openClient(impl, url);
  const connectedRssKb = process.memoryUsage().rss / 1024;
  const seen = new Uint8Array(w.count);
  let received = 0;
  let unique = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let last = -1;
  let firstAt = 0;
  let lastAt = 0;
  let cpuStart = process.cpuUsage();
  let idle: NodeJS.Timeout | undefined;
  const finish = async () => {
    if (idle) clearTimeout(idle);
    const result: SubResult = {
      ...stats(cpuStart, connectedRssKb),
      received,
      unique,
      duplicates,
      outOfOrder,
      firstAt,
      lastAt,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await client.end();
    process.exit(0);
  };
  client.onMessage((payload) => {
    const seq = (payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!;
    lastAt = Date.now();
    if (received++ === 0) firstAt = lastAt;
    if (seen[seq]) duplicates++;
    else {
      seen[seq] = 1;
      unique++;
    }
    if (seq < last) outOfOrder++;
    last = seq;
    if (idle) idle.refresh();
    if (unique === w.count) void finish();
  });
  await client.subscribe(topic, w.qos);
  // Messages lost (QoS 0) would leave the subscriber waiting: stop after 3 s without one.
  idle = setTimeout(() => void finish(), 3000);
  idle.unref();
  process.stdin.once('data', () => idle?.refresh()); // the publisher has started
  cpuStart = process.cpuUsage();
  process.stdout.write('ready\n');
}

async function runPublisher(impl: Impl, url: string, w: Workload, topic: string): Promise<void> {
  const client = await openClient(impl, url);
  const connectedRssKb = process.memoryUsage().rss / 1024;
  const cpuStart = process.cpuUsage();
  const startAt = Date.now();
  let sent = 0;
  let settled = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      // Up to WINDOW publishes not yet called back: QoS 1/2 unacknowledged, QoS 0 unwritten.
      while (sent < w.count && sent - settled < WINDOW) {
        const payload = Buffer.alloc(w.size);
        payload.writeUInt32BE(sent++, 0);
        client.publish(topic, payload, w.qos, onSettled);
      }
    };
    const onSettled = (error?: Error) => {
      if (error) failed++;
      if (++settled === w.count) resolve();
      else if (sent < w.count && sent - settled < WINDOW / 2) pump();
    };
    pump();
  });
  const result: PubResult = { ...stats(cpuStart, connectedRssKb), startAt, failed };
  await client.end();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** Opens `count` connections and reports the RSS they added, per connection, in KiB. */
async function runIdle(impl: Impl, url: string, count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 100));
  // Load the library before measuring, so its code is not counted as per-connection memory.
  const first = await openClient(impl, url);
  gc?.();
  const before = process.memoryUsage().rss;
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Math.min(50, count - i);
    clients.push(...(await Promise.all(Array.from({ length: batch }, () => openClient(impl, url)))));
  }
  await new Promise((r) => setTimeout(r, 500));
  gc?.();
  const after = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ perConnectionKb: (after - before) / 1024 / count })}\n`);
  await Promise.all([first, ...clients].map((c) => c.end()));
  process.exit(0);
}

// ───────────────────────────── the orchestrator ─────────────────────────────

function child(args: string[]): { proc: ChildProcess; lines: AsyncIterator<string> } {
  // BENCH_PROF=sub|pub writes a CPU profile of that mqttforge process to .tmp/prof.
  const prof =
    process.env.BENCH_PROF === args[0] && args[1] === 'mqttforge'
      ? ['--cpu-prof', '--cpu-prof-dir=.tmp/prof']
      : [];
  const proc = spawn(process.execPath, ['--expose-gc', ...prof, self, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), TIMEOUT_MS);
  proc.on('exit', () => {
    clearTimeout(timer);
    for (const w of waiters.splice(0)) w('{"error":"exited"}');
  });
  return {
    proc,
    lines: {
      next: () =>
        new Promise((resolve) => {
          const line = queue.shift();
          if (line !== undefined) resolve({ value: line, done: false });
          else waiters.push((l) => resolve({ value: l, done: false }));
        }),
    },
  };
}

interface RunResult {
  impl: Impl;
  rate: number;
  pub: PubResult;
  sub: SubResult;
}

async function runOnce(impl: Impl, url: string, w: Workload, index: number): Promise<RunResult> {
  const topic = `bench/${impl}/${w.name}/${index}`;
  const spec = JSON.stringify(w);
  const sub = child(['sub', impl, url, spec, topic]);
  const ready = (await sub.lines.next()).value;
  if (ready !== 'ready') throw new Error(`subscriber: ${ready}`);
  const pub = child(['pub', impl, url, spec, topic]);
  sub.proc.stdin!.write('go\n');
  const pubResult = JSON.parse((await pub.lines.next()).value) as PubResult;
  const subResult = JSON.parse((await sub.lines.next()).value) as SubResult;
  if ('error' in pubResult || 'error' in subResult) throw new Error(`${impl} ${w.name}: a process failed`);
  const elapsed = Math.max(1, subResult.lastAt - pubResult.startAt);
  return { impl, rate: (subResult.unique / elapsed) * 1000, pub: pubResult, sub: subResult };
}

function check(w: Workload, r: RunResult): string {
  const problems: string[] = [];
  if (r.pub.failed > 0) problems.push(`${r.pub.failed} publishes failed`);
  if (w.qos > 0 && r.sub.unique !== w.count) problems.push(`${w.count - r.sub.unique} lost`);
  if (w.qos === 2 && r.sub.duplicates > 0) problems.push(`${r.sub.duplicates} duplicates`);
  if (w.qos === 2 && r.sub.outOfOrder > 0) problems.push(`${r.sub.outOfOrder} out of order`);
  if (w.qos === 0 && r.sub.unique !== w.count) problems.push(`${w.count - r.sub.unique} dropped (QoS 0)`);
  return problems.length > 0 ? problems.join(', ') : 'ok';
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
/**
 * Peak RSS above the RSS once connected: what the workload added, without the runtime and the
 * library's code, which a Node process has whatever it does (bare node peaks at about 41 MB).
 */
const growth = (p: ProcessStats) => Math.max(1, p.maxRssKb - p.connectedRssKb);

/** The project root: the nearest folder above this file with mqttforge's package.json. */
function projectRoot(): string {
  for (let dir = dirname(self); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'mqttforge'
    ) {
      return dir;
    }
  }
  throw new Error('bench: no mqttforge package.json above this file');
}

/** Bundles runtime/index.ts as `npm run build:esm` does, and returns the file. */
async function buildPackageEntry(): Promise<string> {
  const root = projectRoot();
  const outfile = join(root, '.tmp', 'throughput-package', 'index.js');
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'runtime', 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['ws', 'debug'],
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

async function main(): Promise<void> {
  process.env.MQTTFORGE_BENCH_ENTRY ??= await buildPackageEntry();
  const { startMosquitto } = await import('../test/helpers/mosquitto.js');
  const broker = await startMosquitto({
    // Not every packet in the log (the tests' default): writing it cost the broker more than
    // routing the messages, and halved the rates of both clients.
    logTypes: ['error', 'warning'],
    // No queue limits: a slow subscriber must not make the broker drop QoS 0 messages.
    // BENCH_BROKER_CONFIG='max_inflight_messages 20;…' replaces these lines (`;` between them).
    extraConfig:
      process.env.BENCH_BROKER_CONFIG?.replaceAll(';', '\n') ??
      'max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\nmax_connections -1',
  });
  const n = quick ? 5_000 : 100_000;
  const workloads: Workload[] = [
    { name: 'qos0-64B', qos: 0, size: 64, count: n },
    { name: 'qos1-64B', qos: 1, size: 64, count: n },
    { name: 'qos2-64B', qos: 2, size: 64, count: n },
    { name: 'qos1-16KiB', qos: 1, size: 16 * 1024, count: quick ? 2_000 : 50_000 },
  ];
  // BENCH_ONLY=qos1-64B,… runs only those workloads.
  const only = process.env.BENCH_ONLY?.split(',');
  if (only) workloads.splice(0, workloads.length, ...workloads.filter((w) => only.includes(w.name)));
  console.log(`throughput through Mosquitto on loopback${quick ? ' (quick)' : ''}; window ${WINDOW}`);
  console.log('workload      client      msgs/s   pub µs/msg  sub µs/msg  pub RSS MiB  sub RSS MiB  check');
  const ratios: string[] = [];
  try {
    let index = 0;
    for (const w of workloads) {
      const results: Record<Impl, RunResult> = {} as Record<Impl, RunResult>;
      // MQTT.js first on even workloads, ours first on odd ones, so warm caches favour neither.
      const order: Impl[] = index % 2 === 0 ? ['mqttjs', 'mqttforge'] : ['mqttforge', 'mqttjs'];
      for (const impl of order) {
        const r = await runOnce(impl, broker.url, w, index++);
        results[impl] = r;
        console.log(
          [
            w.name.padEnd(13),
            impl.padEnd(10),
            fmt(r.rate, 0).padStart(8),
            fmt(r.pub.cpuUs / w.count, 2).padStart(11),
            fmt(r.sub.cpuUs / w.count, 2).padStart(11),
            fmt(r.pub.maxRssKb / 1024).padStart(12),
            fmt(r.sub.maxRssKb / 1024).padStart(12),
            ` ${check(w, r)}`,
          ].join(' '),
        );
      }
      const ours = results.mqttforge;
      const theirs = results.mqttjs;
      ratios.push(
        `${w.name.padEnd(13)} msgs/s ${fmt(ours.rate / theirs.rate, 2)}x   pub CPU ${fmt(ours.pub.cpuUs / theirs.pub.cpuUs, 2)}x   sub CPU ${fmt(ours.sub.cpuUs / theirs.sub.cpuUs, 2)}x   peak RSS pub ${fmt(ours.pub.maxRssKb / theirs.pub.maxRssKb, 2)}x sub ${fmt(ours.sub.maxRssKb / theirs.sub.maxRssKb, 2)}x   above connected pub ${fmt(growth(ours.pub) / growth(theirs.pub), 2)}x sub ${fmt(growth(ours.sub) / growth(theirs.sub), 2)}x`,
      );
    }
    const idleCount = 1000; // fewer are noise: RSS moves by whole pages and allocator arenas
    const idle: Record<string, number> = {};
    for (const impl of ['mqttjs', 'mqttforge'] as Impl[]) {
      const c = child(['idle', impl, broker.url, String(idleCount)]);
      idle[impl] = (JSON.parse((await c.lines.next()).value) as { perConnectionKb: number }).perConnectionKb;
      console.log(
        `idle          ${impl.padEnd(10)} ${fmt(idle[impl]!)} KiB RSS per connection (${idleCount})`,
      );
    }
    console.log(
      '\nratios, mqttforge / MQTT.js (CPU and RSS: lower is better; msgs/s: higher is better; "above connected": peak RSS minus RSS once connected)',
    );
    for (const line of ratios) console.log(line);
    console.log(`idle memory per connection ${fmt(idle.mqttforge! / idle.mqttjs!, 2)}x`);
  } finally {
    await broker.stop();
  }
}

// ───────────────────────────── entry ─────────────────────────────

const [role, impl, url, spec, topic] = process.argv.slice(2);
if (role === 'sub') void runSubscriber(impl as Impl, url!, JSON.parse(spec!) as Workload, topic!);
else if (role === 'pub') void runPublisher(impl as Impl, url!, JSON.parse(spec!) as Workload, topic!);
else if (role === 'idle') void runIdle(impl as Impl, url!, Number(spec));
else if (self.endsWith('.ts')) {
  // From source: compile with tsc and run the emitted JavaScript instead.
  const root = join(dirname(self), '..');
  const outDir = join(root, '.tmp', 'throughput-build');
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  spawnSync(
    process.execPath,
    [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', outDir, '--declaration', 'false'],
    {
      stdio: 'inherit',
    },
  );
  const run = spawnSync(
    process.execPath,
    [join(outDir, 'bench', 'throughput.js'), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exitCode = run.status ?? 1;
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
