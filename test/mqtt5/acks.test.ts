/** Reason codes both ways: customHandleAcks, failures and Reason Strings on acks and DISCONNECT, end() with a reason. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PubackPacket } from '../../generated/index.js';
import { client5, connected, nextError, once, scene5, sleep, uniqueTopic, useMosquitto } from './support.js';

describe('reason codes with the scripted broker', () => {
  test('customHandleAcks chooses the PUBACK and PUBREC reason codes; refused messages are not delivered', async (t) => {
    const { client, next, send } = await scene5(t, {
      customHandleAcks: (topic, _message, _packet, done) =>
        done(null, topic === 'bad' ? 0x87 : topic === 'none' ? 0x10 : 0),
    });
    const got: string[] = [];
    client.on('message', (topic) => got.push(topic));
    await send({ cmd: 'publish', topic: 'bad', payload: 'x', qos: 1, messageId: 1 });
    await send({ cmd: 'publish', topic: 'none', payload: 'x', qos: 1, messageId: 2 });
    await send({ cmd: 'publish', topic: 'bad', payload: 'x', qos: 2, messageId: 3 });
    assert.deepEqual([(await next('puback')).reasonCode, (await next('puback')).reasonCode], [0x87, 0x10]);
    assert.equal((await next('pubrec')).reasonCode, 0x87);
    await sleep(20);
    assert.deepEqual(got, ['none']);
  });

  test('a failing PUBACK rejects the publish with its reason code and Reason String', async (t) => {
    const { client, next, send } = await scene5(t);
    const done = client.publishAsync('t', 'x', { qos: 1 });
    const pub = await next('publish');
    await send({
      cmd: 'puback',
      messageId: pub.messageId!,
      reasonCode: 0x97,
      properties: { reasonString: 'over quota' },
    });
    await assert.rejects(done, (e: Error & { code: string; reasonCode: number }) => {
      assert.equal(e.code, 'MQTT_ERR_ACK_FAILED');
      assert.equal(e.reasonCode, 0x97);
      assert.match(e.message, /over quota/);
      return true;
    });
  });

  test('a failing PUBREC ends the QoS 2 flow with an error and no PUBREL', async (t) => {
    const { client, next, send, sent } = await scene5(t);
    const done = client.publishAsync('t', 'x', { qos: 2 });
    const pub = await next('publish');
    await send({ cmd: 'pubrec', messageId: pub.messageId!, reasonCode: 0x80 });
    await assert.rejects(done, { code: 'MQTT_ERR_ACK_FAILED', reasonCode: 0x80 });
    await sleep(20);
    assert.equal(sent().filter((p) => p.cmd === 'pubrel').length, 0);
  });

  test('SUBACK and UNSUBACK failures carry their reason codes', async (t) => {
    const { client, next, send } = await scene5(t);
    const sub = client.subscribeAsync({ a: { qos: 1 }, b: { qos: 1 } });
    const s = await next('subscribe');
    await send({
      cmd: 'suback',
      messageId: s.messageId,
      granted: [1, 0x87],
      properties: { reasonString: 'b is private' },
    });
    await assert.rejects(
      sub,
      (e: Error & { reasonCode: number }) => e.reasonCode === 0x87 && /b is private/.test(e.message),
    );
    const unsub = client.unsubscribeAsync(['a']);
    const u = await next('unsubscribe');
    await send({ cmd: 'unsuback', messageId: u.messageId, granted: [0x11] });
    const unsuback = await unsub;
    assert.deepEqual(unsuback?.granted, [0x11]);
  });

  test('a server DISCONNECT surfaces its reason code and Reason String', async (t) => {
    const { client, send } = await scene5(t);
    const disconnect = once(client, 'disconnect');
    const error = nextError(client);
    await send({ cmd: 'disconnect', reasonCode: 0x98, properties: { reasonString: 'maintenance' } });
    const [packet] = await disconnect;
    assert.equal(packet.reasonCode, 0x98);
    const e = await error;
    assert.equal(e.code, 'MQTT_ERR_SERVER_DISCONNECT');
    assert.equal(e.reasonCode, 0x98);
    assert.match(e.message, /maintenance/);
  });

  test('end() sends DISCONNECT with the reason code and properties given (session expiry too)', async (t) => {
    const { client, next } = await scene5(t, { properties: { sessionExpiryInterval: 60 } });
    await client.endAsync(false, {
      reasonCode: 0x04,
      properties: { sessionExpiryInterval: 0, reasonString: 'bye', userProperties: { k: 'v' } },
    });
    const d = await next('disconnect');
    assert.equal(d.reasonCode, 0x04);
    assert.equal(d.properties?.sessionExpiryInterval, 0);
    assert.equal(d.properties?.reasonString, 'bye');
    assert.deepEqual(d.properties?.userProperties, { k: 'v' });
  });
});

describe('reason codes through Mosquitto', () => {
  const broker = useMosquitto();

  test('a PUBACK of "No matching subscribers" (0x10) is a success, and reaches the callback', async () => {
    const client = await connected(broker.url);
    const acks: PubackPacket[] = [];
    client.on('packetreceive', (p) => p.cmd === 'puback' && acks.push(p));
    await client.publishAsync(uniqueTopic('nobody'), 'x', { qos: 1 });
    assert.equal(acks[0]?.reasonCode, 0x10);
  });

  test('end({ reasonCode: 0x04 }) makes the broker publish the will', async () => {
    const willTopic = uniqueTopic('will');
    const watcher = await connected(broker.url);
    await watcher.subscribeAsync(willTopic);
    const client = await connected(broker.url, { will: { topic: willTopic, payload: 'gone', qos: 0 } });
    const will = once(watcher, 'message');
    await client.endAsync(false, { reasonCode: 0x04 });
    const [topic, payload] = await will;
    assert.equal(topic, willTopic);
    assert.equal(Buffer.from(payload).toString(), 'gone');
  });

  test('end() with a normal disconnection does not publish the will', async () => {
    const willTopic = uniqueTopic('will');
    const watcher = await connected(broker.url);
    await watcher.subscribeAsync(willTopic);
    const client = await connected(broker.url, { will: { topic: willTopic, payload: 'gone', qos: 0 } });
    let got = 0;
    watcher.on('message', () => got++);
    await client.endAsync();
    await sleep(200);
    assert.equal(got, 0);
  });

  test('Session Expiry: DISCONNECT with sessionExpiryInterval 0 ends a session CONNECT kept', async () => {
    const sessionOf = async (clientId: string) => {
      const c = client5(broker.url, { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
      const [connack] = await once(c, 'connect');
      return { c, present: connack.sessionPresent as boolean };
    };
    const dropped = await connected(broker.url, {
      clientId: `gone-${process.pid}`,
      properties: { sessionExpiryInterval: 60 },
    });
    await dropped.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    const kept = await connected(broker.url, {
      clientId: `kept-${process.pid}`,
      properties: { sessionExpiryInterval: 60 },
    });
    await kept.endAsync();
    assert.equal((await sessionOf(`gone-${process.pid}`)).present, false);
    assert.equal((await sessionOf(`kept-${process.pid}`)).present, true);
  });
});
