/**
 * A hostile or broken server never crashes or wedges the client: each case gets an `error` event
 * naming the problem, the DISCONNECT reason code the spec gives (MQTT 5), and a closed connection
 * the client can come back from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PacketInput } from '../../generated/index.js';
import { isMqttError, type MqttClient } from '../../runtime/index.js';
import {
  type ScriptedBroker,
  type ScriptedConnection,
  startScriptedBroker,
} from '../helpers/scripted-broker.js';
import { client5, connected, endAll, nextError, once, sleep } from './support.js';

/** The connection whose CONNECT carried `clientId`. */
async function connectionOf(broker: ScriptedBroker, clientId: string): Promise<ScriptedConnection> {
  for (let i = 0; i < 200; i++) {
    const c = broker.connections.find((x) => x.connect?.clientId === clientId);
    if (c) return c;
    await sleep(10);
  }
  throw new Error(`no connection from ${clientId}`);
}

type Err = Error & { code?: string; reasonCode?: number };

/** Waits for the error and for the connection to close; returns the error and the DISCONNECT code sent. */
async function violation(
  client: MqttClient,
  conn: ScriptedConnection,
): Promise<{ error: Err; sent: number | undefined }> {
  const error = await nextError(client);
  await Promise.race([conn.closed, sleep(2000).then(() => assert.fail('the connection stayed open'))]);
  const d = conn.packets.find((p) => p.cmd === 'disconnect');
  return { error, sent: d?.cmd === 'disconnect' ? d.reasonCode : undefined };
}

describe('hostile server, MQTT 5', () => {
  let broker: ScriptedBroker;
  before(async () => {
    broker = await startScriptedBroker({
      connack: (connect) => (connect.clientId.startsWith('raw') ? null : { reasonCode: 0 }),
    });
  });
  after(async () => {
    await endAll();
    await broker.stop();
  });

  async function scene(options = {}) {
    const client = await connected(broker.url, options);
    return { client, conn: broker.connections.at(-1)! };
  }

  test('an unsolicited Topic Alias (our maximum is 0): DISCONNECT 0x94', async () => {
    const { client, conn } = await scene();
    conn.send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0, properties: { topicAlias: 1 } });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_TOPIC_ALIAS_INVALID');
    assert.equal(sent, 0x94);
  });

  test('an unsolicited AUTH: DISCONNECT 0x82', async () => {
    const { client, conn } = await scene();
    conn.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'X' } });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('an AUTH with another method than ours: DISCONNECT 0x82', async () => {
    const client = client5(broker.url, { clientId: 'raw-auth', properties: { authenticationMethod: 'A' } });
    const conn = await connectionOf(broker, 'raw-auth');
    conn.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'B' } });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('a second CONNACK: DISCONNECT 0x82', async () => {
    const { client, conn } = await scene();
    conn.send({ cmd: 'connack', reasonCode: 0 });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
  });

  test('a SUBACK whose reason-code count differs from the request: DISCONNECT 0x82, the subscribe fails', async () => {
    const { client, conn } = await scene();
    const sub = client.subscribeAsync(['a', 'b']);
    const s = await conn.next('subscribe');
    conn.send({ cmd: 'suback', messageId: s.messageId, granted: [0] });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, 0x82);
    client.end(); // without reconnects, ending is what settles the pending subscribe
    await assert.rejects(sub);
  });

  test('an UNSUBACK whose reason-code count differs: DISCONNECT 0x82', async () => {
    const { client, conn } = await scene();
    client.unsubscribe(['a', 'b'], () => {});
    const u = await conn.next('unsubscribe');
    conn.send({ cmd: 'unsuback', messageId: u.messageId, granted: [0, 0, 0] });
    assert.equal((await violation(client, conn)).sent, 0x82);
  });

  for (const cmd of ['puback', 'pubcomp', 'suback', 'unsuback'] as const) {
    test(`a ${cmd.toUpperCase()} for an unknown packet id: DISCONNECT 0x82`, async () => {
      const { client, conn } = await scene();
      if (cmd === 'suback') conn.send({ cmd, messageId: 77, granted: [0] });
      else if (cmd === 'unsuback') conn.send({ cmd, messageId: 77, granted: [0] });
      else conn.send({ cmd, messageId: 77 });
      const { error, sent } = await violation(client, conn);
      assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
      assert.equal(sent, 0x82);
    });
  }

  test('a PUBREC for an unknown id is answered with PUBREL 0x92, the connection stays', async () => {
    const { client, conn } = await scene();
    conn.send({ cmd: 'pubrec', messageId: 78 });
    assert.equal((await conn.next('pubrel')).reasonCode, 0x92);
    assert.equal(client.connected, true);
  });

  test('a PUBREL for an unknown id is answered with PUBCOMP 0x92, the connection stays', async () => {
    const { client, conn } = await scene();
    conn.send({ cmd: 'pubrel', messageId: 79 });
    assert.equal((await conn.next('pubcomp')).reasonCode, 0x92);
    assert.equal(client.connected, true);
  });

  test('an ack for a message the application removed is ignored', async () => {
    const { client, conn } = await scene();
    client.publish('r', 'x', { qos: 1 }, () => {});
    const p = await conn.next('publish');
    client.removeOutgoingMessage(p.messageId!);
    conn.send({ cmd: 'puback', messageId: p.messageId! });
    conn.send({ cmd: 'pingresp' });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(client.connected, true);
  });

  for (const cmd of ['connect', 'subscribe', 'unsubscribe', 'pingreq'] as const) {
    test(`a ${cmd.toUpperCase()} from the server: DISCONNECT 0x82`, async () => {
      const { client, conn } = await scene();
      const packets: Record<typeof cmd, PacketInput> = {
        connect: { cmd: 'connect', clientId: 'x', keepalive: 0, protocolVersion: 5 },
        subscribe: { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] },
        unsubscribe: { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a'] },
        pingreq: { cmd: 'pingreq' },
      };
      conn.send(packets[cmd]);
      assert.equal((await violation(client, conn)).sent, 0x82);
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
    test(`a malformed ${name}: error event, DISCONNECT with the codec's reason code`, async () => {
      const { client, conn } = await scene();
      conn.sendRaw(Buffer.from(hex.replace(/ /g, ''), 'hex'));
      const { error, sent } = await violation(client, conn);
      assert.ok(isMqttError(error), error.message);
      assert.ok(error.reasonCode === 0x81 || error.reasonCode === 0x82, `reason code ${error.reasonCode}`);
      assert.equal(sent, error.reasonCode);
    });
  }

  test('a malformed CONNACK: error event, DISCONNECT 0x81, no connect event', async () => {
    const client = client5(broker.url, { clientId: 'raw-connack' });
    let connects = 0;
    client.on('connect', () => connects++);
    const conn = await connectionOf(broker, 'raw-connack');
    conn.sendRaw(Buffer.from('2001 00'.replace(/ /g, ''), 'hex'));
    const { error, sent } = await violation(client, conn);
    assert.equal(error.reasonCode, 0x81);
    assert.equal(sent, 0x81);
    assert.equal(connects, 0);
  });

  test('a PUBLISH before CONNACK: DISCONNECT 0x82', async () => {
    const client = client5(broker.url, { clientId: 'raw-early' });
    const conn = await connectionOf(broker, 'raw-early');
    conn.send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0 });
    assert.equal((await violation(client, conn)).sent, 0x82);
  });

  test('after a violation the client reconnects and works', async () => {
    const { client, conn } = await scene({ reconnectPeriod: 30 });
    client.on('error', () => {});
    conn.send({ cmd: 'connack', reasonCode: 0 });
    await once(client, 'connect');
    const next = broker.connections.at(-1)!;
    const done = client.publishAsync('ok', 'x', { qos: 1 });
    const p = await next.next('publish');
    next.send({ cmd: 'puback', messageId: p.messageId! });
    await done;
  });
});

describe('hostile server, MQTT 3.1.1', () => {
  let broker: ScriptedBroker;
  before(async () => {
    broker = await startScriptedBroker();
  });
  after(async () => {
    await endAll();
    await broker.stop();
  });

  test('a malformed packet closes the connection cleanly, without DISCONNECT, with an error event', async () => {
    const client = await connected(broker.url, { protocolVersion: 4 });
    const conn = broker.connections.at(-1)!;
    conn.sendRaw(Buffer.from('4001 00'.replace(/ /g, ''), 'hex'));
    const { error, sent } = await violation(client, conn);
    assert.ok(isMqttError(error));
    assert.equal(sent, undefined);
  });

  test('a second CONNACK closes the connection with an error event', async () => {
    const client = await connected(broker.url, { protocolVersion: 4 });
    const conn = broker.connections.at(-1)!;
    conn.send({ cmd: 'connack', returnCode: 0 });
    const { error, sent } = await violation(client, conn);
    assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    assert.equal(sent, undefined);
  });
});
