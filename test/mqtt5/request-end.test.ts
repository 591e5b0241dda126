/** request() waiting for its response settles when the client ends. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Scene, Teardown } from '../client/support.js';
import { responseTo, scene5 } from './support.js';

/** Rejects with a timeout error unless `p` settles within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Grants the SUBSCRIBE to the response topic that a client's first request sends. */
async function grantSubscribe({ next, send }: Scene): Promise<void> {
  const sub = await next('subscribe');
  await send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
}

/** Acknowledges a request's PUBLISH, and returns it. */
async function ackRequest({ next, send }: Scene) {
  const req = await next('publish');
  await send({ cmd: 'puback', messageId: req.messageId! });
  return req;
}

/**
 * A client's first request, published and acknowledged, and the number of `end` listeners the
 * client had before it.
 */
async function firstRequest(t: Teardown) {
  const s = await scene5(t);
  const endListeners = s.client.listenerCount('end');
  const pending = s.client.request('svc', 'x', { timeout: 20_000 });
  await grantSubscribe(s);
  const req = await ackRequest(s);
  return { ...s, endListeners, pending, req };
}

describe('request() and end()', () => {
  test('a request waiting for its response rejects with MQTT_ERR_CLIENT_ENDED on endAsync()', async (t) => {
    const { client, endListeners, pending } = await firstRequest(t);
    // Published and acknowledged: now only the response is awaited.
    await new Promise((r) => setTimeout(r, 20));
    await client.endAsync();
    await assert.rejects(within(pending, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    // The request's 'end' listener is gone.
    assert.equal(client.listenerCount('end'), endListeners);
  });

  test('a request answered leaves no listener for end', async (t) => {
    const { client, endListeners, pending, req, send } = await firstRequest(t);
    await send(responseTo(req, 'answer'));
    assert.equal(Buffer.from((await within(pending, 2000)).payload).toString(), 'answer');
    assert.equal(client.listenerCount('end'), endListeners);
  });

  test('several waiting requests all reject, and a later request on the ended client rejects too', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    const first = client.request('svc', '1', { timeout: 20_000 });
    await grantSubscribe(s);
    await ackRequest(s);
    const second = client.request('svc', '2', { timeout: 20_000 });
    await ackRequest(s);
    await new Promise((r) => setTimeout(r, 20));
    client.end();
    await assert.rejects(within(first, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    await assert.rejects(within(second, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    await assert.rejects(within(client.request('svc', '3', { timeout: 20_000 }), 2000), {
      code: 'MQTT_ERR_CLIENT_ENDED',
    });
  });
});
