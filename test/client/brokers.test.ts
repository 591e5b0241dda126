/**
 * The client against real brokers: Mosquitto for MQTT 3.1, 3.1.1 and 5, Aedes (in-process) for
 * 3.1 and 3.1.1. Each QoS both ways, retained messages, wills, wildcards, the promise forms,
 * the client-side checks and (MQTT 5) properties end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, connectAsync, type MqttClient } from '../../runtime/index.js';
import { type AedesBroker, startAedes } from '../helpers/aedes.js';
import { isMosquittoAvailable, type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { collectErrors, dropConnection, once, sleep, type Version, waitFor } from './support.js';

type Received = {
  topic: string;
  payload: Buffer;
  packet: { qos: number; retain: boolean; properties?: Record<string, unknown> };
};

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

interface Target {
  name: string;
  versions: Version[];
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'Mosquitto',
    versions: [3, 4, 5],
    start: async () => {
      const m: Mosquitto = await startMosquitto({ extraConfig: 'max_packet_size 10000' });
      return m;
    },
  },
  { name: 'Aedes', versions: [3, 4], start: async () => (await startAedes()) as AedesBroker },
];

for (const target of targets) {
  for (const version of target.versions) {
    describe(`${target.name}, MQTT v${version}`, {
      skip: target.name === 'Mosquitto' && !isMosquittoAvailable(),
    }, () => {
      let broker: { url: string; stop(): Promise<void> };
      const clients: MqttClient[] = [];
      before(async () => {
        broker = await target.start();
      });
      after(async () => {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await broker.stop();
      });

      async function open(options: Record<string, unknown> = {}): Promise<MqttClient> {
        const c = await connectAsync(broker.url, {
          protocolVersion: version,
          reconnectPeriod: 0,
          ...options,
        });
        clients.push(c);
        return c;
      }

      function collect(c: MqttClient): Received[] {
        const got: Received[] = [];
        c.on('message', (topic, payload, packet) =>
          got.push({ topic, payload: payload as Buffer, packet: packet as Received['packet'] }),
        );
        return got;
      }

      test('connects, reports the CONNACK, and ends', async () => {
        const c = connect(broker.url, { protocolVersion: version, reconnectPeriod: 0 });
        const [connack] = await once<[{ cmd: string }]>(c, 'connect');
        assert.equal(connack.cmd, 'connack');
        assert.equal(c.connected, true);
        await c.endAsync();
        assert.equal(c.connected, false);
        assert.equal(c.disconnected, true);
      });

      for (const qos of [0, 1, 2] as const) {
        test(`delivers QoS ${qos} both ways, payload as a Buffer, once`, async () => {
          const topic = unique(`qos${qos}`);
          const sub = await open();
          const pub = await open();
          const got = collect(sub);
          const granted = await sub.subscribeAsync(topic, { qos });
          assert.deepEqual(
            granted.map((g) => g.qos),
            [qos],
          );
          const payloads = ['one', Buffer.from('two'), new Uint8Array([0x74, 0x68, 0x72, 0x65, 0x65])];
          for (const p of payloads) await pub.publishAsync(topic, p, { qos });
          await waitFor(() => got.length >= 3, 3000, 'messages');
          await sleep(qos === 2 ? 50 : 0);
          assert.deepEqual(
            got.map((m) => m.payload.toString()),
            ['one', 'two', 'three'],
          );
          assert.ok(Buffer.isBuffer(got[0]!.payload));
          assert.deepEqual(
            got.map((m) => m.packet.qos),
            [qos, qos, qos],
          );
        });
      }

      test('keeps retained messages and flags them for new subscribers', async () => {
        const topic = unique('retain');
        const pub = await open();
        await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
        const sub = await open();
        const got = collect(sub);
        await sub.subscribeAsync(topic, { qos: 1 });
        await waitFor(() => got.length === 1, 3000, 'retained message');
        assert.equal(got[0]!.payload.toString(), 'kept');
        assert.equal(got[0]!.packet.retain, true);
        await pub.publishAsync(topic, '', { qos: 1, retain: true }); // clear it
      });

      test("delivers a dropped client's will", async () => {
        const topic = unique('will');
        const sub = await open();
        const got = collect(sub);
        await sub.subscribeAsync(topic, { qos: 1 });
        const dying = await open({ will: { topic, payload: 'gone', qos: 1, retain: false } });
        collectErrors(dying);
        dropConnection(dying);
        await waitFor(() => got.length === 1, 3000, 'will');
        assert.equal(got[0]!.payload.toString(), 'gone');
      });

      test('matches + and # wildcards', async () => {
        const base = unique('wild');
        const sub = await open();
        const got = collect(sub);
        await sub.subscribeAsync({ [`${base}/+/x`]: { qos: 1 }, [`${base}/deep/#`]: { qos: 0 } });
        const pub = await open();
        for (const t of [`${base}/a/x`, `${base}/a/y`, `${base}/deep/1/2`, `${base}/deep`, `${base}/b/x`]) {
          await pub.publishAsync(t, t, { qos: 1 });
        }
        await waitFor(() => got.length >= 4, 3000, 'wildcard matches');
        await sleep(30);
        assert.deepEqual(
          got.map((m) => m.topic).sort(),
          [`${base}/a/x`, `${base}/b/x`, `${base}/deep`, `${base}/deep/1/2`].sort(),
        );
      });

      test('unsubscribes', async () => {
        const topic = unique('unsub');
        const c = await open();
        const got = collect(c);
        await c.subscribeAsync(topic);
        await c.unsubscribeAsync(topic);
        await c.publishAsync(topic, 'x', { qos: 1 });
        await sleep(50);
        assert.equal(got.length, 0);
      });

      test('sends calls made before the connection in call order, and receives its own messages', async () => {
        const topic = unique('order');
        const c = connect(broker.url, { protocolVersion: version, reconnectPeriod: 0 });
        clients.push(c);
        const got = collect(c);
        c.subscribe(topic, { qos: 1 });
        for (let i = 0; i < 5; i++) c.publish(topic, String(i), { qos: 1 });
        await waitFor(() => got.length === 5, 3000, 'own messages');
        assert.deepEqual(
          got.map((m) => m.payload.toString()),
          ['0', '1', '2', '3', '4'],
        );
      });

      test('rejects invalid topics and QoS before sending, and stays connected', async () => {
        const c = await open();
        await assert.rejects(c.publishAsync('a/+/b', 'x'), { code: 'MQTT_ERR_INVALID_TOPIC' });
        await assert.rejects(c.publishAsync('a/#', 'x'), { code: 'MQTT_ERR_INVALID_TOPIC' });
        await assert.rejects(c.publishAsync('', 'x'), { code: 'MQTT_ERR_INVALID_TOPIC' });
        await assert.rejects(c.publishAsync('t', 'x', { qos: 3 as never }), { code: 'MQTT_ERR_INVALID_QOS' });
        await assert.rejects(c.subscribeAsync('a/#/b'), { code: 'MQTT_ERR_INVALID_TOPIC', reasonCode: 0x8f });
        await assert.rejects(c.subscribeAsync('a+'), { code: 'MQTT_ERR_INVALID_TOPIC' });
        await assert.rejects(c.subscribeAsync('t', { qos: 5 as never }), { code: 'MQTT_ERR_INVALID_QOS' });
        await assert.rejects(c.unsubscribeAsync('#/a'), { code: 'MQTT_ERR_INVALID_TOPIC' });
        const publishCb = await new Promise<Error | undefined>((resolve) => c.publish('x/#', 'y', resolve));
        assert.equal((publishCb as { code?: string }).code, 'MQTT_ERR_INVALID_TOPIC');
        assert.equal(c.connected, true);
        await c.publishAsync(unique('ok'), 'still up', { qos: 1 });
      });

      test('fails connectAsync with ECONNREFUSED when retries are off', async () => {
        const { freePort } = await import('../helpers/free-port.js');
        const port = await freePort();
        await assert.rejects(
          connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: version, reconnectPeriod: 0 }),
          {
            code: 'ECONNREFUSED',
          },
        );
      });

      if (target.name === 'Mosquitto' && version === 5) {
        test('passes MQTT 5 properties through end to end', async () => {
          const topic = unique('props');
          const sub = await open();
          const got = collect(sub);
          await sub.subscribeAsync(topic, { qos: 1 });
          const pub = await open();
          await pub.publishAsync(topic, '{"a":1}', {
            qos: 1,
            properties: {
              userProperties: { k: 'v', multi: ['1', '2'] },
              responseTopic: 'reply/here',
              correlationData: Buffer.from([1, 2, 3]),
              contentType: 'application/json',
              messageExpiryInterval: 60,
              payloadFormatIndicator: true,
            },
          });
          await waitFor(() => got.length === 1, 3000, 'message');
          const props = got[0]!.packet.properties!;
          assert.deepEqual(props.userProperties, { k: 'v', multi: ['1', '2'] });
          assert.equal(props.responseTopic, 'reply/here');
          assert.deepEqual([...(props.correlationData as Uint8Array)], [1, 2, 3]);
          assert.equal(props.contentType, 'application/json');
          assert.ok((props.messageExpiryInterval as number) <= 60);
          assert.equal(props.payloadFormatIndicator, true);
        });

        test('refuses a payload over the Maximum Packet Size the server announced', async () => {
          const c = await open();
          assert.equal(c.serverProperties?.maximumPacketSize, 10000);
          await assert.rejects(c.publishAsync(unique('big'), Buffer.alloc(20000), { qos: 1 }), {
            code: 'MQTT_ERR_PACKET_TOO_LARGE',
          });
          assert.equal(c.connected, true);
          await c.publishAsync(unique('small'), Buffer.alloc(100), { qos: 1 });
        });

        test('keeps options as given and exposes the CONNACK properties', async () => {
          const c = await open({ properties: { sessionExpiryInterval: 0, receiveMaximum: 100 } });
          assert.equal(c.options.properties?.receiveMaximum, 100);
          assert.ok(c.serverProperties);
        });
      }
    });
  }
}

describe('TLS errors', { skip: !isMosquittoAvailable() }, () => {
  test('connectAsync rejects an untrusted certificate with the TLS error code', async (t) => {
    const { makeSelfSignedCert } = await import('../helpers/certs.js');
    const { createServer } = await import('node:tls');
    const cert = makeSelfSignedCert();
    const server = createServer({ cert: cert.cert, key: cert.key }, (socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.close();
      cert.cleanup();
    });
    const { port } = server.address() as { port: number };
    const error = await connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 1000 }).then(
      () => assert.fail('connected'),
      (e: { code?: string }) => e,
    );
    assert.match(String(error.code), /CERT|SELF_SIGNED/);
  });
});
