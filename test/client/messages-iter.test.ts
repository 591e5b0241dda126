/** messages(): next() calls made before anything arrives are queued; an ended client ends at once. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scene, type Teardown } from './support.js';

/** Rejects with a timeout error unless `p` settles within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const text = (r: IteratorResult<{ payload: Uint8Array }>) =>
  r.done ? 'done' : Buffer.from(r.value.payload).toString();

/** An MQTT 5 client on a scripted broker; no `error` listener, so an error nobody waits for fails the test. */
const connected = (t: Teardown) =>
  scene(t, { protocolVersion: 5, reconnectPeriod: 0 }, { collectErrors: false });

describe('messages() iterator', () => {
  test('two next() calls before any message settle in arrival order', async (t) => {
    const { client, send } = await connected(t);
    const stream = client.messages('q/+', { subscribe: false });
    const a = stream.next();
    const b = stream.next();
    await send({ cmd: 'publish', topic: 'q/1', payload: 'one', qos: 0 });
    await send({ cmd: 'publish', topic: 'q/2', payload: 'two', qos: 0 });
    assert.deepEqual([text(await within(a, 2000)), text(await within(b, 2000))], ['one', 'two']);
    await stream.return?.();
  });

  test('every pending next() resolves done when the client ends', async (t) => {
    const { client } = await connected(t);
    const stream = client.messages('q/+', { subscribe: false });
    const pending = [stream.next(), stream.next(), stream.next()];
    await client.endAsync();
    const results = await within(Promise.all(pending), 2000);
    assert.deepEqual(results.map(text), ['done', 'done', 'done']);
  });

  test('every pending next() resolves done on return()', async (t) => {
    const { client } = await connected(t);
    const stream = client.messages('q/+', { subscribe: false });
    const pending = [stream.next(), stream.next()];
    await stream.return?.();
    const results = await within(Promise.all(pending), 2000);
    assert.deepEqual(results.map(text), ['done', 'done']);
  });

  test('every pending next() rejects with MQTT_ERR_ABORTED when the signal fires', async (t) => {
    const { client } = await connected(t);
    const controller = new AbortController();
    const stream = client.messages('q/+', { subscribe: false, signal: controller.signal });
    const pending = [stream.next(), stream.next()];
    controller.abort();
    const results = await within(Promise.allSettled(pending), 2000);
    assert.deepEqual(
      results.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code),
      ['MQTT_ERR_ABORTED', 'MQTT_ERR_ABORTED'],
    );
  });

  test('subscribe: false on a client that has ended finishes at once', async (t) => {
    const { client } = await connected(t);
    await client.endAsync();
    assert.equal(client.disconnected, true);
    const stream = client.messages('q/+', { subscribe: false });
    assert.equal(text(await within(stream.next(), 1000)), 'done');
    let n = 0;
    for await (const _ of client.messages('q/#', { subscribe: false })) n++;
    assert.equal(n, 0);
  });

  test('subscribe: false while the client is ending finishes', async (t) => {
    const { client } = await connected(t);
    const ending = client.endAsync();
    const stream = client.messages('q/+', { subscribe: false });
    assert.equal(text(await within(stream.next(), 1000)), 'done');
    await ending;
  });
});
