/**
 * The client's debug log, written by the `debug` package, which is imported only when the DEBUG
 * environment variable is set: loading it (with `supports-color` and `tty`) takes longer than
 * loading the rest of the client, and most processes never log. Messages logged while it loads
 * are kept and written in order once it has. Outside Node (no `process`) the log is silent.
 */
export type Log = (formatter: string, ...args: unknown[]) => void;

const silent: Log = () => {};
/** Messages kept while `debug` loads; beyond this many, later ones are dropped. */
const PENDING_LIMIT = 1000;

function debugVariable(): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG;
}

export function createLog(namespace: string): Log {
  if (!debugVariable()) return silent;
  let write: Log | undefined;
  const pending: unknown[][] = [];
  import('debug').then(
    (module) => {
      write = module.default(namespace);
      for (const args of pending.splice(0)) write(...(args as [string, ...unknown[]]));
    },
    () => {
      pending.length = 0;
    },
  );
  return (...args) => {
    if (write) write(...args);
    else if (pending.length < PENDING_LIMIT) pending.push(args);
  };
}
