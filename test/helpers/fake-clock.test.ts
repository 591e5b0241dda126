import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { timers } from '../../runtime/timers.js';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  test('runs timeouts only when time reaches them, in time order', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    clock.setTimeout(() => log.push('b'), 20);
    clock.setTimeout(() => log.push('a'), 10);
    clock.setTimeout(() => log.push('c'), 20);
    clock.tick(9);
    assert.deepEqual(log, []);
    clock.tick(11);
    assert.deepEqual(log, ['a', 'b', 'c']);
    assert.equal(clock.now(), 20);
    assert.equal(clock.pending, 0);
  });

  test('repeats intervals until cleared', () => {
    const clock = new FakeClock();
    let count = 0;
    const handle = clock.setInterval(() => count++, 10);
    clock.tick(35);
    assert.equal(count, 3);
    clock.clearInterval(handle);
    clock.tick(100);
    assert.equal(count, 3);
  });

  test('runs a timeout scheduled by a callback within the same tick', () => {
    const clock = new FakeClock();
    const at: number[] = [];
    clock.setTimeout(() => {
      at.push(clock.now());
      clock.setTimeout(() => at.push(clock.now()), 5);
    }, 5);
    clock.tick(10);
    assert.deepEqual(at, [5, 10]);
  });

  test('clearTimeout cancels', () => {
    const clock = new FakeClock();
    let fired = false;
    clock.clearTimeout(
      clock.setTimeout(() => {
        fired = true;
      }, 1),
    );
    clock.tick(5);
    assert.equal(fired, false);
  });

  test('install routes the runtime timers through the clock until restored', () => {
    const clock = new FakeClock();
    const restore = clock.install();
    let fired = false;
    try {
      timers.setTimeout(() => {
        fired = true;
      }, 1000);
      clock.tick(1000);
      assert.equal(fired, true);
      assert.equal(timers.now(), 1000);
    } finally {
      restore();
    }
    assert.notEqual(timers.now(), 1000);
  });
});
