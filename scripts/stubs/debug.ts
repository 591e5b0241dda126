/**
 * Stands in for the `debug` package in the browser bundle (scripts/build-browser.ts aliases it):
 * the client's `log(...)` calls cost nothing and `debug` (about 3 KB minified with its `ms`
 * dependency and localStorage handling) stays out. Use the `log` option to see the client's logs.
 */
type Logger = ((...args: unknown[]) => void) & { enabled: boolean; namespace: string };

export default function createDebug(namespace: string): Logger {
  const log = (() => {}) as unknown as Logger;
  log.enabled = false;
  log.namespace = namespace;
  return log;
}
