/**
 * What `mqtt bench` measures with: the timestamp stamped into each payload, a latency sample
 * set with percentiles, and the once-a-second progress line on stderr.
 *
 * Payload layout (big-endian), the rest of the payload is filler:
 *
 *   0      4                      12          16
 *   | MFB1 | send time, ns (u64)  | seq (u32) | filler…
 *
 * The send time is `process.hrtime.bigint()`: monotonic and, on one host, the same clock in every
 * process (CLOCK_MONOTONIC), so a publisher and a subscriber in different processes on the same
 * machine can measure latency. Across machines the figures are meaningless.
 */

export const STAMP_SIZE = 16;
const MAGIC = 0x4d464231; // 'MFB1'

/** A reusable payload buffer of `size` bytes (at least STAMP_SIZE). */
export function payloadBuffer(size: number): Buffer {
  const buf = Buffer.alloc(size, 0x2e); // '.'
  buf.writeUInt32BE(MAGIC, 0);
  return buf;
}

/** Stamps `buf` with the current time and `seq`; the caller publishes it before stamping again. */
export function stamp(buf: Buffer, seq: number): void {
  buf.writeBigUInt64BE(process.hrtime.bigint(), 4);
  buf.writeUInt32BE(seq >>> 0, 12);
}

/** Nanoseconds since the payload was stamped, or undefined when it carries no stamp. */
export function latencyNs(payload: Uint8Array, now: bigint = process.hrtime.bigint()): number | undefined {
  if (payload.length < STAMP_SIZE) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (view.getUint32(0) !== MAGIC) return undefined;
  return Number(now - view.getBigUint64(4));
}

/** Up to `capacity` samples; past that a uniform reservoir sample (Vitter's algorithm R). */
export class Samples {
  private readonly values: Float64Array;
  private stored = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  constructor(readonly capacity = 1_000_000) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.stored < this.capacity) {
      this.values[this.stored++] = value;
      return;
    }
    const slot = Math.floor(Math.random() * this.count);
    if (slot < this.capacity) this.values[slot] = value;
  }

  /** Nearest-rank percentiles (p in 0..100) of what was added. */
  percentiles(ps: readonly number[]): number[] {
    if (this.stored === 0) return ps.map(() => Number.NaN);
    const sorted = this.values.slice(0, this.stored).sort();
    return ps.map(
      (p) => sorted[Math.min(this.stored - 1, Math.max(0, Math.ceil((p / 100) * this.stored) - 1))]!,
    );
  }
}

export interface LatencySummary {
  samples: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Milliseconds, from nanosecond samples; undefined when there are none. */
export function latencySummary(samples: Samples): LatencySummary | undefined {
  if (samples.count === 0) return undefined;
  const [p50, p95, p99] = samples.percentiles([50, 95, 99]).map((ns) => ns / 1e6) as [number, number, number];
  return { samples: samples.count, min: samples.min / 1e6, p50, p95, p99, max: samples.max / 1e6 };
}

export function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}

export function latencyLine(l: LatencySummary): string {
  return `min ${formatMs(l.min)} ms  p50 ${formatMs(l.p50)} ms  p95 ${formatMs(l.p95)} ms  p99 ${formatMs(l.p99)} ms  max ${formatMs(l.max)} ms  (${l.samples} samples)`;
}

export interface Counters {
  sent: number;
  received: number;
  inFlight: number;
  errors: number;
}

/**
 * The live progress line, at most once a second: rewritten in place on a terminal, one line per
 * second otherwise. Call `stop()` before printing the summary.
 */
export class Progress {
  private readonly timer: NodeJS.Timeout;
  private readonly start = process.hrtime.bigint();
  private last: Counters;
  private lastAt = this.start;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly read: () => Counters,
    private readonly words = { sent: 'sent', received: 'recv' },
  ) {
    this.last = { ...read() };
    this.timer = setInterval(() => this.tick(), 1000);
  }

  private tick(): void {
    const now = process.hrtime.bigint();
    const c = this.read();
    const dt = Number(now - this.lastAt) / 1e9;
    const rate = (n: number, before: number) => Math.round((n - before) / dt);
    const t = Number(now - this.start) / 1e9;
    const line =
      `${this.label} ${t.toFixed(0).padStart(4)}s  ${this.words.sent} ${rate(c.sent, this.last.sent)}/s` +
      `  ${this.words.received} ${rate(c.received, this.last.received)}/s` +
      `  in-flight ${c.inFlight}  errors ${c.errors}  total ${c.sent}/${c.received}`;
    process.stderr.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
    this.last = { ...c };
    this.lastAt = now;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) process.stderr.write('\r\u001b[K');
  }
}
