/**
 * Stands in for runtime/log.ts in the browser bundle (scripts/build-browser.ts substitutes it).
 * There the log is silent anyway, as docs/browser.md says: runtime/log.ts writes only when a
 * `process.env.DEBUG` exists, and then through `debug`, which the browser build never had. This
 * keeps that check and the lazy import of `debug` out of the bundle.
 */
import type { Log } from '../../runtime/log.js';

const silent: Log = () => {};

export function createLog(_namespace: string): Log {
  return silent;
}
