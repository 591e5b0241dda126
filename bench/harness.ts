/**
 * A small benchmark harness: calibrate, warm up, then time several rounds of a fixed number
 * of calls and report the median rate. The subjects of one comparison run in alternating
 * rounds (ours, theirs, ours, theirs, …) so that drift in machine load hits both alike.
 *
 * Every call's result is folded into `sink`, which is printed at the end, so the JIT cannot
 * prove the work unused and drop it.
 *
 * `--quick` or BENCH_QUICK=1: short rounds, for CI. `--check` or BENCH_CHECK=1: exit with
 * status 1 when a target is missed (off by default: shared CI machines are noisy).
 */

export const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
export const check = process.argv.includes('--check') || process.env.BENCH_CHECK === '1';

const settings = quick
  ? { warmupMs: 60, roundMs: 40, rounds: 5 }
  : { warmupMs: 400, roundMs: 200, rounds: 9 };

let sink = 0;

/** True when run as TypeScript through a loader (tsx), whose transform slows the codec down. */
const fromSource = import.meta.url.endsWith('.ts');

export interface Subject {
  /** Who is measured, e.g. "mqttforge" or "mqtt-packet". */
  name: string;
  /** Units of work one call does: packets, or bytes for a MB/s rate. */
  unitsPerCall: number;
  /** Does the work once; returns a number that depends on the work (folded into the sink). */
  run: () => number;
}

export interface Measurement {
  name: string;
  /** Median units per second over the rounds. */
  rate: number;
  /** (fastest - slowest round) / median: how noisy this measurement was. */
  spread: number;
  callsPerRound: number;
}

function now(): bigint {
  return process.hrtime.bigint();
}

/** Runs `calls` calls; returns the elapsed nanoseconds. */
function timeCalls(run: () => number, calls: number): number {
  let acc = 0;
  const start = now();
  for (let i = 0; i < calls; i++) acc += run();
  const elapsed = Number(now() - start);
  sink = (sink + acc) | 0;
  return elapsed;
}

/** Warms `subject` up for warmupMs and returns how many calls fill one round of roundMs. */
function calibrate(subject: Subject): number {
  let calls = 1;
  let spent = 0;
  let elapsed = 0;
  // Double the batch until it is long enough to time, and keep going until warmed up.
  while (spent < settings.warmupMs * 1e6 || elapsed < 5e6) {
    elapsed = timeCalls(subject.run, calls);
    spent += elapsed;
    if (elapsed < 5e6) calls *= 2;
  }
  return Math.max(1, Math.round((calls * settings.roundMs * 1e6) / elapsed));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Measures the subjects side by side, in alternating rounds. */
export function compare(subjects: Subject[]): Measurement[] {
  const calls = subjects.map(calibrate);
  const rates: number[][] = subjects.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    subjects.forEach((s, i) => {
      const ns = timeCalls(s.run, calls[i]!);
      rates[i]!.push((calls[i]! * s.unitsPerCall * 1e9) / ns);
    });
  }
  return subjects.map((s, i) => {
    const r = rates[i]!;
    const m = median(r);
    return {
      name: s.name,
      rate: m,
      spread: (Math.max(...r) - Math.min(...r)) / m,
      callsPerRound: calls[i]!,
    };
  });
}

/** "1.23M", "456.7k", "89.0": three significant figures or so. */
export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(1);
}

export interface Row {
  case: string;
  unit: string;
  ours: Measurement;
  theirs: Measurement;
  /** Minimum ours/theirs ratio the issue asks for, if any. */
  target?: number;
}

export function rowMet(row: Row): boolean | undefined {
  return row.target === undefined ? undefined : row.ours.rate / row.theirs.rate >= row.target;
}

/** Prints rows as an aligned table; returns false when a target is missed. */
export function printTable(title: string, rows: Row[]): boolean {
  const header = ['case', 'unit', 'ours', 'theirs', 'ours/theirs', 'target', 'met', '±'];
  const lines = rows.map((row) => {
    const met = rowMet(row);
    return [
      row.case,
      row.unit,
      formatRate(row.ours.rate),
      `${formatRate(row.theirs.rate)} ${row.theirs.name}`,
      `${(row.ours.rate / row.theirs.rate).toFixed(2)}x`,
      row.target === undefined ? '' : `>= ${row.target}x`,
      met === undefined ? '' : met ? 'yes' : 'NO',
      `${Math.round(100 * Math.max(row.ours.spread, row.theirs.spread))}%`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const numeric = new Set([2, 4]);
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ');
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
  console.log(
    `(median of ${settings.rounds} rounds of ~${settings.roundMs} ms each${quick ? ', --quick' : ''}; ` +
      `± = (fastest - slowest round) / median, worse side; sink ${sink})`,
  );
  if (fromSource) {
    console.log(
      'NOTE: run from TypeScript source through a loader; `npm run bench` measures the compiled code.',
    );
  }
  return rows.every((r) => rowMet(r) !== false);
}
