/**
 * Keep Alive (MQTT 5.0 §3.1.2.10, MQTT 3.1.1 §3.1.2.10). A PINGREQ goes out when the client has
 * sent nothing for `interval` ms (with `reschedulePings`, else every `interval`), or when it has
 * heard nothing from the server for that long, so that a black-holed connection is noticed even
 * while the client keeps writing. A PINGREQ unanswered for interval / 2 means the connection is
 * dead: it is detected within 1.5 × keepalive of the last sign of life.
 *
 * Sends and receives only record a timestamp (no timer churn on the hot path); the one timer
 * re-arms itself for whatever time remains.
 */
import { type TimerHandle, timers } from '../timers.js';

export interface KeepaliveEvents {
  ping(): void;
  timeout(): void;
}

export class Keepalive {
  private timer: TimerHandle | undefined;
  private lastSend = 0;
  private lastReceive = 0;
  private pingSentAt = -1;

  constructor(
    private readonly interval: number,
    private readonly reschedulePings: boolean,
    private readonly events: KeepaliveEvents,
  ) {}

  get outstanding(): boolean {
    return this.pingSentAt >= 0;
  }

  start(): void {
    if (this.interval <= 0) return;
    const now = timers.now();
    this.lastSend = now;
    this.lastReceive = now;
    this.pingSentAt = -1;
    this.arm(this.interval);
  }

  stop(): void {
    if (this.timer !== undefined) timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  sent(): void {
    if (this.reschedulePings) this.lastSend = timers.now();
  }

  received(): void {
    this.lastReceive = timers.now();
  }

  /** A PINGRESP arrived. */
  pong(): void {
    this.pingSentAt = -1;
  }

  private arm(ms: number): void {
    this.stop();
    this.timer = timers.setTimeout(() => this.check(), Math.max(1, ms));
  }

  private check(): void {
    this.timer = undefined;
    const now = timers.now();
    if (this.pingSentAt >= 0) {
      const deadline = this.pingSentAt + this.interval / 2;
      if (now >= deadline) {
        this.events.timeout();
        return;
      }
      this.arm(deadline - now);
      return;
    }
    const due = Math.min(this.lastSend, this.lastReceive) + this.interval;
    if (now >= due) {
      this.pingSentAt = now;
      if (!this.reschedulePings) this.lastSend = now;
      this.events.ping();
      this.arm(this.interval / 2);
      return;
    }
    this.arm(due - now);
  }
}
