import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { connect, FileStore, fileStores } from '../../runtime/index.js';
import { collectErrors, startScriptedBroker, waitFor } from './support.js';

const fixture = fileURLToPath(new URL('./fixtures/file-store-child.ts', import.meta.url));

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttforge-filelock-'));
  dirs.push(d);
  return d;
}
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const publish = (messageId: number) =>
  ({
    cmd: 'publish',
    topic: 't',
    payload: `m${messageId}`,
    qos: 1,
    retain: false,
    dup: false,
    messageId,
  }) as const;

const lockFile = (d: string, name = 'store.log') => join(d, `${name}.lock`);
const holderPid = (d: string) => Number(readFileSync(lockFile(d), 'utf8').split(' ')[0]);

function isLocked(pid: number, d: string) {
  return (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'MQTT_ERR_STORE_LOCKED');
    const message = (e as Error).message;
    assert.ok(message.includes(d) && message.includes(`process ${pid}`), message);
    return true;
  };
}

/** A child running the fixture, and its stdout a line at a time. */
function child(...args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(proc);
  const lines: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const line = async (index: number) => {
    await waitFor(() => lines.length > index, 15_000, `line ${index} of the child`);
    return lines[index]!;
  };
  return { proc, line, exited };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => proc.on('exit', resolve));
  return proc.pid!;
}

describe('FileStore lock', () => {
  test('refuses a second store on the log in the same process, and the first one keeps working', () => {
    const d = dir();
    const first = new FileStore(d);
    first.put(publish(1));
    assert.throws(() => new FileStore(d), isLocked(process.pid, d));
    first.put(publish(2));
    first.close();
    const again = new FileStore(d);
    assert.deepEqual(
      again.loadSync().map((p) => p.messageId),
      [1, 2],
    );
    again.close();
  });

  test('locks each log: fileStores(dir) takes two, and a second fileStores(dir) is refused', () => {
    const d = dir();
    const stores = fileStores(d);
    assert.ok(existsSync(lockFile(d, 'outgoing.log')) && existsSync(lockFile(d, 'incoming.log')));
    assert.throws(() => fileStores(d), isLocked(process.pid, d));
    assert.throws(() => new FileStore(d, { name: 'incoming.log' }), isLocked(process.pid, d));
    stores.outgoingStore.close();
    stores.incomingStore.close();
  });

  test('refuses a store in another process while this one holds the log', async () => {
    const d = dir();
    const store = new FileStore(d);
    const other = child(d, 'hold');
    const line = await other.line(0);
    other.proc.stdin!.end();
    await other.exited;
    assert.match(line, /^error MQTT_ERR_STORE_LOCKED /);
    assert.ok(line.includes(d) && line.includes(`process ${process.pid}`), line);
    store.close();
  });

  test('refuses a store while another process holds the log, and takes it over once that one is killed', async () => {
    const d = dir();
    const other = child(d, 'hold');
    assert.equal(await other.line(0), 'opened');
    assert.throws(() => new FileStore(d), isLocked(other.proc.pid!, d));
    other.proc.kill('SIGKILL');
    await other.exited;
    assert.equal(holderPid(d), other.proc.pid, 'a killed process leaves its lock behind');
    const store = new FileStore(d);
    assert.equal(holderPid(d), process.pid);
    store.close();
  });

  test('takes over a lock whose process is dead, keeping the records', async () => {
    const d = dir();
    const first = new FileStore(d);
    first.put(publish(7));
    first.close();
    const pid = await deadPid();
    writeFileSync(lockFile(d), `${pid} left-by-a-killed-process\n`);
    const store = new FileStore(d);
    assert.equal(holderPid(d), process.pid);
    assert.deepEqual(
      store.loadSync().map((p) => p.messageId),
      [7],
    );
    assert.throws(() => new FileStore(d), isLocked(process.pid, d));
    store.close();
  });

  test('takes over a lock with its own pid that this process does not hold (a restarted container is pid 1 again)', () => {
    const d = dir();
    writeFileSync(lockFile(d), `${process.pid} from-the-process-before\n`);
    const store = new FileStore(d);
    assert.throws(() => new FileStore(d), isLocked(process.pid, d));
    store.close();
  });

  test('takes over a lock with its own pid written by a process that started earlier', () => {
    const d = dir();
    const anHourBefore = Math.round(Date.now() - process.uptime() * 1000) - 3_600_000;
    writeFileSync(lockFile(d), `${process.pid} ${anHourBefore} token\n`);
    const store = new FileStore(d);
    assert.notEqual(readFileSync(lockFile(d), 'utf8').split(' ')[1], String(anHourBefore));
    store.close();
  });

  test('a store held by another worker thread of this process is refused, not taken over', async () => {
    const d = dir();
    const worker = new Worker(new URL('./fixtures/file-store-worker.mjs', import.meta.url), {
      workerData: d,
    });
    try {
      const said = (what: string) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', (m) => (m === what ? resolve() : reject(new Error(String(m)))));
          worker.once('error', reject);
        });
      await said('locked');
      // Same pid, not in this thread's locks: the worker's, which this thread must not take over.
      assert.throws(() => new FileStore(d), isLocked(process.pid, d));
      worker.postMessage('close');
      await said('closed');
      new FileStore(d).close();
    } finally {
      await worker.terminate();
    }
  });

  test('a process that read a stale lock and stalled does not remove the lock taken meanwhile', async () => {
    const d = dir();
    writeFileSync(lockFile(d), `${await deadPid()} stale\n`);
    const go = join(d, 'go');
    // The child stops right after reading the stale lock, before taking it over.
    const other = child(d, 'stall', '1', go);
    assert.equal(await other.line(0), 'stalled');
    const store = new FileStore(d);
    const ours = readFileSync(lockFile(d), 'utf8');
    writeFileSync(go, '');
    assert.match(await other.line(1), new RegExp(`^error MQTT_ERR_STORE_LOCKED .*process ${process.pid}`));
    assert.equal(readFileSync(lockFile(d), 'utf8'), ours, 'our lock is still in place');
    other.proc.stdin!.end();
    await other.exited;
    store.close();
  });

  test('a process taking a stale lock over keeps the others out until it holds it', async () => {
    const d = dir();
    writeFileSync(lockFile(d), `${await deadPid()} stale\n`);
    const go = join(d, 'go');
    // The child stops with the takeover lock held, between reading the stale lock again and
    // removing it: this process waits (about a second), then gives up naming the child.
    const other = child(d, 'stall', '2', go);
    assert.equal(await other.line(0), 'stalled');
    assert.throws(() => new FileStore(d), isLocked(other.proc.pid!, d));
    writeFileSync(go, '');
    assert.equal(await other.line(1), 'opened');
    assert.equal(holderPid(d), other.proc.pid);
    assert.throws(() => new FileStore(d), isLocked(other.proc.pid!, d));
    other.proc.stdin!.end();
    await other.exited;
    assert.ok(!existsSync(lockFile(d)), 'released on close');
    assert.ok(!existsSync(`${lockFile(d)}.takeover`), 'no takeover lock left behind');
  });

  test('close() releases the lock, and the log opens again', () => {
    const d = dir();
    const store = new FileStore(d);
    store.put(publish(1));
    let closed: Error | null | undefined = null;
    store.close((e) => {
      closed = e;
    });
    assert.equal(closed, undefined);
    assert.ok(!existsSync(lockFile(d)));
    const again = new FileStore(d);
    assert.equal(again.size, 1);
    again.close();
  });

  test('close() leaves alone a lock that is no longer its own', () => {
    const d = dir();
    const store = new FileStore(d);
    rmSync(lockFile(d)); // removed by hand, and taken by the next store
    const next = new FileStore(d);
    const taken = readFileSync(lockFile(d), 'utf8');
    store.close();
    assert.equal(readFileSync(lockFile(d), 'utf8'), taken);
    next.close();
  });

  test('a closed store written again takes the lock again, or fails if another store holds it', () => {
    const d = dir();
    const store = new FileStore(d);
    store.close();
    store.put(publish(1)); // end() then reconnect(): the client goes on with its closed stores
    assert.equal(holderPid(d), process.pid);
    assert.throws(() => new FileStore(d), isLocked(process.pid, d));
    store.close();
    const other = new FileStore(d);
    assert.throws(() => store.put(publish(2)), isLocked(process.pid, d));
    assert.equal(other.size, 1);
    other.close();
  });

  test('a store that finds its log corrupt releases the lock', () => {
    const d = dir();
    writeFileSync(join(d, 'store.log'), Buffer.from('hello, not a store log'));
    assert.throws(() => new FileStore(d), { code: 'MQTT_ERR_STORE_CORRUPT' });
    assert.ok(!existsSync(lockFile(d)));
  });

  test('a process that exits without close() releases its lock', async () => {
    const d = dir();
    const other = child(d, 'exit');
    assert.equal(await other.line(0), 'opened');
    await other.exited;
    assert.ok(!existsSync(lockFile(d)));
  });

  test('a client on a FileStore holds it until end(), and the next client resends what it stored', async (t) => {
    const d = dir();
    const broker = await startScriptedBroker(4);
    t.after(() => broker.stop());
    const options = { clean: false, clientId: 'locked', reconnectPeriod: 0, ...fileStores(d) };
    const first = connect(broker.url, options);
    collectErrors(first);
    const conn1 = await broker.accept();
    first.publish('t', 'kept', { qos: 1 }, () => {});
    assert.equal((await broker.next(conn1)).cmd, 'publish');
    assert.throws(() => fileStores(d), isLocked(process.pid, d));
    await first.endAsync(true);
    const second = connect(broker.url, {
      clean: false,
      clientId: 'locked',
      reconnectPeriod: 0,
      ...fileStores(d),
    });
    collectErrors(second);
    t.after(() => second.end(true));
    const conn2 = await broker.accept({ sessionPresent: true });
    const again = (await broker.next(conn2)) as { cmd: string; payload: Uint8Array; messageId: number };
    assert.equal(again.cmd, 'publish');
    assert.equal(Buffer.from(again.payload).toString(), 'kept');
    await broker.send(conn2, { cmd: 'puback', messageId: again.messageId });
    await waitFor(() => (second.outgoingStore as FileStore).size === 0, 2000, 'the store emptied');
  });
});
