/** Runs the real `bin/mqtt.js` launcher as a child process; every child is tracked for `killAll`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const launcher = fileURLToPath(new URL('../../bin/mqtt.js', import.meta.url));

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Resolves when the process exits. */
  done: Promise<Result>;
  /** Resolves once stderr (or stdout) has matched `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, stream?: 'stderr' | 'stdout'): Promise<void>;
  stdout(): string;
  stderr(): string;
}

const children = new Set<ChildProcess>();

export interface StartOptions {
  /** Written to stdin, which is then closed. */
  input?: string | Uint8Array;
  /** Killed (SIGKILL) after this many ms; the test then sees the signal. Default 30 s. */
  timeoutMs?: number;
}

export function start(args: string[], options: StartOptions = {}): Running {
  const child = spawn(process.execPath, [launcher, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, DEBUG: '', NO_COLOR: '1' },
  });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const check = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err.push(chunk);
    check();
  });
  child.stdin!.on('error', () => {}); // the command may exit before reading stdin
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<Result>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      check();
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  const text = (stream: 'stderr' | 'stdout') =>
    Buffer.concat(stream === 'stderr' ? err : out).toString('utf8');
  return {
    child,
    done,
    stdout: () => text('stdout'),
    stderr: () => text('stderr'),
    waitFor(pattern, stream = 'stderr') {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (pattern.test(text(stream))) resolve();
          else if (child.exitCode !== null || child.signalCode !== null)
            reject(new Error(`exited before ${pattern}: ${text('stderr')}`));
          else waiters.push(test);
        };
        test();
      });
    },
  };
}

/** Runs the launcher to completion. */
export function run(args: string[], options: StartOptions = {}): Promise<Result> {
  return start(args, options).done;
}

/** Starts `mqtt sub … --trace` and resolves once the SUBACK has arrived, so publishes will be seen. */
export async function subscribed(args: string[], options: StartOptions = {}): Promise<Running> {
  const sub = start([...args, '--trace'], options);
  await sub.waitFor(/< \{"cmd":"suback"/);
  return sub;
}

export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** stdout as lines, without the trailing empty one. */
export function lines(result: Result): string[] {
  const text = result.stdout.toString('utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

let counter = 0;
/** A topic no other test uses. */
export function uniqueTopic(name: string): string {
  return `cli-test/${process.pid}/${++counter}/${name}`;
}
