import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  platformTimers,
  type TimerHandle,
  type TimerImplementation,
  timers,
  useTimers,
} from '../runtime/timers.js';

describe('timers', () => {
  test('runs a timeout through the platform timers', async () => {
    await new Promise<void>((resolve) => timers.setTimeout(resolve, 1));
  });

  test('clearTimeout cancels a pending timeout', async () => {
    let fired = false;
    const handle = timers.setTimeout(() => {
      fired = true;
    }, 1);
    timers.clearTimeout(handle);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(fired, false);
  });

  test('unrefs platform timers so they do not keep the process alive', () => {
    const handle = platformTimers.setTimeout(() => {}, 60_000) as unknown as NodeJS.Timeout;
    assert.equal(handle.hasRef(), false);
    platformTimers.clearTimeout(handle as unknown as TimerHandle);
    const interval = platformTimers.setInterval(() => {}, 60_000) as unknown as NodeJS.Timeout;
    assert.equal(interval.hasRef(), false);
    platformTimers.clearInterval(interval as unknown as TimerHandle);
  });

  test('useTimers swaps the implementation and the returned function restores it', () => {
    const calls: string[] = [];
    const fake: TimerImplementation = {
      setTimeout: (_cb, ms) => {
        calls.push(`timeout ${ms}`);
        return {} as TimerHandle;
      },
      clearTimeout: () => calls.push('clear'),
      setInterval: (_cb, ms) => {
        calls.push(`interval ${ms}`);
        return {} as TimerHandle;
      },
      clearInterval: () => calls.push('clearInterval'),
      now: () => 42,
    };
    const restore = useTimers(fake);
    try {
      const handle = timers.setTimeout(() => {}, 5);
      timers.clearTimeout(handle);
      timers.setInterval(() => {}, 7);
      assert.equal(timers.now(), 42);
    } finally {
      restore();
    }
    assert.deepEqual(calls, ['timeout 5', 'clear', 'interval 7']);
    assert.notEqual(timers.now(), 42);
  });
});
