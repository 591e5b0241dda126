/**
 * A hostile or broken server never crashes or wedges the client: each case gets an `error` event
 * naming the problem, the DISCONNECT reason code the spec gives (MQTT 5), and a closed connection
 * the client can come back from.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PacketInput, PublishPacket } from '../../generated/index.js';
import { isMqttError } from '../../runtime/index.js';
import type { Scene } from '../client/support.js';
import { nextError, once, scene5, sleep } from './support.js';

type Err = Error & { code?: string; reasonCode?: number };

/** Waits for the error and for the connection to close; returns the error and the DISCONNECT code sent. */
async function violation({ client, conn, sent }: Scene): Promise<{ error: Err; sent: number | undefined }> {
  const error = await nextError(client);
  await Promise.race([conn.closed, sleep(2000).then(() => assert.fail('the connection stayed open'))]);
  const d = sent().find((p) => p.cmd === 'disconnect');
  return { error, sent: d?.cmd === 'disconnect' ? d.reasonCode : undefined };
}

describe('hostile server, MQTT 5', () => {
  test('an unsolicited Topic Alias (our maximum is 0): DISCONNECT 0x94', async (t) => {
    const s = await scene5(t);
    await s.send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0, properties: { topicAlias: 1 } });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_TOPIC_ALIAS_INVALID');
    assert.equal(sent, 0x94);
  });

  test('an unsolicited AUTH: DISCONNECT 0x82', async (t) => {
    const s = await scene5(t);
    await s.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'X' } });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('an AUTH with another method than ours: DISCONNECT 0x82', async (t) => {
    const s = await scene5(t, { properties: { authenticationMethod: 'A' } }, { connack: null });
    await s.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'B' } });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('a second CONNACK: DISCONNECT 0x82', async (t) => {
    const s = await scene5(t);
    await s.send({ cmd: 'connack', reasonCode: 0 });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('a SUBACK whose reason-code count differs from the request: DISCONNECT 0x82, the subscribe fails', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    const sub = client.subscribeAsync(['a', 'b']);
    const packet = await s.next('subscribe');
    await s.send({ cmd: 'suback', messageId: packet.messageId, granted: [0] });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
    client.end(); // without reconnects, ending is what settles the pending subscribe
    await assert.rejects(sub);
  });

  test('an UNSUBACK whose reason-code count differs: DISCONNECT 0x82', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    client.unsubscribe(['a', 'b'], () => {});
    const u = await s.next('unsubscribe');
    await s.send({ cmd: 'unsuback', messageId: u.messageId, granted: [0, 0, 0] });
    assert.equal((await violation(s)).sent, 0x82);
  });

  for (const cmd of ['puback', 'pubcomp', 'suback', 'unsuback'] as const) {
    test(`a ${cmd.toUpperCase()} for an unknown packet id: DISCONNECT 0x82`, async (t) => {
      const s = await scene5(t);
      if (cmd === 'suback') await s.send({ cmd, messageId: 77, granted: [0] });
      else if (cmd === 'unsuback') await s.send({ cmd, messageId: 77, granted: [0] });
      else await s.send({ cmd, messageId: 77 });
      const { error, sent } = await violation(s);
      assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
      assert.equal(sent, 0x82);
    });
  }

  test('a PUBREC for an unknown id is answered with PUBREL 0x92, the connection stays', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    await s.send({ cmd: 'pubrec', messageId: 78 });
    assert.equal((await s.next('pubrel')).reasonCode, 0x92);
    assert.equal(client.connected, true);
  });

  test('a PUBREL for an unknown id is answered with PUBCOMP 0x92, the connection stays', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    await s.send({ cmd: 'pubrel', messageId: 79 });
    assert.equal((await s.next('pubcomp')).reasonCode, 0x92);
    assert.equal(client.connected, true);
  });

  test('an ack for a message the application removed is ignored', async (t) => {
    const s = await scene5(t);
    const { client } = s;
    client.publish('r', 'x', { qos: 1 }, () => {});
    const p = await s.next('publish');
    client.removeOutgoingMessage(p.messageId!);
    await s.send({ cmd: 'puback', messageId: p.messageId! });
    await s.send({ cmd: 'pingresp' });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(client.connected, true);
  });

  for (const cmd of ['connect', 'subscribe', 'unsubscribe', 'pingreq'] as const) {
    test(`a ${cmd.toUpperCase()} from the server: DISCONNECT 0x82`, async (t) => {
      const s = await scene5(t);
      const packets: Record<typeof cmd, PacketInput> = {
        connect: { cmd: 'connect', clientId: 'x', keepalive: 0, protocolVersion: 5 },
        subscribe: { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] },
        unsubscribe: { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a'] },
        pingreq: { cmd: 'pingreq' },
      };
      await s.send(packets[cmd]);
      assert.equal((await violation(s)).sent, 0x82);
    });
  }

  // One malformed packet of every type (and type 0), after CONNACK; CONNACK's own comes first on its connection.
  const malformed: [name: string, hex: string][] = [
    ['reserved type 0', '00 00'],
    ['CONNECT', '10 01 00'],
    ['PUBLISH (topic runs past the end)', '30 03 00 09 61'],
    ['PUBLISH with QoS 3', '36 05 00 01 61 00 01'],
    ['PUBACK (truncated id)', '40 01 00'],
    ['PUBREC (bad reason code)', '50 03 00 01 05'],
    ['PUBREL (reserved flags)', '60 02 00 01'],
    ['PUBCOMP (property length past the end)', '70 04 00 01 00 09'],
    ['SUBSCRIBE (reserved flags)', '80 00'],
    ['SUBACK (no reason codes)', '90 03 00 01 00'],
    ['UNSUBSCRIBE (reserved flags)', 'a0 00'],
    ['UNSUBACK (bad reason code)', 'b0 04 00 01 00 05'],
    ['PINGREQ (non-zero length)', 'c0 01 00'],
    ['PINGRESP (non-zero length)', 'd0 01 00'],
    ['DISCONNECT (bad reason code)', 'e0 01 05'],
    ['AUTH (bad reason code)', 'f0 01 05'],
    ['Remaining Length of 5 bytes', '30 ff ff ff ff 7f'],
  ];
  for (const [name, hex] of malformed) {
    test(`a malformed ${name}: error event, DISCONNECT with the codec's reason code`, async (t) => {
      const s = await scene5(t);
      await s.conn.send(Buffer.from(hex.replace(/ /g, ''), 'hex'));
      const { error, sent } = await violation(s);
      assert.ok(isMqttError(error), error.message);
      assert.ok(error.reasonCode === 0x81 || error.reasonCode === 0x82, `reason code ${error.reasonCode}`);
      assert.equal(sent, error.reasonCode);
    });
  }

  test('a malformed CONNACK: error event, DISCONNECT 0x81, no connect event', async (t) => {
    const s = await scene5(t, {}, { connack: null });
    let connects = 0;
    s.client.on('connect', () => connects++);
    await s.conn.send(Buffer.from('2001 00'.replace(/ /g, ''), 'hex'));
    const { error, sent } = await violation(s);
    assert.equal(error.reasonCode, 0x81);
    assert.equal(sent, 0x81);
    assert.equal(connects, 0);
  });

  test('a PUBLISH before CONNACK: DISCONNECT 0x82', async (t) => {
    const s = await scene5(t, {}, { connack: null });
    await s.send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0 });
    assert.equal((await violation(s)).sent, 0x82);
  });

  test('after a violation the client reconnects and works', async (t) => {
    const { broker, client, send } = await scene5(t, { reconnectPeriod: 30 });
    client.on('error', () => {});
    const reconnected = once(client, 'connect');
    await send({ cmd: 'connack', reasonCode: 0 });
    const next = await broker.accept();
    await reconnected;
    const done = client.publishAsync('ok', 'x', { qos: 1 });
    const p = (await broker.next(next)) as PublishPacket;
    assert.equal(p.cmd, 'publish');
    await broker.send(next, { cmd: 'puback', messageId: p.messageId! });
    await done;
  });
});

describe('hostile server, MQTT 3.1.1', () => {
  test('a malformed packet closes the connection cleanly, without DISCONNECT, with an error event', async (t) => {
    const s = await scene5(t, { protocolVersion: 4 });
    await s.conn.send(Buffer.from('4001 00'.replace(/ /g, ''), 'hex'));
    const { error, sent } = await violation(s);
    assert.ok(isMqttError(error));
    assert.equal(sent, undefined);
  });

  test('a second CONNACK closes the connection with an error event', async (t) => {
    const s = await scene5(t, { protocolVersion: 4 });
    await s.send({ cmd: 'connack', returnCode: 0 });
    const { error, sent } = await violation(s);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, undefined);
  });
});
