/** What the fault tests share: sequence-numbered payloads and a subscriber that checks them. */
import { connectAsync, type MqttClient } from '../../runtime/index.js';

export function seqPayload(seq: number, size = 16): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  return b;
}

export interface Checker {
  client: MqttClient;
  unique(): number;
  duplicates(): number;
  /** Sequence numbers not received, among 0..count-1. */
  missing(count: number): number[];
  /** Resolves when every one of 0..count-1 has arrived, rejects after `ms`. */
  waitAll(count: number, ms: number): Promise<void>;
}

/** A subscriber on `topic` at `qos` that records every sequence number it receives. */
export async function checker(
  url: string,
  topic: string,
  qos: 1 | 2,
  options: Record<string, unknown> = {},
): Promise<Checker> {
  const client = await connectAsync(url, { reconnectPeriod: 50, ...options });
  client.on('error', () => {});
  const seen = new Map<number, number>();
  let dups = 0;
  client.on('message', (_t, payload) => {
    const seq = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readUInt32BE(0);
    const n = seen.get(seq) ?? 0;
    if (n > 0) dups++;
    seen.set(seq, n + 1);
  });
  await client.subscribeAsync(topic, { qos });
  return {
    client,
    unique: () => seen.size,
    duplicates: () => dups,
    missing: (count) => Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i)),
    async waitAll(count, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        let all = true;
        for (let i = 0; i < count && all; i++) all = seen.has(i);
        if (all) return;
        if (Date.now() > deadline) {
          const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
          throw new Error(
            `${missing.length} of ${count} not received, e.g. ${missing.slice(0, 10).join(', ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/**
 * Publishes 0..count-1 on `topic` with at most `window` unsettled; resolves with the number of
 * publishes whose callback reported an error, once every callback has been called.
 */
export function publishAll(
  client: MqttClient,
  topic: string,
  qos: 1 | 2,
  count: number,
  window = 200,
  from = 0,
  onAccepted?: (seq: number) => void,
): Promise<{ failed: number; errors: Error[] }> {
  return new Promise((resolve) => {
    let sent = from;
    let settled = 0;
    const errors: Error[] = [];
    const pump = () => {
      while (sent < count && sent - from - settled < window) {
        const seq = sent++;
        client.publish(topic, seqPayload(seq), { qos }, (error) => {
          if (error) errors.push(error);
          if (++settled === count - from) resolve({ failed: errors.length, errors });
          else pump();
        });
        onAccepted?.(seq);
      }
    };
    pump();
  });
}
