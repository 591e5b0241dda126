/**
 * `npm run demo`: two embedded brokers on loopback, no installation needed.
 *  1. Aedes (MQTT 3.1.1): a client subscribes and publishes at QoS 0, 1 and 2.
 *  2. MQTT 5 — Aedes does not speak it, so demo/mini-broker.ts, a broker written on
 *     mqttforge/codec alone: the same at QoS 0, 1 and 2, with MQTT 5 properties.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync } from '../runtime/index.js';
import { MiniBroker } from './mini-broker.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function withAedes(): Promise<void> {
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  console.log(`\n1. Aedes (MQTT 3.1.1) on 127.0.0.1:${port}`);

  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'demo-v4' });
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    client.on('message', (topic, payload, packet) => {
      console.log(`   received  ${topic}  "${text(payload)}"  qos=${packet.qos}`);
      if (++seen === 3) resolve();
    });
  });
  await client.subscribeAsync('demo/#', { qos: 2 });
  for (const qos of [0, 1, 2] as const) {
    await client.publishAsync(`demo/qos${qos}`, `hello at QoS ${qos}`, { qos });
    console.log(`   published demo/qos${qos}${qos > 0 ? ' (acknowledged)' : ''}`);
  }
  await done;
  await client.endAsync();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  server.close();
}

async function withMqtt5(): Promise<void> {
  const broker = new MiniBroker();
  const port = await broker.listen();
  console.log(`\n2. mini-broker (MQTT 5, built on mqttforge/codec) on 127.0.0.1:${port}`);

  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: 'demo-v5' });
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    client.on('message', (topic, payload, packet) => {
      const p = packet.properties ?? {};
      console.log(`   received  ${topic}  "${text(payload)}"  qos=${packet.qos}`);
      console.log(
        `             contentType=${p.contentType}  responseTopic=${p.responseTopic}  ` +
          `correlationData=${p.correlationData ? text(p.correlationData) : ''}  userProperties=${JSON.stringify(p.userProperties)}`,
      );
      if (++seen === 3) resolve();
    });
  });
  await client.subscribeAsync('sensors/+/temperature', { qos: 2 });
  for (const qos of [0, 1, 2] as const) {
    await client.publishAsync(`sensors/room${qos}/temperature`, JSON.stringify({ celsius: 20 + qos }), {
      qos,
      properties: {
        contentType: 'application/json',
        responseTopic: 'sensors/replies',
        correlationData: new TextEncoder().encode(`request-${qos}`),
        messageExpiryInterval: 60,
        userProperties: { unit: 'celsius', source: ['demo', `qos${qos}`] },
      },
    });
    console.log(`   published sensors/room${qos}/temperature${qos > 0 ? ' (acknowledged)' : ''}`);
  }
  await done;
  await client.endAsync();
  await broker.close();
}

await withAedes();
await withMqtt5();
console.log('\ndone.');
