import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reconnectDelay } from '../../runtime/reconnect/backoff.js';

describe('reconnectDelay', () => {
  test('is reconnectPeriod every time without backoff options', () => {
    assert.deepEqual(
      [1, 2, 10].map((a) => reconnectDelay(a, 1000, undefined)),
      [1000, 1000, 1000],
    );
  });

  test('grows by the factor up to maxPeriod without jitter', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((a) =>
      reconnectDelay(a, 100, { factor: 2, maxPeriod: 1000, jitter: 0 }),
    );
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  });

  test('takes up to the jitter fraction off, never more', () => {
    assert.equal(
      reconnectDelay(3, 100, { jitter: 0.5 }, () => 0),
      400,
    );
    assert.equal(
      reconnectDelay(3, 100, { jitter: 0.5 }, () => 0.999999),
      200,
    );
    for (let i = 0; i < 100; i++) {
      const d = reconnectDelay(2, 1000, { jitter: 1 });
      assert.ok(d >= 0 && d <= 2000);
    }
  });
});
