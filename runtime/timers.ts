/**
 * The only way the client reads the clock or schedules work. Tests swap the implementation with
 * `useTimers()` (as undici's `lib/util/timers.js` is swapped in its reconnect tests) instead of
 * patching globals.
 *
 * Every timer is unref'd where the platform allows it: a client's keepalive, reconnect or connect
 * timeout must never be the only thing keeping a Node process alive. Open sockets still do.
 */

declare const timerBrand: unique symbol;

/** An opaque handle; pass it back to `clearTimeout`/`clearInterval`. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

export interface TimerImplementation {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
}

interface Unrefable {
  unref?: () => unknown;
}

function unref<T>(handle: T): T {
  // Node returns a Timeout object; browsers and mini-program runtimes return a number.
  (handle as Unrefable).unref?.();
  return handle;
}

/** The platform's timers, unref'd. */
export const platformTimers: TimerImplementation = {
  setTimeout: (callback, ms) => unref(globalThis.setTimeout(callback, ms)) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as unknown as number),
  setInterval: (callback, ms) => unref(globalThis.setInterval(callback, ms)) as unknown as TimerHandle,
  clearInterval: (handle) => globalThis.clearInterval(handle as unknown as number),
  now: () => globalThis.performance.now(),
};

let current: TimerImplementation = platformTimers;

/** Delegates to the implementation installed now, so a swap also affects existing importers. */
export const timers: TimerImplementation = {
  setTimeout: (callback, ms) => current.setTimeout(callback, ms),
  clearTimeout: (handle) => current.clearTimeout(handle),
  setInterval: (callback, ms) => current.setInterval(callback, ms),
  clearInterval: (handle) => current.clearInterval(handle),
  now: () => current.now(),
};

/** Installs `implementation` and returns a function that puts back the previous one. */
export function useTimers(implementation: TimerImplementation): () => void {
  const previous = current;
  current = implementation;
  return () => {
    current = previous;
  };
}
