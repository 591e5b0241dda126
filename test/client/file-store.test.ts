import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileStore, fileStores } from '../../runtime/index.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttforge-filestore-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const publish = (messageId: number, payload = `m${messageId}`, qos: 1 | 2 = 1) =>
  ({ cmd: 'publish', topic: 't', payload, qos, retain: false, dup: false, messageId }) as const;

function ids(store: FileStore): number[] {
  return store.loadSync().map((p) => p.messageId!);
}

/** As if the process holding the store were killed: its lock goes with it (file-store-lock.test.ts). */
function abandon(d: string, name = 'store.log'): void {
  rmSync(join(d, `${name}.lock`));
}

describe('FileStore', () => {
  test('gets what was put and forgets what was deleted', () => {
    const store = new FileStore(dir());
    store.put(publish(1));
    store.put(publish(2));
    store.get({ messageId: 1 }, (error, packet) => {
      assert.equal(error, null);
      assert.equal(packet?.messageId, 1);
    });
    store.del({ messageId: 1 });
    store.get({ messageId: 1 }, (error) =>
      assert.equal((error as { code?: string }).code, 'MQTT_ERR_STORE_MISSING_PACKET'),
    );
    assert.deepEqual(ids(store), [2]);
    store.close();
  });

  test('replays the log in first-put order after reopening, with replacements in place', () => {
    const d = dir();
    const store = new FileStore(d);
    for (const id of [5, 6, 7]) store.put(publish(id));
    store.put({ cmd: 'pubrel', messageId: 6 } as never);
    store.del({ messageId: 5 });
    // No close(): as if the process were killed.
    abandon(d);
    const again = new FileStore(d);
    assert.deepEqual(ids(again), [6, 7]);
    assert.equal(again.loadSync()[0]!.cmd, 'pubrel');
    const seven = again.loadSync()[1] as unknown as { payload: Uint8Array; qos: number };
    assert.equal(Buffer.from(seven.payload).toString(), 'm7');
    assert.equal(seven.qos, 1);
    again.close();
  });

  test('a log with bytes that are not records is an error, and the file is left as it is', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    for (const corrupt of [
      (b: Buffer) => {
        b[5 + b.readUInt32BE(1)] = 9; // the second record's type
      },
      (b: Buffer) => {
        b.fill(0x68, 0, 5); // not a store log at all
      },
    ]) {
      const d = dir();
      const store = new FileStore(d);
      for (const id of [1, 2, 3]) store.put(publish(id));
      store.close();
      const path = join(d, 'store.log');
      const bytes = readFileSync(path);
      corrupt(bytes);
      writeFileSync(path, bytes);
      assert.throws(
        () => new FileStore(d),
        (e: unknown) =>
          (e as { code?: string }).code === 'MQTT_ERR_STORE_CORRUPT' &&
          /corrupt at byte/.test((e as Error).message),
      );
      assert.deepEqual(readFileSync(path), bytes, 'not compacted away');
    }
  });

  test('zeros after the last record (a file system after a crash) are a torn tail, dropped', async () => {
    const d = dir();
    const store = new FileStore(d);
    for (const id of [1, 2]) store.put(publish(id));
    store.close();
    appendFileSync(join(d, 'store.log'), Buffer.alloc(4096));
    const again = new FileStore(d);
    assert.deepEqual(ids(again), [1, 2]);
    again.close();
  });

  test('drops a record cut short at the end of the log', () => {
    const d = dir();
    const store = new FileStore(d);
    store.put(publish(1));
    store.put(publish(2));
    store.close();
    appendFileSync(join(d, 'store.log'), Buffer.from([1, 0, 0, 0, 50, 0x32]));
    const again = new FileStore(d);
    assert.deepEqual(ids(again), [1, 2]);
    again.put(publish(3));
    abandon(d);
    assert.deepEqual(ids(new FileStore(d)), [1, 2, 3]);
  });

  test('compacts the log when dead records outweigh live ones', () => {
    const d = dir();
    const store = new FileStore(d);
    const big = 'x'.repeat(1000);
    for (let round = 0; round < 200; round++) {
      store.put(publish(1 + (round % 10), big));
      if (round % 10 === 9) for (let id = 1; id <= 9; id++) store.del({ messageId: id });
    }
    const size = statSync(join(d, 'store.log')).size;
    assert.ok(size < 100 * 1024, `log is ${size} bytes`);
    store.close();
    assert.deepEqual(ids(new FileStore(d)), ids(store));
  });

  test('fileStores makes an outgoing and an incoming store side by side', () => {
    const d = dir();
    const { outgoingStore, incomingStore } = fileStores(d, { fsync: 'always' });
    outgoingStore.put(publish(1));
    incomingStore.put(publish(2));
    abandon(d, 'outgoing.log');
    abandon(d, 'incoming.log');
    assert.deepEqual(ids(new FileStore(d, { name: 'outgoing.log' })), [1]);
    assert.deepEqual(ids(new FileStore(d, { name: 'incoming.log' })), [2]);
  });

  test('streams its packets like the in-memory Store', async () => {
    const store = new FileStore(dir());
    store.put(publish(1));
    store.put(publish(2));
    const seen: number[] = [];
    for await (const p of store.createStream()) seen.push(p.messageId!);
    assert.deepEqual(seen, [1, 2]);
  });

  test('keeps the PUBLISH a PUBREL replaced, across a reopen and a compaction', () => {
    const d = dir();
    const store = new FileStore(d);
    store.put(publish(9, 'm9', 2));
    store.put({ cmd: 'pubrel', messageId: 9 } as never);
    const big = 'x'.repeat(2000);
    for (let i = 0; i < 80; i++) {
      store.put(publish(1, big));
      store.del({ messageId: 1 });
    }
    assert.ok(statSync(join(d, 'store.log')).size < 64 * 1024, 'compacted');
    store.close();
    const again = new FileStore(d);
    const [rel] = again.loadSync() as unknown as {
      cmd: string;
      original?: { payload: Uint8Array; qos: number };
    }[];
    assert.equal(rel!.cmd, 'pubrel');
    assert.equal(Buffer.from(rel!.original!.payload).toString(), 'm9');
    assert.equal(rel!.original!.qos, 2);
  });
});
