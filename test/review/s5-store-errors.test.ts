/**
 * Outgoing store writes the flow does not wait for (the PUBREL that replaces a QoS 2 PUBLISH on
 * PUBREC): a store that fails there, by throwing (FileStore on a full disk) or by calling back
 * with an error, must not throw out of the packet handler. The flow goes on in memory, and the
 * application hears of the failure through `error`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Store } from '../../runtime/index.js';
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
