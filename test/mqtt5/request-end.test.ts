/** request() waiting for its response settles when the client ends. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ScriptedBroker, startScriptedBroker } from '../helpers/scripted-broker.js';
import { connected, endAll } from './support.js';

/** Rejects with a timeout error unless `p` settles within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('request() and end()', () => {
  let broker: ScriptedBroker;
  before(async () => {
    broker = await startScriptedBroker();
  });
  after(async () => {
    await endAll();
    await broker.stop();
  });

  test('a request waiting for its response rejects with MQTT_ERR_CLIENT_ENDED on endAsync()', async () => {
    const client = await connected(broker.url);
    const conn = broker.connections.at(-1)!;
    const endListeners = client.listenerCount('end');
    const pending = client.request('svc', 'x', { timeout: 20_000 });
    const sub = await conn.next('subscribe');
    conn.send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
    const req = await conn.next('publish');
    conn.send({ cmd: 'puback', messageId: req.messageId! });
    // Published and acknowledged: now only the response is awaited.
    await new Promise((r) => setTimeout(r, 20));
    await client.endAsync();
    await assert.rejects(within(pending, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    // The request's 'end' listener is gone.
    assert.equal(client.listenerCount('end'), endListeners);
  });

  test('a request answered leaves no listener for end', async () => {
    const client = await connected(broker.url);
    const conn = broker.connections.at(-1)!;
    const endListeners = client.listenerCount('end');
    const pending = client.request('svc', 'x', { timeout: 20_000 });
    const sub = await conn.next('subscribe');
    conn.send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
    const req = await conn.next('publish');
    conn.send({ cmd: 'puback', messageId: req.messageId! });
    conn.send({
      cmd: 'publish',
      topic: req.properties!.responseTopic!,
      payload: 'answer',
      qos: 0,
      properties: { correlationData: req.properties!.correlationData! },
    });
    assert.equal(Buffer.from((await within(pending, 2000)).payload).toString(), 'answer');
    assert.equal(client.listenerCount('end'), endListeners);
  });

  test('several waiting requests all reject, and a later request on the ended client rejects too', async () => {
    const client = await connected(broker.url);
    const conn = broker.connections.at(-1)!;
    const first = client.request('svc', '1', { timeout: 20_000 });
    const sub = await conn.next('subscribe');
    conn.send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
    const r1 = await conn.next('publish');
    conn.send({ cmd: 'puback', messageId: r1.messageId! });
    const second = client.request('svc', '2', { timeout: 20_000 });
    const r2 = await conn.next('publish');
    conn.send({ cmd: 'puback', messageId: r2.messageId! });
    await new Promise((r) => setTimeout(r, 20));
    client.end();
    await assert.rejects(within(first, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    await assert.rejects(within(second, 2000), { code: 'MQTT_ERR_CLIENT_ENDED' });
    await assert.rejects(within(client.request('svc', '3', { timeout: 20_000 }), 2000), {
      code: 'MQTT_ERR_CLIENT_ENDED',
    });
  });
});
