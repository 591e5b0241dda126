/** CONNACK properties respected: limits checked before sending, server values used, options untouched. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnackProperties } from '../../generated/index.js';
import type { ClientOptions } from '../../runtime/index.js';
import { connack, type Teardown } from '../client/support.js';
import { client5, connected, once, scene5, useMosquitto } from './support.js';

describe('CONNACK properties from Mosquitto', () => {
  const broker = useMosquitto({
    extraConfig: 'max_qos 1\nretain_available false\nmax_keepalive 10',
  });

  test('maximumQoS: a QoS 2 publish is refused with MQTT_ERR_QOS_NOT_SUPPORTED, QoS 1 goes', async () => {
    const client = await connected(broker.url);
    assert.equal(client.serverProperties?.maximumQoS, 1);
    await assert.rejects(client.publishAsync('q', 'x', { qos: 2 }), {
      code: 'MQTT_ERR_QOS_NOT_SUPPORTED',
      reasonCode: 0x9b,
    });
    await client.publishAsync('q', 'x', { qos: 1 });
    assert.equal(client.connected, true);
  });

  test('a QoS 2 publish queued before the CONNACK is refused when it is written, and QoS 1 goes', async () => {
    const client = client5(broker.url);
    const refused = client.publishAsync('q', 'queued', { qos: 2 });
    const accepted = client.publishAsync('q', 'queued', { qos: 1 });
    await assert.rejects(refused, { code: 'MQTT_ERR_QOS_NOT_SUPPORTED', reasonCode: 0x9b });
    await accepted;
    assert.equal(client.connected, true);
  });

  test('a QoS 2 subscription is sent and granted at the maximum', async () => {
    const client = await connected(broker.url);
    const granted = await client.subscribeAsync('q/#', { qos: 2 });
    assert.equal(granted[0]?.qos, 1);
  });

  test('retainAvailable false: a retained publish is refused with MQTT_ERR_RETAIN_NOT_SUPPORTED', async () => {
    const client = await connected(broker.url);
    assert.equal(client.serverProperties?.retainAvailable, false);
    await assert.rejects(client.publishAsync('r', 'x', { retain: true }), {
      code: 'MQTT_ERR_RETAIN_NOT_SUPPORTED',
      reasonCode: 0x9a,
    });
    assert.equal(client.connected, true);
  });

  test('serverKeepAlive overrides ours without changing client.options', async () => {
    const client = await connected(broker.url, { keepalive: 60 });
    assert.equal(client.serverProperties?.serverKeepAlive, 10);
    assert.equal(client.options.keepalive, 60);
    assert.equal(client.keepalive, 10);
    assert.equal((client as unknown as { pinger_: { interval_: number } }).pinger_.interval_, 10_000);
  });

  test('an empty client id gets the Assigned Client Identifier, used on reconnect', async () => {
    const client = await connected(broker.url, { clientId: '', reconnectPeriod: 50 });
    const assigned = client.serverProperties?.assignedClientIdentifier;
    assert.ok(assigned);
    assert.equal(client.options.clientId, '');
    client.reconnect();
    await once(client, 'connect');
    // The broker only assigns an identifier to an empty one: none now means ours was sent.
    assert.equal(client.serverProperties?.assignedClientIdentifier, undefined);
  });
});

describe('CONNACK properties from the scripted broker', () => {
  const server: ConnackProperties = {
    wildcardSubscriptionAvailable: false,
    sharedSubscriptionAvailable: false,
    subscriptionIdentifiersAvailable: false,
    responseInformation: 'resp/area',
    serverReference: 'other.example:1883',
    serverKeepAlive: 5,
    topicAliasMaximum: 4,
    receiveMaximum: 7,
    maximumPacketSize: 5000,
    sessionExpiryInterval: 30,
  };
  const limited = (t: Teardown, options: ClientOptions = {}) =>
    scene5(t, options, { connack: { properties: server } });

  test('wildcard, shared and subscription-identifier subscriptions are refused before sending', async (t) => {
    const { client, next, send, sent } = await limited(t);
    await assert.rejects(client.subscribeAsync('a/+'), {
      code: 'MQTT_ERR_WILDCARD_NOT_SUPPORTED',
      reasonCode: 0xa2,
    });
    await assert.rejects(client.subscribeAsync('a/#'), { code: 'MQTT_ERR_WILDCARD_NOT_SUPPORTED' });
    await assert.rejects(client.subscribeAsync('$share/g/a'), {
      code: 'MQTT_ERR_SHARED_NOT_SUPPORTED',
      reasonCode: 0x9e,
    });
    await assert.rejects(client.subscribeAsync('a', { properties: { subscriptionIdentifier: 3 } }), {
      code: 'MQTT_ERR_SUBSCRIPTION_ID_NOT_SUPPORTED',
      reasonCode: 0xa1,
    });
    const ok = client.subscribeAsync('a/b');
    const sub = await next('subscribe');
    assert.equal(sub.subscriptions[0]?.topic, 'a/b');
    await send({ cmd: 'suback', messageId: sub.messageId, granted: [0] });
    await ok;
    assert.equal(sent().filter((p) => p.cmd === 'subscribe').length, 1);
  });

  test('responseInformation and serverReference are surfaced in serverProperties and the connect event', async (t) => {
    const { client, send } = await scene5(t, {}, { connack: null });
    const connected = once(client, 'connect');
    await send(connack(5, false, 0, server));
    const [packet] = await connected;
    assert.equal(packet.properties.responseInformation, 'resp/area');
    assert.equal(client.serverProperties?.serverReference, 'other.example:1883');
  });

  test('server values never change the options the user gave', async (t) => {
    const options = {
      keepalive: 30,
      properties: {
        sessionExpiryInterval: 10,
        receiveMaximum: 20,
        topicAliasMaximum: 1,
        maximumPacketSize: 9999,
      },
    };
    const before = structuredClone(options);
    const { client } = await limited(t, options);
    assert.deepEqual(options, before);
    assert.equal(client.options.keepalive, 30);
    assert.deepEqual(client.options.properties, before.properties);
  });
});
