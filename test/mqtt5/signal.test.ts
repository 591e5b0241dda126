import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withSignal } from '../../runtime/signal.js';

describe('withSignal', () => {
  test('resolves as the operation does when no signal fires', async () => {
    const value = await withSignal<number>(undefined, (resolve) => {
      resolve(1);
      return undefined;
    });
    assert.equal(value, 1);
  });

  test('an aborted signal starts nothing', async () => {
    let started = false;
    await assert.rejects(
      withSignal(AbortSignal.abort('why'), () => {
        started = true;
        return undefined;
      }),
      (e: Error & { code: string; cause: unknown }) => e.code === 'MQTT_ERR_ABORTED' && e.cause === 'why',
    );
    assert.equal(started, false);
  });

  test('an abort runs the cancel function and wins over a later result', async () => {
    const controller = new AbortController();
    let cancelled = 0;
    let finish: ((v: number) => void) | undefined;
    const p = withSignal<number>(controller.signal, (resolve) => {
      finish = resolve;
      return () => cancelled++;
    });
    controller.abort();
    finish?.(5);
    await assert.rejects(p, { code: 'MQTT_ERR_ABORTED' });
    assert.equal(cancelled, 1);
  });

  test('an abort after the result changes nothing', async () => {
    const controller = new AbortController();
    let cancelled = 0;
    const p = withSignal<number>(controller.signal, (resolve) => {
      resolve(3);
      return () => cancelled++;
    });
    controller.abort();
    assert.equal(await p, 3);
    assert.equal(cancelled, 0);
  });
});
