/** MQTT 5 subscription features through Mosquitto: identifiers, No Local, Retain As Published, Retain Handling, shared. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishPacket } from '../../generated/index.js';
import { connected, once, sleep, uniqueTopic, useMosquitto } from './support.js';

describe('MQTT 5 subscriptions through Mosquitto', () => {
  const broker = useMosquitto();

  test('Subscription Identifiers come with messages, for every matching subscription', async () => {
    const base = uniqueTopic('sid');
    const client = await connected(broker.url);
    await client.subscribeAsync(`${base}/+`, { properties: { subscriptionIdentifier: 7 } });
    await client.subscribeAsync(`${base}/#`, { properties: { subscriptionIdentifier: 300 } });
    const ids: number[] = [];
    // Mosquitto sends one copy per matching subscription, each with its identifier (§3.3.4).
    client.on('message', (_t, _p, packet) =>
      ids.push(...[packet.properties?.subscriptionIdentifier ?? []].flat()),
    );
    await client.publishAsync(`${base}/a`, 'x');
    await sleep(100);
    assert.deepEqual(
      ids.sort((a, b) => a - b),
      [7, 300],
    );
  });

  test('No Local: our own messages are not sent back', async () => {
    const topic = uniqueTopic('nl');
    const client = await connected(broker.url);
    await client.subscribeAsync(topic, { nl: true });
    const other = await connected(broker.url);
    const got: string[] = [];
    client.on('message', (_t, p) => got.push(Buffer.from(p).toString()));
    await client.publishAsync(topic, 'mine', { qos: 1 });
    await other.publishAsync(topic, 'theirs', { qos: 1 });
    await sleep(100);
    assert.deepEqual(got, ['theirs']);
  });

  test('Retain As Published keeps the RETAIN flag on forwarded messages', async () => {
    const topic = uniqueTopic('rap');
    const kept = await connected(broker.url);
    const plain = await connected(broker.url);
    await kept.subscribeAsync(topic, { rap: true });
    await plain.subscribeAsync(topic);
    const a = once(kept, 'message');
    const b = once(plain, 'message');
    const pub = await connected(broker.url);
    await pub.publishAsync(topic, 'r', { retain: true, qos: 1 });
    assert.equal(((await a)[2] as PublishPacket).retain, true);
    assert.equal(((await b)[2] as PublishPacket).retain, false);
    await pub.publishAsync(topic, '', { retain: true, qos: 1 }); // clear it
  });

  test('Retain Handling 0, 1 and 2', async () => {
    const topic = uniqueTopic('rh');
    const pub = await connected(broker.url);
    await pub.publishAsync(topic, 'stored', { retain: true, qos: 1 });
    const count = async (rh: 0 | 1 | 2, twice: boolean) => {
      const c = await connected(broker.url);
      let n = 0;
      c.on('message', (_t, _p, packet) => packet.retain && n++);
      await c.subscribeAsync(topic, { rh });
      if (twice) await c.subscribeAsync(topic, { rh });
      await sleep(100);
      return n;
    };
    assert.equal(await count(0, true), 2); // on every subscribe
    assert.equal(await count(1, true), 1); // only when the subscription is new
    assert.equal(await count(2, false), 0); // never
    await pub.publishAsync(topic, '', { retain: true, qos: 1 });
  });

  test('shared subscriptions spread messages across the group, none lost', async () => {
    const topic = uniqueTopic('share');
    const members = await Promise.all([connected(broker.url), connected(broker.url)]);
    const counts = [0, 0];
    members.forEach((m, i) => {
      m.on('message', () => counts[i]!++);
    });
    for (const m of members) await m.subscribeAsync(`$share/group/${topic}`, { qos: 1 });
    const pub = await connected(broker.url);
    for (let i = 0; i < 20; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await sleep(200);
    assert.equal(counts[0]! + counts[1]!, 20);
    assert.ok(counts[0]! > 0 && counts[1]! > 0, `spread ${counts}`);
  });
});
