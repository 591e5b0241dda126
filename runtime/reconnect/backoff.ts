/**
 * The delay before reconnect attempt `attempt` (1 for the first reconnect). Pure: the same
 * inputs give the same delay; randomness comes in through `random` (paho.golang
 * `autopaho/backoff.go`).
 *
 * Without `reconnectBackoff` the delay is `reconnectPeriod` every time, as in MQTT.js. With it:
 *
 *   base  = min(maxPeriod, reconnectPeriod × factor^(attempt − 1))
 *   delay = base × (1 − jitter × random())          ("equal jitter" for jitter 0.5)
 *
 * so clients that lost the same broker at the same moment do not all come back at once.
 */

export interface BackoffOptions {
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Upper bound of the delay, in ms (default 60000). */
  maxPeriod?: number;
  /** Fraction of the delay that is random, 0..1 (default 0.5). */
  jitter?: number;
}

export function reconnectDelay(
  attempt: number,
  period: number,
  backoff: BackoffOptions | undefined,
  random: () => number = Math.random,
): number {
  if (!backoff) return period;
  const factor = backoff.factor ?? 2;
  const max = backoff.maxPeriod ?? 60_000;
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0.5));
  const base = Math.min(max, period * factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - jitter * random()));
}
