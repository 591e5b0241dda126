/**
 * AbortSignal support for the promise methods. `start` begins the operation and may return a
 * cancel function, run when the signal fires first: the promise then rejects with
 * MQTT_ERR_ABORTED (the signal's reason as `cause`). An already-aborted signal starts nothing.
 */
import { aborted } from './errors.js';

export interface AbortableOptions {
  signal?: AbortSignal;
}

export function withSignal<T>(
  signal: AbortSignal | undefined,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => (() => void) | undefined,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(aborted(signal.reason));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cancel: (() => void) | undefined;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      cancel?.();
      reject(aborted(signal?.reason));
    };
    const finish = () => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    cancel = start(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}
