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
  private timer_: TimerHandle | undefined;
  private lastSend_ = 0;
  private lastReceive_ = 0;
  private pingSentAt_ = -1;
  private readonly interval_: number;
  private readonly reschedulePings_: boolean;
  private readonly events_: KeepaliveEvents;

  constructor(interval: number, reschedulePings: boolean, events: KeepaliveEvents) {
    this.interval_ = interval;
    this.reschedulePings_ = reschedulePings;
    this.events_ = events;
  }

  get outstanding(): boolean {
    return this.pingSentAt_ >= 0;
  }

  start(): void {
    if (this.interval_ <= 0) return;
    const now = timers.now();
    this.lastSend_ = now;
    this.lastReceive_ = now;
    this.pingSentAt_ = -1;
    this.arm_(this.interval_);
  }

  stop(): void {
    if (this.timer_ !== undefined) timers.clearTimeout(this.timer_);
    this.timer_ = undefined;
  }

  sent(): void {
    if (this.reschedulePings_) this.lastSend_ = timers.now();
  }

  received(): void {
    this.lastReceive_ = timers.now();
  }

  /** A PINGRESP arrived. */
  pong(): void {
    this.pingSentAt_ = -1;
  }

  private arm_(ms: number): void {
    this.stop();
    this.timer_ = timers.setTimeout(() => this.check_(), Math.max(1, ms));
  }

  private check_(): void {
    this.timer_ = undefined;
    const now = timers.now();
    if (this.pingSentAt_ >= 0) {
      const deadline = this.pingSentAt_ + this.interval_ / 2;
      if (now >= deadline) {
        this.events_.timeout();
        return;
      }
      this.arm_(deadline - now);
      return;
    }
    const due = Math.min(this.lastSend_, this.lastReceive_) + this.interval_;
    if (now >= due) {
      this.pingSentAt_ = now;
      if (!this.reschedulePings_) this.lastSend_ = now;
      this.events_.ping();
      this.arm_(this.interval_ / 2);
      return;
    }
    this.arm_(due - now);
  }
}
