/**
 * Outgoing store writes the flow does not wait for (the PUBREL that replaces a QoS 2 PUBLISH on
 * PUBREC): a store that fails there, by throwing (FileStore on a full disk) or by calling back
 * with an error, must not throw out of the packet handler. The flow goes on in memory, and the
 * application hears of the failure through `error`.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileStore, Store } from '../../runtime/index.js';
import { scene } from '../client/support.js';

class FailingPubrelStore extends Store {
  constructor(private readonly how: 'throws' | 'calls back') {
    super();
  }
  override put(packet: Parameters<Store['put']>[0], cb?: Parameters<Store['put']>[1]): this {
    if (packet.cmd !== 'pubrel') return super.put(packet, cb);
    const error = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    if (this.how === 'throws') throw error;
    cb?.(error);
    return this;
  }
}

for (const how of ['throws', 'calls back'] as const) {
  test(`a store that ${how === 'throws' ? 'throws' : 'calls back with an error'} on PUBREL: the flow completes, error reports it`, async (t) => {
    const { client, next, send, errors } = await scene(t, {
      reconnectPeriod: 0,
      outgoingStore: new FailingPubrelStore(how),
    });
    const done = new Promise<Error | null | undefined>((resolve) =>
      client.publish('t', 'm', { qos: 2 }, (error) => resolve(error)),
    );
    const publish = await next('publish');
    await send({ cmd: 'pubrec', messageId: publish.messageId! });
    const pubrel = await next('pubrel');
    assert.equal(pubrel.messageId, publish.messageId);
    await send({ cmd: 'pubcomp', messageId: publish.messageId! });
    assert.equal(await done, null);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error & { code?: string }).code, 'ENOSPC');
    assert.equal(client.connected, true);
  });
}

class ThrowingDelStore extends Store {
  override del(packet: Parameters<Store['del']>[0], cb?: Parameters<Store['del']>[1]): this {
    super.del(packet, cb);
    throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  }
}

test('a store whose del throws when the PUBACK ends the flow: error reports it, the publish succeeds', async (t) => {
  const { client, next, send, errors } = await scene(t, {
    reconnectPeriod: 0,
    outgoingStore: new ThrowingDelStore(),
  });
  const done = new Promise<Error | null | undefined>((resolve) =>
    client.publish('t', 'm', { qos: 1 }, (error) => resolve(error)),
  );
  const publish = await next('publish');
  await send({ cmd: 'puback', messageId: publish.messageId! });
  assert.equal(await done, null);
  assert.deepEqual(
    errors.map((e) => (e as Error & { code?: string }).code),
    ['EIO'],
  );
  // The connection and the next flow are unaffected.
  client.publish('t', 'n', { qos: 0 });
  assert.equal(Buffer.from((await next('publish')).payload).toString(), 'n');
});

class FailingDelStore extends Store {
  override del(packet: Parameters<Store['del']>[0], cb?: Parameters<Store['del']>[1]): this {
    return super.del(packet, (error, stored) => {
      if (error) cb?.(error);
      else
        cb?.(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), stored);
    });
  }
}

test('incoming QoS 2 with a store whose del fails after delivery: delivered once, PUBCOMP sent, error reported', async (t) => {
  const { client, next, send, errors } = await scene(t, {
    reconnectPeriod: 0,
    incomingStore: new FailingDelStore(),
  });
  const delivered: string[] = [];
  client.on('message', (_topic, payload) => delivered.push(payload.toString()));
  await send({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from('once'),
    qos: 2,
    messageId: 7,
    dup: false,
    retain: false,
  });
  assert.equal((await next('pubrec')).messageId, 7);
  await send({ cmd: 'pubrel', messageId: 7 });
  assert.equal((await next('pubcomp')).messageId, 7);
  // The server sends PUBREL again (its PUBCOMP lost): answered, not delivered a second time.
  await send({ cmd: 'pubrel', messageId: 7 });
  assert.equal((await next('pubcomp')).messageId, 7);
  assert.deepEqual(delivered, ['once']);
  assert.deepEqual(
    errors.map((e) => (e as Error & { code?: string }).code),
    ['ENOSPC'],
  );
});

test('FileStore.del whose write fails: the packet is gone from memory, the error goes to the callback', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqttforge-s5-del-'));
  const store = new FileStore(dir);
  try {
    store.put({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from('m'),
      qos: 1,
      messageId: 3,
      dup: false,
      retain: false,
    } as Parameters<FileStore['put']>[0]);
    // The log's file descriptor closed behind the store's back: the next write fails (EBADF).
    closeSync((store as unknown as { fd_: number }).fd_);
    const result = await new Promise<Error | null>((resolve) =>
      store.del({ messageId: 3 }, (error) => resolve(error)),
    );
    assert.equal((result as Error & { code?: string })?.code, 'EBADF');
    const found = await new Promise<unknown>((resolve) => store.get({ messageId: 3 }, (_e, p) => resolve(p)));
    assert.equal(found, undefined);
    assert.doesNotThrow(() => store.del({ messageId: 3 }), 'a missing id is no throw');
  } finally {
    (store as unknown as { fd_: number | undefined }).fd_ = undefined;
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileStore reopened after close() reads back what another store wrote to the log meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqttforge-s5-reopen-'));
  const publish = (messageId: number) =>
    ({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from(`m${messageId}`),
      qos: 1,
      messageId,
      dup: false,
      retain: false,
    }) as Parameters<FileStore['put']>[0];
  try {
    const a = new FileStore(dir);
    a.put(publish(1));
    a.put(publish(2));
    a.close(); // as client.end() does; a later reconnect() writes to it again
    const b = new FileStore(dir); // the lock is free: another client takes the log
    b.del({ messageId: 1 });
    b.put(publish(5));
    b.close();
    a.put(publish(6)); // reopens: takes the lock, reads back b's changes first
    assert.deepEqual(
      a.loadSync().map((p) => p.messageId),
      [2, 5, 6],
    );
    a.close();
    const c = new FileStore(dir);
    assert.deepEqual(
      c.loadSync().map((p) => p.messageId),
      [2, 5, 6],
    );
    c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
