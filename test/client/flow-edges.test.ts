/**
 * Flows at their edges, against a scripted broker: acknowledgements of the wrong kind, a QoS 2
 * message whose handler outlives its connection, handleMessage errors, removeOutgoingMessage of
 * re-queued messages, and a forced end() during a graceful one. Each case once failed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MqttClient } from '../../runtime/index.js';
import { publishPacket, scene, sleep, type Teardown, waitFor } from './support.js';

describe('acknowledgements of the wrong kind are a Protocol Error, not a success', () => {
  const cases = [
    {
      name: 'PUBACK for a SUBSCRIBE',
      start: (c: MqttClient, cb: (e?: Error | null) => void) => c.subscribe('t', { qos: 1 }, cb),
      ack: 'puback',
    },
    {
      name: 'PUBCOMP for a QoS 1 PUBLISH',
      start: (c: MqttClient, cb: (e?: Error | null) => void) => c.publish('t', 'm', { qos: 1 }, cb),
      ack: 'pubcomp',
    },
    {
      name: 'PUBACK for a QoS 2 PUBLISH',
      start: (c: MqttClient, cb: (e?: Error | null) => void) => c.publish('t', 'm', { qos: 2 }, cb),
      ack: 'puback',
    },
  ] as const;
  for (const { name, start, ack } of cases) {
    test(name, async (t) => {
      const { client: c, errors, next, send } = await scene(t, { reconnectPeriod: 0 });
      const results: string[] = [];
      start(c, (e) => results.push(e ? `error ${(e as { code?: string }).code}` : 'ok'));
      const sent = (await next()) as { messageId: number };
      await send({ cmd: ack, messageId: sent.messageId } as never);
      await waitFor(() => errors.length > 0, 2000, 'a protocol error');
      assert.match(
        errors[0]!.message,
        new RegExp(`${ack.toUpperCase()} for packet identifier ${sent.messageId}`),
      );
      assert.equal((errors[0] as { reasonCode?: number }).reasonCode, 0x82);
      assert.deepEqual(results, [], 'the operation is not reported done');
    });
  }
});

describe('QoS 2 exactly once', () => {
  test('a handler that calls back after the connection dropped: the PUBREL sent again is answered, not delivered again', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 20, clean: false, clientId: 'q2' });
    let delivered = 0;
    c.on('message', () => delivered++);
    c.handleMessage = (_packet, cb) => {
      setTimeout(cb, 200);
    };
    await broker.send(conn1, publishPacket({ qos: 2, messageId: 7 }));
    assert.equal(((await broker.next(conn1)) as { cmd: string }).cmd, 'pubrec');
    await broker.send(conn1, { cmd: 'pubrel', messageId: 7 });
    await waitFor(() => delivered === 1, 2000, 'delivery');
    conn1.drop(); // before the handler calls back, so no PUBCOMP on this connection
    const conn2 = await broker.accept({ sessionPresent: true });
    await sleep(300); // the handler has called back meanwhile
    await broker.send(conn2, { cmd: 'pubrel', messageId: 7 });
    const answer = (await broker.next(conn2)) as { cmd: string; messageId: number };
    assert.deepEqual([answer.cmd, answer.messageId], ['pubcomp', 7]);
    await sleep(50);
    assert.equal(delivered, 1);
  });

  test('a PUBREL sent again while the handler still runs gets its PUBCOMP when the handler is done', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 20, clean: false, clientId: 'q2b' });
    let delivered = 0;
    c.on('message', () => delivered++);
    let release = () => {};
    c.handleMessage = (_packet, cb) => {
      release = () => cb();
    };
    await broker.send(conn1, publishPacket({ qos: 2, messageId: 9 }));
    await broker.next(conn1); // PUBREC
    await broker.send(conn1, { cmd: 'pubrel', messageId: 9 });
    await waitFor(() => delivered === 1, 2000, 'delivery');
    conn1.drop();
    const conn2 = await broker.accept({ sessionPresent: true });
    await broker.send(conn2, { cmd: 'pubrel', messageId: 9 });
    await sleep(50);
    release();
    const answer = (await broker.next(conn2)) as { cmd: string; messageId: number };
    assert.deepEqual([answer.cmd, answer.messageId], ['pubcomp', 9]);
    assert.equal(delivered, 1);
  });
});

describe('handleMessage errors', () => {
  test('an error for one QoS 1 message does not hold back the acknowledgements of later ones', async (t) => {
    const { client: c, errors, next, send } = await scene(t, { reconnectPeriod: 0 });
    c.handleMessage = (packet, cb) => cb(packet.messageId === 1 ? new Error('boom') : undefined);
    for (const messageId of [1, 2]) await send(publishPacket({ qos: 1, messageId }));
    const ack = (await next(undefined, 1000)) as { cmd: string; messageId: number };
    assert.deepEqual([ack.cmd, ack.messageId], ['puback', 2]);
    assert.equal(errors[0]?.message, 'boom');
  });
});

describe('removeOutgoingMessage', () => {
  test('of a message queued again after a reconnect frees its place in the server’s Receive Maximum', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(
      t,
      { protocolVersion: 5, reconnectPeriod: 20 },
      { connack: { properties: { receiveMaximum: 1 } } },
    );
    const removed: string[] = [];
    c.publish('t', 'a', { qos: 1 }, (e) => removed.push((e as { code?: string } | undefined)?.code ?? 'ok'));
    const a = (await broker.next(conn1)) as { messageId: number };
    conn1.drop();
    await waitFor(() => !c.connected, 2000, 'offline');
    c.removeOutgoingMessage(a.messageId);
    assert.deepEqual(removed, ['MQTT_ERR_MESSAGE_REMOVED']);
    c.publish('t', 'b', { qos: 1 });
    const conn2 = await broker.accept({ sessionPresent: true, properties: { receiveMaximum: 1 } });
    const b = (await broker.next(conn2, 1000)) as { cmd: string; payload: Uint8Array };
    assert.equal(b.cmd, 'publish');
    assert.equal(Buffer.from(b.payload).toString(), 'b');
  });

  test('of the last message an end() waits for lets the end finish', async (t) => {
    const { client: c, next } = await scene(t, { reconnectPeriod: 0 });
    c.publish('t', 'a', { qos: 1 }, () => {});
    const a = (await next()) as { messageId: number };
    const ended = new Promise<void>((resolve) => c.end(() => resolve()));
    c.removeOutgoingMessage(a.messageId);
    assert.equal((await next(undefined, 1000)).cmd, 'disconnect');
    await ended;
  });

  test('publishAsync: an abort after the message was written and queued again does not withdraw it', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 20, clean: false, clientId: 'abort' });
    const controller = new AbortController();
    const done = c.publishAsync('t', 'kept', { qos: 1, signal: controller.signal }).catch((e: Error) => e);
    const first = (await broker.next(conn1)) as { messageId: number };
    conn1.drop();
    await waitFor(() => !c.connected, 2000, 'offline');
    controller.abort();
    const conn2 = await broker.accept({ sessionPresent: true });
    const again = (await broker.next(conn2, 1000)) as { cmd: string; messageId: number };
    assert.deepEqual([again.cmd, again.messageId], ['publish', first.messageId]);
    await done;
  });
});

describe('end(true) during a graceful end()', () => {
  test('closes at once and calls every end() back', async (t) => {
    const { client: c, next } = await scene(t, { reconnectPeriod: 0 });
    c.publish('t', 'a', { qos: 1 }, () => {});
    await next(); // never acknowledged
    const calls: string[] = [];
    c.end(() => calls.push('graceful'));
    await sleep(20);
    assert.equal(c.connected, true, 'the graceful end waits for the PUBACK');
    c.end(true, () => calls.push('forced'));
    assert.equal((await next(undefined, 1000)).cmd, 'disconnect');
    await waitFor(() => calls.length === 2, 2000, 'both callbacks');
    assert.deepEqual(calls.sort(), ['forced', 'graceful']);
  });
});

describe('handleMessage backpressure', () => {
  test('while a message is being handled the client stops reading: what waits stays bounded, and nothing is lost', async (t) => {
    const { client: c, conn } = await scene(t, { reconnectPeriod: 0, keepalive: 0 });
    let release = () => {};
    let handled = 0;
    c.handleMessage = (_packet, cb) => {
      handled++;
      if (handled === 1) release = () => cb();
      else cb();
    };
    const received: number[] = [];
    c.on('message', (_topic, payload) => received.push(Buffer.from(payload).readUInt32BE(0)));
    const count = 50_000;
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(64);
      payload.writeUInt32BE(i, 0);
      // PUBLISH QoS 0, topic "t": 0x30, remaining length, topic length 1, 't', payload
      frames.push(Buffer.concat([Buffer.from([0x30, 3 + 64, 0, 1, 0x74]), payload]));
    }
    void conn.send(Buffer.concat(frames)).catch(() => {});
    await sleep(300);
    const backlog = (c as unknown as { backlog_: unknown[] }).backlog_.length;
    assert.ok(received.length >= 1);
    assert.ok(backlog < 20_000, `${backlog} packets held while the handler runs`);
    release();
    await waitFor(() => received.length === count, 10_000, 'every message');
    assert.deepEqual(received.slice(0, 5).concat(received.slice(-2)), [0, 1, 2, 3, 4, count - 2, count - 1]);
    assert.ok(
      received.every((v, i) => v === i),
      'in order',
    );
  });
});

describe('a PUBREC sent again', () => {
  test('is answered with the same PUBREL, not 0x92 Packet Identifier not found', async (t) => {
    const { client: c, next, send } = await scene(t, { protocolVersion: 5, reconnectPeriod: 0 });
    const done = c.publishAsync('t', 'm', { qos: 2 });
    const pub = (await next()) as { messageId: number };
    await send({ cmd: 'pubrec', messageId: pub.messageId });
    const first = (await next()) as { cmd: string; reasonCode?: number };
    await send({ cmd: 'pubrec', messageId: pub.messageId });
    const second = (await next()) as { cmd: string; reasonCode?: number };
    assert.deepEqual([first.cmd, first.reasonCode ?? 0], ['pubrel', 0]);
    assert.deepEqual([second.cmd, second.reasonCode ?? 0], ['pubrel', 0]);
    await send({ cmd: 'pubcomp', messageId: pub.messageId });
    await done;
  });
});

describe('manualAck', () => {
  test('ack() while offline: the QoS 1 message sent again after the reconnect is acknowledged, not delivered again', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 20, clean: false, clientId: 'ma', manualAck: true });
    const delivered: unknown[] = [];
    c.on('message', (_topic, _payload, packet) => delivered.push(packet));
    const publish = publishPacket({ qos: 1, messageId: 5 });
    await broker.send(conn1, publish);
    await waitFor(() => delivered.length === 1, 2000, 'delivery');
    conn1.drop();
    await waitFor(() => !c.connected, 2000, 'offline');
    assert.equal(c.ack(delivered[0] as never), true);
    const conn2 = await broker.accept({ sessionPresent: true });
    await broker.send(conn2, { ...publish, dup: true });
    const ack = (await broker.next(conn2, 1000)) as { cmd: string; messageId: number };
    assert.deepEqual([ack.cmd, ack.messageId], ['puback', 5]);
    await sleep(30);
    assert.equal(delivered.length, 1);
  });
});

describe('Topic Alias across a reconnect', () => {
  test('a message sent with an alias the next connection does not allow goes again with its full topic', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(
      t,
      { protocolVersion: 5, reconnectPeriod: 20, clean: false, clientId: 'ta' },
      { connack: { properties: { topicAliasMaximum: 10 } } },
    );
    const done = c.publishAsync('t/a', 'x', { qos: 1, properties: { topicAlias: 5 } });
    const first = (await broker.next(conn1)) as { topic: string; properties?: { topicAlias?: number } };
    assert.equal(first.properties?.topicAlias, 5);
    conn1.drop();
    const conn2 = await broker.accept({ sessionPresent: true, properties: { topicAliasMaximum: 2 } });
    const again = (await broker.next(conn2)) as {
      cmd: string;
      topic: string;
      messageId: number;
      properties?: { topicAlias?: number };
    };
    assert.equal(again.cmd, 'publish');
    assert.equal(again.topic, 't/a');
    assert.equal(again.properties?.topicAlias, undefined);
    await broker.send(conn2, { cmd: 'puback', messageId: again.messageId });
    await done;
    // On a live connection an alias over the maximum is refused at once.
    await assert.rejects(c.publishAsync('t/b', 'y', { qos: 1, properties: { topicAlias: 3 } }), {
      code: 'MQTT_ERR_TOPIC_ALIAS_INVALID',
    });
  });
});

describe('subscription options', () => {
  test('No Local on a Shared Subscription is refused before anything is sent [MQTT-3.8.3-4]', async (t) => {
    const { client: c } = await scene(t, { protocolVersion: 5, reconnectPeriod: 0 });
    await assert.rejects(c.subscribeAsync('$share/g/a', { qos: 1, nl: true }), {
      code: 'MQTT_ERR_INVALID_TOPIC',
    });
    assert.equal(c.connected, true);
  });
});

describe('enhanced authentication', () => {
  /** A client authenticated with method M, its CONNACK naming M too. */
  const authenticated = (t: Teardown) =>
    scene(
      t,
      { protocolVersion: 5, reconnectPeriod: 0, properties: { authenticationMethod: 'M' } },
      { connack: { properties: { authenticationMethod: 'M' } } },
    );

  test('a second reauthenticate() while one runs is refused, and only one AUTH goes out', async (t) => {
    const { client: c, next, send } = await authenticated(t);
    const first = c.reauthenticate();
    await assert.rejects(c.reauthenticate(), /already in progress/);
    const auth = (await next()) as { cmd: string; reasonCode: number };
    assert.deepEqual([auth.cmd, auth.reasonCode], ['auth', 0x19]);
    await send({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: 'M' } });
    assert.equal((await first).reasonCode, 0);
    await assert.rejects(next(undefined, 200)); // nothing else was sent
  });

  test('handleAuth calling back twice answers the server once', async (t) => {
    const { client: c, next, send } = await authenticated(t);
    c.handleAuth = (_packet, cb) => {
      cb(null, {});
      cb(null, {});
    };
    const done = c.reauthenticate();
    await next(); // AUTH 0x19
    await send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'M' } });
    const answer = (await next()) as { cmd: string; reasonCode: number };
    assert.deepEqual([answer.cmd, answer.reasonCode], ['auth', 0x18]);
    await assert.rejects(next(undefined, 200));
    await send({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: 'M' } });
    await done;
  });
});

describe('stores that fail', () => {
  test('an outgoing store that throws fails the publish with its error; the connection stays', async (t) => {
    const { Store } = await import('../../runtime/index.js');
    class FullDisk extends Store {
      override put(): never {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      }
    }
    const { client: c } = await scene(t, { reconnectPeriod: 0, outgoingStore: new FullDisk() });
    await assert.rejects(c.publishAsync('t', 'x', { qos: 1 }), { code: 'ENOSPC' });
    assert.equal(c.connected, true);
  });

  test('an incoming QoS 2 message its store cannot keep is not acknowledged, and later ones still are', async (t) => {
    const { Store } = await import('../../runtime/index.js');
    class Failing extends Store {
      override put(_packet: unknown, cb?: (error?: Error) => void): this {
        cb?.(new Error('store failed'));
        return this;
      }
    }
    const { errors, next, send } = await scene(t, { reconnectPeriod: 0, incomingStore: new Failing() });
    await send(publishPacket({ qos: 2, messageId: 1, payload: Buffer.from('q2') }));
    await send(publishPacket({ qos: 1, messageId: 2, payload: Buffer.from('q1') }));
    const ack = (await next(undefined, 1000)) as { cmd: string; messageId: number };
    assert.deepEqual([ack.cmd, ack.messageId], ['puback', 2], 'no PUBREC for the message not stored');
    assert.equal(errors[0]?.message, 'store failed');
  });
});
