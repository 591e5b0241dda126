/**
 * A manual clock for `runtime/timers.ts`: install it, then move time with `tick(ms)`; due
 * timeouts and intervals run in time order (creation order for equal times).
 *
 *   const clock = new FakeClock();
 *   after(clock.install());
 *   clock.tick(60_000); // the keepalive fires
 */
import { type TimerHandle, type TimerImplementation, useTimers } from '../../runtime/timers.js';

interface Scheduled {
  id: number;
  at: number;
  callback: () => void;
  /** Set for intervals. */
  every?: number;
}

export class FakeClock implements TimerImplementation {
  private time = 0;
  private nextId = 1;
  private readonly scheduled = new Map<number, Scheduled>();

  /** Makes this clock the client's timers; returns the function that restores the previous ones. */
  install(): () => void {
    return useTimers(this);
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, Math.max(1, ms));
  }

  clearTimeout(handle: TimerHandle): void {
    this.scheduled.delete(handle as unknown as number);
  }

  clearInterval(handle: TimerHandle): void {
    this.scheduled.delete(handle as unknown as number);
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.scheduled.size;
  }

  /** Advances time by `ms`, running every timer that falls due, including ones they schedule. */
  tick(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.nextDue(end);
      if (!due) break;
      this.time = due.at;
      if (due.every === undefined) this.scheduled.delete(due.id);
      else due.at += due.every;
      due.callback();
    }
    this.time = end;
  }

  private add(callback: () => void, ms: number, every?: number): TimerHandle {
    const id = this.nextId++;
    this.scheduled.set(id, { id, at: this.time + Math.max(0, ms), callback, every });
    return id as unknown as TimerHandle;
  }

  private nextDue(end: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const entry of this.scheduled.values()) {
      if (entry.at <= end && (!best || entry.at < best.at || (entry.at === best.at && entry.id < best.id))) {
        best = entry;
      }
    }
    return best;
  }
}
