/** manualAck: the application acknowledges each QoS 1/2 message; acks leave in arrival order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishPacket } from '../../generated/index.js';
import { reconnected } from '../client/support.js';
import { client5, connected, once, scene5, sleep, uniqueTopic, useMosquitto } from './support.js';

describe('manualAck with the scripted broker', () => {
  test('nothing is acknowledged until ack(); acks called 3, 1, 2 go out as 1, 2, 3', async (t) => {
    const { client, next, send, sent } = await scene5(t, { manualAck: true });
    const got: PublishPacket[] = [];
    client.on('message', (_t, _p, packet) => got.push(packet));
    for (const id of [1, 2, 3])
      await send({ cmd: 'publish', topic: 'm', payload: String(id), qos: 1, messageId: id });
    while (got.length < 3) await sleep(5);
    await sleep(30);
    assert.equal(sent().filter((p) => p.cmd === 'puback').length, 0);
    assert.equal(client.ack(got[2]!), true);
    await sleep(30);
    assert.equal(sent().filter((p) => p.cmd === 'puback').length, 0);
    client.ack(got[0]!, 0x80);
    client.ack(got[1]!);
    const acks = [await next('puback'), await next('puback'), await next('puback')];
    assert.deepEqual(
      acks.map((a) => [a.messageId, a.reasonCode ?? 0]),
      [
        [1, 0x80],
        [2, 0],
        [3, 0],
      ],
    );
    assert.equal(client.ack(got[0]!), false); // only once
  });

  test('QoS 2 is delivered on PUBLISH; ack() sends PUBREC and PUBREL gets PUBCOMP', async (t) => {
    const { client, next, send, sent } = await scene5(t, { manualAck: true });
    const message = once(client, 'message');
    await send({ cmd: 'publish', topic: 'm2', payload: 'x', qos: 2, messageId: 9 });
    const [, , packet] = await message;
    await sleep(20);
    assert.equal(sent().filter((p) => p.cmd === 'pubrec').length, 0);
    client.ack(packet as PublishPacket);
    assert.equal((await next('pubrec')).messageId, 9);
    await send({ cmd: 'pubrel', messageId: 9 });
    const comp = await next('pubcomp');
    assert.equal(comp.reasonCode ?? 0, 0);
  });

  test('a QoS 2 message re-sent before ack() is not delivered twice; the later ack answers it', async (t) => {
    const { client, next, send } = await scene5(t, { manualAck: true });
    const got: PublishPacket[] = [];
    client.on('message', (_t, _p, packet) => got.push(packet));
    await send({ cmd: 'publish', topic: 'm3', payload: 'x', qos: 2, messageId: 4 });
    await send({ cmd: 'publish', topic: 'm3', payload: 'x', qos: 2, messageId: 4, dup: true });
    await sleep(30);
    assert.equal(got.length, 1);
    client.ack(got[0]!, 0x83);
    assert.equal((await next('pubrec')).reasonCode, 0x83);
  });

  test('an ack after a reconnect goes out on the new connection when the server re-sends the message', async (t) => {
    const { broker, client, conn, send } = await scene5(t, { manualAck: true, reconnectPeriod: 30 });
    const got: PublishPacket[] = [];
    client.on('message', (_t, _p, packet) => got.push(packet));
    await send({ cmd: 'publish', topic: 'm4', payload: 'x', qos: 1, messageId: 5 });
    while (got.length < 1) await sleep(5);
    conn.drop();
    await reconnected(broker, client);
    // A scripted CONNACK says no session, so the pending message is forgotten: ack() does nothing.
    assert.equal(client.ack(got[0]!), false);
  });
});

describe('manualAck through Mosquitto', () => {
  const broker = useMosquitto();

  test('acks called in reverse order leave in arrival order', async () => {
    const topic = uniqueTopic('order');
    const sub = await connected(broker.url, { manualAck: true });
    await sub.subscribeAsync(topic, { qos: 1 });
    const got: PublishPacket[] = [];
    const acked: number[] = [];
    sub.on('message', (_t, _p, packet) => got.push(packet));
    sub.on('packetsend', (p) => p.cmd === 'puback' && acked.push(p.messageId));
    const pub = await connected(broker.url);
    for (const i of [1, 2, 3]) await pub.publishAsync(topic, String(i), { qos: 1 });
    while (got.length < 3) await sleep(5);
    for (const packet of [...got].reverse()) sub.ack(packet);
    assert.deepEqual(
      acked,
      got.map((p) => p.messageId),
    );
  });

  test('an unacknowledged QoS 1 message comes back after reconnecting to the kept session', async () => {
    const topic = uniqueTopic('manual');
    const clientId = `manual-${process.pid}`;
    const options = { clientId, clean: false, manualAck: true, properties: { sessionExpiryInterval: 60 } };
    const sub = await connected(broker.url, options);
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await connected(broker.url);
    const first = once(sub, 'message');
    await pub.publishAsync(topic, 'work', { qos: 1 });
    await first;
    await sub.endAsync(true); // processing failed: no ack
    const again = client5(broker.url, options);
    const [t, payload, packet] = await once(again, 'message'); // it may come with the CONNACK
    assert.equal(t, topic);
    assert.equal(Buffer.from(payload).toString(), 'work');
    assert.equal(again.ack(packet), true);
  });
});
