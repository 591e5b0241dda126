/** request() / respond() over Response Topic and Correlation Data, through Mosquitto. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connected, responseTo, scene5, uniqueTopic, useMosquitto } from './support.js';

describe('request / response through Mosquitto', () => {
  const broker = useMosquitto();

  test('request() resolves with the response to its own Correlation Data', async () => {
    const service = uniqueTopic('svc');
    const server = await connected(broker.url);
    await server.subscribeAsync(service, { qos: 1 });
    server.on('message', (_t, payload, packet) => {
      const n = Number(Buffer.from(payload).toString());
      // Answer out of order: the later request first.
      setTimeout(() => server.respond(packet, String(n * n)), n === 1 ? 50 : 0);
    });
    const client = await connected(broker.url);
    const [one, two] = await Promise.all([client.request(service, '1'), client.request(service, '2')]);
    assert.equal(Buffer.from(one.payload).toString(), '1');
    assert.equal(Buffer.from(two.payload).toString(), '4');
    assert.ok(one.packet.properties?.correlationData);
  });

  test('request() rejects with MQTT_ERR_REQUEST_TIMEOUT when nobody answers', async () => {
    const client = await connected(broker.url);
    await assert.rejects(client.request(uniqueTopic('nobody'), 'x', { timeout: 100 }), {
      code: 'MQTT_ERR_REQUEST_TIMEOUT',
    });
  });

  test('request() rejects with MQTT_ERR_ABORTED when its signal fires', async () => {
    const client = await connected(broker.url);
    const controller = new AbortController();
    const pending = client.request(uniqueTopic('slow'), 'x', { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'MQTT_ERR_ABORTED' });
  });

  test('respond() refuses a message without a Response Topic', async () => {
    const client = await connected(broker.url);
    const packet = {
      cmd: 'publish',
      topic: 'a',
      payload: new Uint8Array(),
      qos: 0,
      dup: false,
      retain: false,
    } as const;
    await assert.rejects(client.respond(packet, 'x'), { code: 'MQTT_ERR_INVALID_OPTIONS' });
  });

  test('request() needs MQTT 5', async () => {
    const client = await connected(broker.url, { protocolVersion: 4 });
    await assert.rejects(client.request('a', 'x'), { code: 'MQTT_ERR_INVALID_OPTIONS' });
  });
});

describe('request / response with Response Information', () => {
  test("the response topic lies under the server's Response Information", async (t) => {
    const { client, next, send } = await scene5(
      t,
      { properties: { requestResponseInformation: true } },
      { connack: { properties: { responseInformation: 'granted/area' } } },
    );
    const pending = client.request('svc', 'x');
    const sub = await next('subscribe');
    assert.match(sub.subscriptions[0]!.topic, /^granted\/area\//);
    await send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
    const req = await next('publish');
    assert.equal(req.properties?.responseTopic, sub.subscriptions[0]!.topic);
    await send({ cmd: 'puback', messageId: req.messageId! });
    await send(responseTo(req, 'answer'));
    assert.equal(Buffer.from((await pending).payload).toString(), 'answer');
  });
});
