/** Keep Alive through the client, on a fake clock, against a scripted broker. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type MqttClient } from '../../runtime/index.js';
import { PacketType, packetType } from '../helpers/fake-broker.js';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  collectErrors,
  once,
  type ScriptedBroker,
  sleep,
  startScriptedBroker,
  type Version,
} from './support.js';

for (const version of [4, 5] as Version[]) {
  describe(`keepalive, MQTT v${version}`, () => {
    let clock: FakeClock;
    let restore: () => void;
    before(() => {
      clock = new FakeClock();
      restore = clock.install();
    });
    after(() => restore());

    async function setup(t: { after(fn: () => unknown): void }, options: Record<string, unknown> = {}) {
      const broker: ScriptedBroker = await startScriptedBroker(version);
      const client: MqttClient = connect(broker.url, {
        protocolVersion: version,
        keepalive: 10,
        reconnectPeriod: 0,
        ...options,
      });
      t.after(async () => {
        client.end(true);
        await broker.stop();
      });
      const conn = await broker.accept();
      await once(client, 'connect');
      return { broker, client, conn };
    }

    /** Packet types the broker receives within `ms` of real time. */
    async function received(conn: { nextPacket(ms?: number): Promise<Uint8Array> }, ms = 100) {
      const types: number[] = [];
      for (;;) {
        try {
          types.push(packetType(await conn.nextPacket(ms)));
        } catch {
          return types;
        }
      }
    }

    test('sends PINGREQ after keepalive seconds of silence and keeps the connection on PINGRESP', async (t) => {
      const { broker, client, conn } = await setup(t);
      clock.tick(9_999);
      assert.deepEqual(await received(conn, 50), []);
      clock.tick(1);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
      await broker.send(conn, { cmd: 'pingresp' });
      await sleep(20);
      clock.tick(10_000);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
      await broker.send(conn, { cmd: 'pingresp' });
      await sleep(20);
      assert.equal(client.connected, true);
    });

    test('emits MQTT_ERR_KEEPALIVE_TIMEOUT and closes when PINGRESP does not come', async (t) => {
      const { client, conn } = await setup(t);
      const errors = collectErrors(client);
      const closed = once(client, 'close');
      clock.tick(10_000);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
      clock.tick(4_999);
      await sleep(20);
      assert.equal(client.connected, true);
      clock.tick(1);
      await closed;
      assert.equal((errors[0] as { code?: string }).code, 'MQTT_ERR_KEEPALIVE_TIMEOUT');
      assert.equal((errors[0] as { reasonCode?: number }).reasonCode, 0x8d);
    });

    test('reschedules the PINGREQ when packets go both ways', async (t) => {
      const { broker, client, conn } = await setup(t);
      clock.tick(6_000);
      client.publish('t', 'x', { qos: 1 });
      const pub = (await broker.next(conn)) as { messageId: number };
      await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
      await sleep(20);
      clock.tick(4_000); // 10 s after CONNACK, 4 s after the last exchange
      assert.deepEqual(await received(conn, 50), []);
      clock.tick(6_000);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
    });

    test('pings every keepalive seconds when reschedulePings is false', async (t) => {
      const { broker, client, conn } = await setup(t, { reschedulePings: false });
      clock.tick(6_000);
      client.publish('t', 'x', { qos: 1 });
      const pub = (await broker.next(conn)) as { messageId: number };
      await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
      await sleep(20);
      clock.tick(4_000);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
    });

    test('sends no PINGREQ with keepalive 0', async (t) => {
      const { conn } = await setup(t, { keepalive: 0 });
      clock.tick(1_000_000);
      assert.deepEqual(await received(conn, 50), []);
    });

    test('uses the Server Keep Alive of the CONNACK', { skip: version !== 5 }, async (t) => {
      const broker = await startScriptedBroker(5);
      const client = connect(broker.url, { protocolVersion: 5, keepalive: 60, reconnectPeriod: 0 });
      t.after(async () => {
        client.end(true);
        await broker.stop();
      });
      const conn = await broker.nextConnection();
      await broker.next(conn);
      await broker.send(conn, {
        cmd: 'connack',
        sessionPresent: false,
        reasonCode: 0,
        properties: { serverKeepAlive: 3 },
      });
      await once(client, 'connect');
      clock.tick(3_000);
      assert.deepEqual(await received(conn), [PacketType.PINGREQ]);
    });
  });
}
