/**
 * The session against a scripted fake broker, for what real brokers cannot be made to do:
 * refused CONNACKs with every code, a second CONNACK, a malformed packet, a duplicate PUBREL,
 * resends after a drop, connect timeouts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connackReturnCodeNames, reasonCodeNames } from '../../generated/index.js';
import {
  connect,
  connectAsync,
  fileStores,
  type MqttClient,
  MqttConnackError,
  UniqueMessageIdProvider,
} from '../../runtime/index.js';
import type { MessageIdProvider } from '../../runtime/message-id.js';
import { hex, PacketType, packetType } from '../helpers/fake-broker.js';
import {
  collectErrors,
  once,
  type ScriptedBroker,
  sleep,
  startScriptedBroker,
  type Version,
  waitFor,
} from './support.js';

const clients: MqttClient[] = [];
const dirs: string[] = [];
function client(broker: ScriptedBroker, options: Record<string, unknown> = {}): MqttClient {
  const c = connect(broker.url, { protocolVersion: broker.version, reconnectPeriod: 0, ...options });
  clients.push(c);
  return c;
}
after(() => {
  for (const c of clients) c.end(true);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const version of [3, 4, 5] as Version[]) {
  describe(`session with a scripted broker, MQTT v${version}`, () => {
    /** Each test gets its own broker, so connections never leak between tests. */
    const bt = (name: string, options: { skip?: boolean }, fn: (broker: ScriptedBroker) => Promise<void>) =>
      test(name, options, async (t) => {
        const broker = await startScriptedBroker(version);
        t.after(() => broker.stop());
        await fn(broker);
      });

    const refusals =
      version === 5
        ? Object.keys(reasonCodeNames.CONNACK)
            .map(Number)
            .filter((c) => c >= 0x80)
        : [1, 2, 3, 4, 5];
    for (const code of refusals) {
      bt(`rejects connectAsync with the name of CONNACK code 0x${code.toString(16)}`, {}, async (broker) => {
        const pending = connectAsync(broker.url, { protocolVersion: version, reconnectPeriod: 50 });
        const conn = await broker.nextConnection();
        await broker.next(conn);
        await broker.send(conn, {
          cmd: 'connack',
          sessionPresent: false,
          ...(version === 5 ? { reasonCode: code } : { returnCode: code }),
        });
        const error = await pending.then(
          () => assert.fail('connectAsync resolved'),
          (e: unknown) => e as MqttConnackError,
        );
        assert.ok(error instanceof MqttConnackError);
        assert.equal(error.code, 'MQTT_ERR_CONNACK_REFUSED');
        assert.equal(error.returnCode, code);
        const name = version === 5 ? reasonCodeNames.CONNACK[code] : connackReturnCodeNames[code];
        assert.ok(name && error.message.includes(name), error.message);
        if (version === 5) assert.equal(error.reasonCode, code);
        else assert.ok((error.reasonCode ?? 0) >= 0x80);
      });
    }

    bt('does not reconnect after a refused CONNACK unless reconnectOnConnackError', {}, async (broker) => {
      const c = client(broker, { reconnectPeriod: 20 });
      const errors = collectErrors(c);
      const conn = await broker.nextConnection();
      await broker.next(conn);
      await broker.send(conn, {
        cmd: 'connack',
        sessionPresent: false,
        ...(version === 5 ? { reasonCode: 0x87 } : { returnCode: 5 }),
      });
      await once(c, 'close');
      await sleep(100);
      assert.equal(broker.connections.length - 1, broker.connections.indexOf(conn));
      assert.equal(errors[0] && (errors[0] as MqttConnackError).code, 'MQTT_ERR_CONNACK_REFUSED');
      c.end(true);
    });

    bt('emits an error with code MQTT_ERR_CONNECT_TIMEOUT when no CONNACK comes', {}, async (broker) => {
      const c = client(broker, { connectTimeout: 100 });
      const [error] = await once<[{ code: string }]>(c, 'error');
      assert.equal(error.code, 'MQTT_ERR_CONNECT_TIMEOUT');
      await once(c, 'close');
      c.end(true);
    });

    bt('rejects connectAsync on a connect timeout', {}, async (broker) => {
      await assert.rejects(
        connectAsync(broker.url, { protocolVersion: version, connectTimeout: 100, reconnectPeriod: 0 }),
        { code: 'MQTT_ERR_CONNECT_TIMEOUT' },
      );
    });

    bt(
      'holds queued publishes while the socket is full and sends them all, in order, once it drains',
      {},
      async (broker) => {
        const c = client(broker);
        const conn = await broker.accept();
        await once(c, 'connect');
        conn.socket.pause();
        // 32 MiB: more than the kernel's loopback buffers take, so the client's socket fills.
        const count = 2048;
        const payload = Buffer.alloc(16 * 1024);
        let called = 0;
        for (let i = 0; i < count; i++) {
          payload.writeUInt32BE(i);
          c.publish('bulk', Buffer.from(payload), { qos: 0 }, () => called++);
        }
        await sleep(300);
        assert.ok(called < count, `${called} of ${count} QoS 0 callbacks while nothing could be written`);
        conn.socket.resume();
        await waitFor(() => called === count, 10_000);
        const publishes = () => conn.packets.filter((p) => packetType(p) === PacketType.PUBLISH);
        await waitFor(() => publishes().length === count, 10_000);
        const offset = version === 5 ? 2 + 2 + 'bulk'.length + 1 : 2 + 2 + 'bulk'.length; // header, topic, properties
        publishes().forEach((p, i) => {
          assert.equal(Buffer.from(p).readUInt32BE(p.length - payload.length), i);
          assert.ok(p.length - payload.length >= offset);
        });
      },
    );

    bt('treats a second CONNACK as a protocol violation', {}, async (broker) => {
      const c = client(broker);
      const errors = collectErrors(c);
      const conn = await broker.accept();
      await once(c, 'connect');
      await broker.send(conn, { cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0 });
      await once(c, 'close');
      assert.equal((errors[0] as { code?: string }).code, 'MQTT_ERR_PROTOCOL_VIOLATION');
      assert.equal((errors[0] as { reasonCode?: number }).reasonCode, 0x82);
      if (version === 5) {
        const sent = conn.packets.map(packetType);
        assert.ok(sent.includes(PacketType.DISCONNECT), 'a DISCONNECT 0x82 is sent');
        const disconnect = conn.packets.find((p) => packetType(p) === PacketType.DISCONNECT)!;
        assert.equal(disconnect[2], 0x82);
      }
    });

    bt('closes on a malformed packet from the server with a decode error', {}, async (broker) => {
      const c = client(broker);
      const errors = collectErrors(c);
      const conn = await broker.accept();
      await once(c, 'connect');
      // SUBACK with reserved flag bits set: malformed [MQTT-2.1.3-1]
      await conn.send(hex('92 03 00 01 00'));
      await once(c, 'close');
      assert.ok(errors.length >= 1);
      assert.match(String((errors[0] as { code?: string }).code), /^MQTT_ERR_/);
      if (version === 5) {
        const disconnect = conn.packets.find((p) => packetType(p) === PacketType.DISCONNECT);
        assert.ok(disconnect, 'DISCONNECT sent');
        assert.ok((disconnect[2] ?? 0) >= 0x80);
      }
    });

    bt('treats a packet before CONNACK as a protocol violation', {}, async (broker) => {
      const c = client(broker);
      const errors = collectErrors(c);
      const conn = await broker.nextConnection();
      await broker.next(conn);
      await broker.send(conn, { cmd: 'pingresp' });
      await once(c, 'close');
      assert.equal((errors[0] as { code?: string }).code, 'MQTT_ERR_PROTOCOL_VIOLATION');
    });

    bt('answers a duplicate PUBREL with PUBCOMP and delivers the QoS 2 message once', {}, async (broker) => {
      const c = client(broker);
      const messages: string[] = [];
      c.on('message', (_t, payload) => messages.push(Buffer.from(payload).toString()));
      const conn = await broker.accept();
      await once(c, 'connect');
      await broker.send(conn, {
        cmd: 'publish',
        topic: 'q2',
        payload: 'once',
        qos: 2,
        messageId: 7,
        dup: false,
        retain: false,
      });
      assert.equal((await broker.next(conn)).cmd, 'pubrec');
      // The server resends the PUBLISH (DUP) before PUBREL: still one delivery.
      await broker.send(conn, {
        cmd: 'publish',
        topic: 'q2',
        payload: 'once',
        qos: 2,
        messageId: 7,
        dup: true,
        retain: false,
      });
      assert.equal((await broker.next(conn)).cmd, 'pubrec');
      await broker.send(conn, { cmd: 'pubrel', messageId: 7 });
      const comp1 = await broker.next(conn);
      assert.deepEqual([comp1.cmd, 'messageId' in comp1 && comp1.messageId], ['pubcomp', 7]);
      await broker.send(conn, { cmd: 'pubrel', messageId: 7 });
      const comp2 = await broker.next(conn);
      assert.equal(comp2.cmd, 'pubcomp');
      if (version === 5) assert.equal((comp2 as { reasonCode?: number }).reasonCode, 0x92);
      await sleep(20);
      assert.deepEqual(messages, ['once']);
      c.end(true);
    });

    bt(
      'answers a PUBREC for an unknown packet identifier with PUBREL, 0x92 Packet Identifier not found in MQTT 5',
      {},
      async (broker) => {
        const c = client(broker);
        const errors = collectErrors(c);
        const conn = await broker.accept();
        await once(c, 'connect');
        await broker.send(conn, { cmd: 'pubrec', messageId: 42 });
        // MQTT 5.0 §3.6.2.1: Reason Code 0x92; before MQTT 5 a PUBREL has none.
        const pubrel = await conn.nextPacket();
        assert.deepEqual([...pubrel], [...hex(version === 5 ? '62 03 00 2a 92' : '62 02 00 2a')]);
        assert.deepEqual(errors, [], 'not a protocol error: the connection stays');
        assert.equal(c.connected, true);
        c.end(true);
      },
    );

    for (const [cmd, rule] of [
      ['puback', 'MQTT-2.2.1-5'],
      ['suback', 'MQTT-2.2.1-6'],
    ] as const) {
      bt(
        `reports a ${cmd.toUpperCase()} for an unknown packet identifier as a protocol error [${rule}]`,
        {},
        async (broker) => {
          const c = client(broker);
          const errors = collectErrors(c);
          const conn = await broker.accept();
          await once(c, 'connect');
          const closed = once(c, 'close');
          await broker.send(
            conn,
            cmd === 'puback' ? { cmd, messageId: 42 } : { cmd, messageId: 42, granted: [0] },
          );
          await closed;
          const error = errors[0] as { code?: string; reasonCode?: number; spec?: string };
          assert.equal(error.code, 'MQTT_ERR_PROTOCOL_VIOLATION');
          assert.equal(error.reasonCode, 0x82);
          assert.equal(error.spec, `MQTT 5.0 §2.2.1 [${rule}]`);
          c.end(true);
        },
      );
    }

    /** A QoS 2 PUBLISH from the server, id 7, payload 'once'. */
    const q2 = (dup: boolean) =>
      ({ cmd: 'publish', topic: 'q2', payload: 'once', qos: 2, messageId: 7, dup, retain: false }) as const;

    bt(
      'keeps a QoS 2 message awaiting PUBREL across a reconnect: the PUBLISH sent again gets PUBREC, not a second delivery',
      {},
      async (broker) => {
        const c = client(broker, { clean: false, clientId: `in2-${version}`, reconnectPeriod: 20 });
        collectErrors(c);
        const messages: string[] = [];
        c.on('message', (_t, payload) => messages.push(Buffer.from(payload).toString()));
        const conn1 = await broker.accept();
        await broker.send(conn1, q2(false));
        assert.equal((await broker.next(conn1)).cmd, 'pubrec');
        conn1.drop();
        const conn2 = await broker.accept({ sessionPresent: true });
        // PUBREC had not reached the server: it sends the PUBLISH again [MQTT-4.3.3-10].
        await broker.send(conn2, q2(true));
        const rec = await broker.next(conn2);
        assert.deepEqual([rec.cmd, (rec as { messageId?: number }).messageId], ['pubrec', 7]);
        assert.deepEqual(messages, [], 'not delivered before PUBREL');
        await broker.send(conn2, { cmd: 'pubrel', messageId: 7 });
        assert.equal((await broker.next(conn2)).cmd, 'pubcomp');
        assert.deepEqual(messages, ['once']);
        // After PUBCOMP the id is free: a PUBLISH with it is a new message [MQTT-4.3.3-12] (what
        // a broker that re-sends a PUBLISH instead of its PUBREL gets, see restart.test.ts).
        await broker.send(conn2, q2(true));
        assert.equal((await broker.next(conn2)).cmd, 'pubrec');
        await broker.send(conn2, { cmd: 'pubrel', messageId: 7 });
        assert.equal((await broker.next(conn2)).cmd, 'pubcomp');
        assert.deepEqual(messages, ['once', 'once']);
        c.end(true);
      },
    );

    bt(
      'delivers a QoS 2 message once across a restart on a FileStore: PUBREC again for the PUBLISH, delivery on PUBREL',
      {},
      async (broker) => {
        const dir = mkdtempSync(join(tmpdir(), 'mqttforge-in2-'));
        dirs.push(dir);
        const options = { clean: false, clientId: `fs2-${version}`, ...fileStores(dir) };
        const first = client(broker, options);
        collectErrors(first);
        const early: string[] = [];
        first.on('message', (_t, payload) => early.push(Buffer.from(payload).toString()));
        const conn1 = await broker.accept();
        await broker.send(conn1, q2(false));
        assert.equal((await broker.next(conn1)).cmd, 'pubrec');
        await first.endAsync(true); // the process dies with PUBREL outstanding
        const second = client(broker, options);
        collectErrors(second);
        const messages: string[] = [];
        second.on('message', (_t, payload) => messages.push(Buffer.from(payload).toString()));
        const conn2 = await broker.accept({ sessionPresent: true });
        await broker.send(conn2, q2(true));
        assert.equal((await broker.next(conn2)).cmd, 'pubrec');
        await broker.send(conn2, { cmd: 'pubrel', messageId: 7 });
        assert.equal((await broker.next(conn2)).cmd, 'pubcomp');
        assert.deepEqual([early, messages], [[], ['once']]);
        second.end(true);
      },
    );

    bt('answers QoS 1 with PUBACK after the message event', {}, async (broker) => {
      const c = client(broker);
      const order: string[] = [];
      c.on('message', () => order.push('message'));
      const conn = await broker.accept();
      await once(c, 'connect');
      await broker.send(conn, {
        cmd: 'publish',
        topic: 'q1',
        payload: 'x',
        qos: 1,
        messageId: 9,
        dup: false,
        retain: false,
      });
      const ack = await broker.next(conn);
      order.push(ack.cmd);
      assert.deepEqual(order, ['message', 'puback']);
      c.end(true);
    });

    bt('re-sends an unacknowledged PUBLISH with DUP set, and packetsend reports dup', {}, async (broker) => {
      const c = client(broker, { clean: false, clientId: `dup-${version}`, reconnectPeriod: 20 });
      collectErrors(c);
      const sent: { cmd: string; dup?: boolean }[] = [];
      c.on('packetsend', (p) => sent.push(p as { cmd: string; dup?: boolean }));
      const conn1 = await broker.accept();
      let settled: Error | null | undefined;
      c.publish('t', 'a', { qos: 1 }, (e) => {
        settled = e ?? null;
      });
      const first = await conn1.nextPacket();
      assert.equal(packetType(first), PacketType.PUBLISH);
      assert.equal(first[0]! & 0x08, 0, 'first PUBLISH has DUP=0');
      conn1.drop();
      const conn2 = await broker.accept({ sessionPresent: true });
      const again = await conn2.nextPacket();
      assert.equal(packetType(again), PacketType.PUBLISH);
      assert.equal(again[0]! & 0x08, 0x08, 'resent PUBLISH has DUP=1');
      const publishes = sent.filter((p) => p.cmd === 'publish');
      assert.deepEqual(
        publishes.map((p) => p.dup),
        [false, true],
      );
      const id = (await import('../../generated/index.js')).decode(again, { protocolVersion: version });
      await broker.send(conn2, { cmd: 'puback', messageId: (id as { messageId: number }).messageId });
      await waitFor(() => settled !== undefined);
      assert.equal(settled, null);
      c.end(true);
    });

    bt(
      'replays PUBREL after a drop between PUBREC and PUBCOMP when the session is present',
      {},
      async (broker) => {
        const c = client(broker, { clean: false, clientId: `rel-${version}`, reconnectPeriod: 20 });
        collectErrors(c);
        const conn1 = await broker.accept();
        let settled: Error | null | undefined;
        c.publish('t', 'b', { qos: 2 }, (e) => {
          settled = e ?? null;
        });
        const pub = (await broker.next(conn1)) as { cmd: string; messageId: number };
        await broker.send(conn1, { cmd: 'pubrec', messageId: pub.messageId });
        const rel = await broker.next(conn1);
        assert.equal(rel.cmd, 'pubrel');
        conn1.drop();
        const conn2 = await broker.accept({ sessionPresent: true });
        const again = (await broker.next(conn2)) as { cmd: string; messageId: number };
        assert.deepEqual([again.cmd, again.messageId], ['pubrel', pub.messageId]);
        assert.equal(settled, undefined, 'not settled before PUBCOMP');
        await broker.send(conn2, { cmd: 'pubcomp', messageId: pub.messageId });
        await waitFor(() => settled !== undefined);
        assert.equal(settled, null);
        c.end(true);
      },
    );

    bt('starts a QoS 2 flow over as a new PUBLISH when the session is gone', {}, async (broker) => {
      const c = client(broker, { clean: false, clientId: `new-${version}`, reconnectPeriod: 20 });
      collectErrors(c);
      const conn1 = await broker.accept();
      c.publish('t', 'c', { qos: 2 });
      const pub = (await broker.next(conn1)) as { messageId: number };
      await broker.send(conn1, { cmd: 'pubrec', messageId: pub.messageId });
      assert.equal((await broker.next(conn1)).cmd, 'pubrel');
      conn1.drop();
      const conn2 = await broker.accept({ sessionPresent: false });
      const raw = await conn2.nextPacket();
      assert.equal(packetType(raw), PacketType.PUBLISH);
      assert.equal(raw[0]! & 0x08, 0, 'a new PUBLISH, DUP=0');
      c.end(true);
    });

    bt('keeps publish and subscribe calls made before CONNACK in call order', {}, async (broker) => {
      const c = client(broker);
      c.subscribe('a');
      c.publish('a', '1', { qos: 1 });
      c.publish('a', '2');
      c.unsubscribe('a');
      c.publish('a', '3', { qos: 2 });
      const conn = await broker.accept();
      const cmds: string[] = [];
      for (let i = 0; i < 5; i++) cmds.push((await broker.next(conn)).cmd);
      assert.deepEqual(cmds, ['subscribe', 'publish', 'publish', 'unsubscribe', 'publish']);
      c.end(true);
    });

    bt('never hands out a message id that is still in flight', {}, async (broker) => {
      // A provider that keeps offering id 1 first, as a wrapped counter would.
      let next = 0;
      const sequence = [1, 1, 1, 2, 1, 3];
      const provider: MessageIdProvider = {
        allocate: () => sequence[next++] ?? null,
        getLastAllocated: () => sequence[next - 1] ?? null,
        register: () => true,
        deallocate: () => {},
        clear: () => {},
      };
      const c = client(broker, { messageIdProvider: provider });
      const conn = await broker.accept();
      await once(c, 'connect');
      c.publish('t', '1', { qos: 1 });
      c.publish('t', '2', { qos: 1 });
      c.publish('t', '3', { qos: 1 });
      const ids: number[] = [];
      for (let i = 0; i < 3; i++)
        ids.push(((await broker.next(conn)) as unknown as { messageId: number }).messageId);
      assert.deepEqual(ids, [1, 2, 3]);
      c.end(true);
    });

    bt('reports MQTT_ERR_NO_MESSAGE_ID when the provider has none', {}, async (broker) => {
      const provider = new UniqueMessageIdProvider();
      for (let i = 0; i < 65_535; i++) provider.allocate();
      const c = client(broker, { messageIdProvider: provider });
      await broker.accept();
      await once(c, 'connect');
      await assert.rejects(c.publishAsync('t', 'x', { qos: 1 }), { code: 'MQTT_ERR_NO_MESSAGE_ID' });
      await assert.rejects(c.subscribeAsync('t'), { code: 'MQTT_ERR_NO_MESSAGE_ID' });
      await assert.rejects(c.unsubscribeAsync('t'), { code: 'MQTT_ERR_NO_MESSAGE_ID' });
      assert.equal(c.connected, true);
      c.end(true);
    });

    bt(
      'fails PUBACK error reason codes with MQTT_ERR_ACK_FAILED',
      { skip: version !== 5 },
      async (broker) => {
        const c = client(broker);
        const conn = await broker.accept();
        await once(c, 'connect');
        const pending = c.publishAsync('t', 'x', { qos: 1 });
        const pub = (await broker.next(conn)) as { messageId: number };
        await broker.send(conn, { cmd: 'puback', messageId: pub.messageId, reasonCode: 0x87 });
        await assert.rejects(pending, { code: 'MQTT_ERR_ACK_FAILED', reasonCode: 0x87 });
        c.end(true);
      },
    );

    bt(
      'emits disconnect and an error naming the reason on a server DISCONNECT',
      { skip: version !== 5 },
      async (broker) => {
        const c = client(broker);
        const errors = collectErrors(c);
        const conn = await broker.accept();
        await once(c, 'connect');
        const disconnected = once<[{ reasonCode: number }]>(c, 'disconnect');
        await broker.send(conn, { cmd: 'disconnect', reasonCode: 0x89 });
        const [packet] = await disconnected;
        assert.equal(packet.reasonCode, 0x89);
        await once(c, 'close');
        assert.equal((errors[0] as { code?: string }).code, 'MQTT_ERR_SERVER_DISCONNECT');
        assert.equal((errors[0] as { reasonCode?: number }).reasonCode, 0x89);
        assert.match(errors[0]!.message, /Server busy/);
      },
    );
  });
}
