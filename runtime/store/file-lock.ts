/**
 * The lock that keeps a FileStore's log to one live store. Beside the log `x.log` lies
 * `x.log.lock`, holding `<pid> <process start, ms since the epoch> <token>`:
 *
 * - It is made whole or not at all: written to a file of its own, then hard-linked to its name
 *   (link() fails when the name exists), so that no one reads a lock half-written.
 * - A lock whose process is alive is held: another FileStore on the log is refused, in this
 *   process or another.
 * - A lock whose process is dead (killed with SIGKILL, or crashed) is stale and taken over. Only a
 *   process holding `x.log.lock.takeover` (made the same way) removes a stale lock, and only if it
 *   still reads the same: two processes racing to take it over cannot both remove it, nor remove
 *   the lock that one of them made meanwhile. The new lock is then made as any other, one winner.
 * - Our own pid in a lock this thread does not hold: if the process that wrote it started when
 *   ours did (within START_SLACK_MS), another worker thread of this process holds it, and it is
 *   held; otherwise it was a process before ours that had our pid (a container started again is
 *   pid 1 again), and it is stale.
 *
 * Whether a process is alive is asked of this machine: processes on two machines sharing the
 * directory (NFS) are not kept apart.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename } from 'node:path';
import { ClientErrorCode, MqttClientError } from '../errors.js';

export interface FileLock {
  readonly path: string;
  readonly content: string;
}

/** The locks this process holds, released on exit: one listener for all of them. */
const held = new Set<FileLock>();
let exitListener = false;

/**
 * When this process started, the same in every worker thread (process.uptime() is the process's).
 * Computed from the wall clock, so two readings may differ by a clock adjustment: START_SLACK_MS.
 */
function processStart(): number {
  return Math.round(Date.now() - process.uptime() * 1000);
}
const START_SLACK_MS = 2000;

/** A lock found without a pid younger than this is being written (the no-hard-link fallback). */
const UNREADABLE_GRACE_MS = 1000;
/** Rounds of looking again while another process takes a stale lock over: about a second. */
const ATTEMPTS = 200;
const RETRY_MS = 5;

function storeLocked(logPath: string, dir: string, pid: number | undefined): MqttClientError {
  const holder = pid === undefined ? 'another process' : `process ${pid}`;
  return new MqttClientError(
    ClientErrorCode.StoreLocked,
    `${dir}: the store log ${basename(logPath)} is in use by ${holder} (lock file ${logPath}.lock)`,
  );
}

/** Takes the lock of the log at `logPath` in `dir`, or throws `MQTT_ERR_STORE_LOCKED`. */
export function lockLog(logPath: string, dir: string): FileLock {
  const lock: FileLock = {
    path: `${logPath}.lock`,
    content: `${process.pid} ${processStart()} ${randomUUID()}\n`,
  };
  let taker: number | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (create(lock.path, lock.content)) {
      held.add(lock);
      if (!exitListener) {
        exitListener = true;
        process.on('exit', () => {
          for (const l of held) unlock(l);
        });
      }
      return lock;
    }
    const current = read(lock.path);
    if (current === undefined) continue; // released meanwhile
    if (isHeld(lock.path, current)) throw storeLocked(logPath, dir, pidOf(current));
    taker = takeOver(lock.path, current, lock.content);
  }
  // Another process has been taking the stale lock over all this time.
  throw storeLocked(logPath, dir, taker);
}

/** Removes the lock file if it is still ours (not taken over by someone who thought us dead). */
export function unlock(lock: FileLock): void {
  held.delete(lock);
  removeIf(lock.path, lock.content);
}

/** Makes `path` holding `content` if no file has that name. */
function create(path: string, content: string): boolean {
  const tmp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // A file system without hard links (FAT, some network shares): exclusive create, then write.
    return createExclusive(path, content);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function pidOf(content: string): number | undefined {
  const pid = Number(content.split(' ', 1)[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isHeld(path: string, content: string): boolean {
  const pid = pidOf(content);
  if (pid === undefined) {
    try {
      return Date.now() - statSync(path).mtimeMs < UNREADABLE_GRACE_MS;
    } catch {
      return false;
    }
  }
  if (pid === process.pid) {
    for (const lock of held) if (lock.content === content) return true;
    // Not this thread's: another worker thread's if written since this process started.
    const started = Number(content.split(' ')[1]);
    return Number.isFinite(started) && Math.abs(started - processStart()) < START_SLACK_MS;
  }
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the stale lock `stale`, if it still is, holding the takeover lock meanwhile. Returns the
 * pid of the process found taking it over instead, if any.
 */
function takeOver(path: string, stale: string, ours: string): number | undefined {
  const mutex = `${path}.takeover`;
  if (!create(mutex, ours)) {
    const other = read(mutex);
    if (other === undefined) return undefined;
    // A process that died taking over (a window of a few system calls) leaves it behind.
    if (!isHeld(mutex, other)) {
      removeIf(mutex, other);
      return undefined;
    }
    sleep(RETRY_MS); // another process is taking over: look again once it is done
    return pidOf(other);
  }
  try {
    if (read(path) === stale) unlinkSync(path);
  } finally {
    removeIf(mutex, ours);
  }
  return undefined;
}

function removeIf(path: string, content: string): void {
  try {
    if (read(path) === content) unlinkSync(path);
  } catch {}
}

function sleep(ms: number): void {
  // FileStore opens synchronously; this waits without spinning.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
