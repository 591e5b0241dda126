/** Incoming PUBLISH handling: handleMessage backpressure, customHandleAcks (MQTT 5), payload views. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, type MqttClient } from '../../runtime/index.js';
import { once, startScriptedBroker, waitFor } from './support.js';

const publish = (messageId: number, payload: string, qos: 0 | 1 | 2 = 1) =>
  ({ cmd: 'publish', topic: 'in', payload, qos, messageId, dup: false, retain: false }) as const;

describe('incoming messages', () => {
  test('holds later packets until handleMessage calls back, and acknowledges after it', async (t) => {
    const broker = await startScriptedBroker(4);
    t.after(() => broker.stop());
    const c: MqttClient = connect(broker.url, { reconnectPeriod: 0 });
    t.after(() => c.end(true));
    const pending: (() => void)[] = [];
    c.handleMessage = (_packet, done) => {
      pending.push(() => done());
    };
    const seen: string[] = [];
    c.on('message', (_t, p) => seen.push(Buffer.from(p).toString()));
    const conn = await broker.accept();
    await once(c, 'connect');
    await broker.send(conn, publish(1, 'a'));
    await broker.send(conn, publish(2, 'b'));
    await waitFor(() => seen.length === 1);
    await assert.rejects(conn.nextPacket(100), 'no PUBACK before the callback');
    assert.deepEqual(seen, ['a'], 'the second message waits');
    pending.shift()!();
    const ack1 = (await broker.next(conn)) as { cmd: string; messageId: number };
    assert.deepEqual([ack1.cmd, ack1.messageId], ['puback', 1]);
    await waitFor(() => seen.length === 2);
    pending.shift()!();
    const ack2 = (await broker.next(conn)) as { messageId: number };
    assert.equal(ack2.messageId, 2);
  });

  test('customHandleAcks sets the PUBACK reason code and withholds the message on an error code', async (t) => {
    const broker = await startScriptedBroker(5);
    t.after(() => broker.stop());
    const c = connect(broker.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      customHandleAcks: (_topic, message, _packet, done) =>
        done(Buffer.from(message).toString() === 'bad' ? 0x87 : 0),
    });
    t.after(() => c.end(true));
    const seen: string[] = [];
    c.on('message', (_t, p) => seen.push(Buffer.from(p).toString()));
    const conn = await broker.accept();
    await once(c, 'connect');
    await broker.send(conn, publish(1, 'bad'));
    await broker.send(conn, publish(2, 'good'));
    const acks = [await broker.next(conn), await broker.next(conn)] as { reasonCode?: number }[];
    assert.deepEqual(
      acks.map((a) => a.reasonCode ?? 0),
      [0x87, 0],
    );
    assert.deepEqual(seen, ['good']);
  });

  test('gives the payload as a Buffer view of the received bytes', async (t) => {
    const broker = await startScriptedBroker(4);
    t.after(() => broker.stop());
    const c = connect(broker.url, { reconnectPeriod: 0 });
    t.after(() => c.end(true));
    const conn = await broker.accept();
    await once(c, 'connect');
    const message = once<[string, Uint8Array]>(c, 'message');
    await broker.send(conn, publish(0, 'view', 0));
    const [topic, payload] = await message;
    assert.equal(topic, 'in');
    assert.ok(Buffer.isBuffer(payload));
    assert.equal(payload.toString(), 'view');
    assert.ok(payload.buffer.byteLength > payload.byteLength, 'a view into the chunk, not a copy');
  });
});
