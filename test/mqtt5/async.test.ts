/** messages() as an async iterator, and AbortSignal on the promise methods. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topicMatches } from '../../runtime/messages.js';
import type { Teardown } from '../client/support.js';
import { connected, scene5, sleep, uniqueTopic, useMosquitto } from './support.js';

describe('topicMatches', () => {
  test('matches + and # as MQTT does', () => {
    assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
    assert.equal(topicMatches('a/+', 'a/b/c'), false);
    assert.equal(topicMatches('a/#', 'a'), true);
    assert.equal(topicMatches('a/#', 'a/b/c'), true);
    assert.equal(topicMatches('#', '$SYS/x'), false);
    assert.equal(topicMatches('$share/g/a/+', 'a/b'), true);
    assert.equal(topicMatches('a/b', 'a/b/'), false);
  });
});

describe('messages() through Mosquitto', () => {
  const broker = useMosquitto();

  test('for await yields the matching messages in order and unsubscribes on break', async () => {
    const base = uniqueTopic('iter');
    const client = await connected(broker.url);
    const sent: string[] = [];
    client.on('packetsend', (p) => p.cmd === 'unsubscribe' && sent.push(...p.unsubscriptions));
    const stream = client.messages(`${base}/+`, { qos: 1 });
    await sleep(50);
    const pub = await connected(broker.url);
    for (const i of [1, 2, 3]) await pub.publishAsync(`${base}/s${i}`, String(i), { qos: 1 });
    await pub.publishAsync(`${base}/x/deeper`, 'no', { qos: 1 });
    const got: string[] = [];
    for await (const msg of stream) {
      got.push(`${msg.topic.slice(base.length + 1)}=${Buffer.from(msg.payload).toString()}`);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, ['s1=1', 's2=2', 's3=3']);
    assert.deepEqual(sent, [`${base}/+`]);
  });

  test('two loops on one filter: the subscription stays until the last one ends', async () => {
    const topic = uniqueTopic('two');
    const client = await connected(broker.url);
    const unsubscribed: string[] = [];
    client.on('packetsend', (p) => p.cmd === 'unsubscribe' && unsubscribed.push(...p.unsubscriptions));
    const a = client.messages(topic);
    const b = client.messages(topic);
    await a.return?.();
    await sleep(20);
    assert.deepEqual(unsubscribed, []);
    await b.return?.();
    await sleep(20);
    assert.deepEqual(unsubscribed, [topic]);
  });

  test('the signal ends the loop with MQTT_ERR_ABORTED', async () => {
    const client = await connected(broker.url);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      (async () => {
        for await (const _ of client.messages(uniqueTopic('quiet'), { signal: controller.signal })) {
          /* nothing arrives */
        }
      })(),
      { code: 'MQTT_ERR_ABORTED' },
    );
  });

  test('client.end() ends the loop', async () => {
    const client = await connected(broker.url);
    setTimeout(() => client.end(), 50);
    let n = 0;
    for await (const _ of client.messages(uniqueTopic('end'))) n++;
    assert.equal(n, 0);
  });

  test('with manualAck, msg.ack() acknowledges', async () => {
    const topic = uniqueTopic('iter-ack');
    const client = await connected(broker.url, { manualAck: true });
    const stream = client.messages(topic, { qos: 1 });
    await sleep(50);
    const pub = await connected(broker.url);
    await pub.publishAsync(topic, 'x', { qos: 1 });
    for await (const msg of stream) {
      assert.equal(msg.ack(), true);
      break;
    }
  });

  test('an already-aborted signal sends nothing', async () => {
    const client = await connected(broker.url);
    const sent: string[] = [];
    client.on('packetsend', (p) => sent.push(p.cmd));
    const signal = AbortSignal.abort();
    await assert.rejects(client.publishAsync('a', 'x', { qos: 1, signal }), { code: 'MQTT_ERR_ABORTED' });
    await assert.rejects(client.subscribeAsync('a', { signal }), { code: 'MQTT_ERR_ABORTED' });
    await assert.rejects(client.unsubscribeAsync('a', { signal }), { code: 'MQTT_ERR_ABORTED' });
    await sleep(20);
    assert.deepEqual(sent, []);
  });
});

describe('AbortSignal on a queued publish', () => {
  /** A client whose server takes one message at a time. */
  const oneAtATime = (t: Teardown) => scene5(t, {}, { connack: { properties: { receiveMaximum: 1 } } });

  test('aborting a publish still queued behind the window withdraws it', async (t) => {
    const { client, next, send } = await oneAtATime(t);
    const first = client.publishAsync('a', '1', { qos: 1 });
    const controller = new AbortController();
    const second = client.publishAsync('a', '2', { qos: 1, signal: controller.signal });
    const third = client.publishAsync('a', '3', { qos: 1 });
    const p1 = await next('publish');
    controller.abort();
    await assert.rejects(second, { code: 'MQTT_ERR_ABORTED' });
    await send({ cmd: 'puback', messageId: p1.messageId! });
    await first;
    const p3 = await next('publish');
    assert.equal(Buffer.from(p3.payload).toString(), '3');
    await send({ cmd: 'puback', messageId: p3.messageId! });
    await third;
  });

  test('aborting a publish already written rejects the promise; its flow completes', async (t) => {
    const { client, next, send } = await oneAtATime(t);
    const controller = new AbortController();
    const done = client.publishAsync('a', '1', { qos: 1, signal: controller.signal });
    const p = await next('publish');
    controller.abort();
    await assert.rejects(done, { code: 'MQTT_ERR_ABORTED' });
    await send({ cmd: 'puback', messageId: p.messageId! });
    await sleep(20);
    assert.equal(client.connected, true);
  });
});
