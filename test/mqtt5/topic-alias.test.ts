/**
 * Topic Aliases end to end: outgoing against the scripted broker (which shows the wire) and
 * through Mosquitto (which resolves them for a subscriber); incoming from the scripted broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishPacket } from '../../generated/index.js';
import type { ClientOptions } from '../../runtime/index.js';
import { nextOf, reconnected, type Teardown } from '../client/support.js';
import { connected, nextError, scene5, useMosquitto } from './support.js';

describe('outgoing Topic Aliases', () => {
  /** What the scripted broker's CONNACK allows: two aliases. */
  const aliases = { properties: { topicAliasMaximum: 2 } };
  const aliased = (t: Teardown, options: ClientOptions = {}) => scene5(t, options, { connack: aliases });

  const wire = (p: PublishPacket) => `${p.topic}|${p.properties?.topicAlias ?? '-'}`;

  test('autoAssignTopicAlias assigns, reuses and overwrites the least recently used on the wire', async (t) => {
    const { client, next } = await aliased(t, { autoAssignTopicAlias: true });
    for (const topic of ['a', 'b', 'a', 'c', 'b']) await client.publishAsync(topic, 'x');
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(wire(await next('publish')));
    assert.deepEqual(sent, ['a|1', 'b|2', '|1', 'c|2', 'b|1']);
  });

  test('mappings reset on reconnect: the first PUBLISH registers its alias again', async (t) => {
    const { broker, client, conn, next } = await aliased(t, {
      autoAssignTopicAlias: true,
      reconnectPeriod: 50,
    });
    await client.publishAsync('a', 'x');
    await client.publishAsync('a', 'x');
    assert.deepEqual([wire(await next('publish')), wire(await next('publish'))], ['a|1', '|1']);
    conn.drop();
    const conn2 = await reconnected(broker, client, aliases);
    await client.publishAsync('a', 'x');
    assert.equal(wire(await nextOf(broker, conn2, 'publish')), 'a|1');
  });

  test('a QoS 1 message re-sent after a reconnect carries its full topic', async (t) => {
    const { broker, client, conn, next } = await aliased(t, {
      autoAssignTopicAlias: true,
      reconnectPeriod: 50,
    });
    await client.publishAsync('q', 'x');
    const done = client.publishAsync('q', 'y', { qos: 1 });
    assert.equal(wire(await next('publish')), 'q|1');
    const second = await next('publish');
    assert.equal(wire(second), '|1');
    conn.drop();
    const conn2 = await reconnected(broker, client, aliases);
    const again = await nextOf(broker, conn2, 'publish');
    assert.equal(again.topic, 'q');
    assert.equal(again.properties?.topicAlias, 1); // registered anew on this connection
    await broker.send(conn2, { cmd: 'puback', messageId: again.messageId! });
    await done;
  });

  test('autoUseTopicAlias sends the alias alone once the application registered it', async (t) => {
    const { client, next } = await aliased(t, { autoUseTopicAlias: true });
    await client.publishAsync('u', 'x');
    await client.publishAsync('u', 'x', { properties: { topicAlias: 2 } });
    await client.publishAsync('u', 'x');
    await client.publishAsync('', 'x', { properties: { topicAlias: 2 } });
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) sent.push(wire(await next('publish')));
    assert.deepEqual(sent, ['u|-', 'u|2', '|2', '|2']);
  });

  test('an alias above the server maximum fails the publish with MQTT_ERR_TOPIC_ALIAS_INVALID', async (t) => {
    const { client } = await aliased(t);
    await assert.rejects(client.publishAsync('z', 'x', { properties: { topicAlias: 3 } }), {
      code: 'MQTT_ERR_TOPIC_ALIAS_INVALID',
      reasonCode: 0x94,
    });
    await assert.rejects(client.publishAsync('', 'x', { properties: { topicAlias: 1 } }), {
      code: 'MQTT_ERR_TOPIC_ALIAS_INVALID',
    });
    assert.equal(client.connected, true);
  });
});

describe('outgoing Topic Aliases through Mosquitto', () => {
  const broker = useMosquitto({ extraConfig: 'max_topic_alias 2' });

  test('a subscriber receives every message on its full topic', async () => {
    const sub = await connected(broker.url);
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const pub = await connected(broker.url, { autoAssignTopicAlias: true });
    assert.equal(pub.serverProperties?.topicAliasMaximum, 2);
    const topics = ['alias/a', 'alias/b', 'alias/a', 'alias/c', 'alias/b', 'alias/c'];
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      sub.on('message', (t) => {
        got.push(t);
        if (got.length === topics.length) resolve();
      }),
    );
    for (const t of topics) await pub.publishAsync(t, 'x', { qos: 1 });
    await all;
    assert.deepEqual(got, topics);
  });
});

describe('incoming Topic Aliases', () => {
  /** A client that accepts three aliases from the server. */
  const accepting = (t: Teardown) => scene5(t, { properties: { topicAliasMaximum: 3 } });

  test('resolves aliases the server sets, for QoS 0, 1 and 2 (delivered on PUBREL)', async (t) => {
    const { client, next, send } = await accepting(t);
    const got: string[] = [];
    client.on('message', (topic, p) => got.push(`${topic}=${Buffer.from(p).toString()}`));
    await send({ cmd: 'publish', topic: 's/1', payload: 'a', qos: 0, properties: { topicAlias: 1 } });
    await send({
      cmd: 'publish',
      topic: '',
      payload: 'b',
      qos: 1,
      messageId: 1,
      properties: { topicAlias: 1 },
    });
    await next('puback');
    await send({
      cmd: 'publish',
      topic: '',
      payload: 'c',
      qos: 2,
      messageId: 2,
      properties: { topicAlias: 1 },
    });
    await next('pubrec');
    await send({ cmd: 'pubrel', messageId: 2 });
    await next('pubcomp');
    assert.deepEqual(got, ['s/1=a', 's/1=b', 's/1=c']);
  });

  test('an alias never set: error event and DISCONNECT 0x82', async (t) => {
    const { client, next, send } = await accepting(t);
    const errored = nextError(client);
    await send({ cmd: 'publish', topic: '', payload: 'x', qos: 0, properties: { topicAlias: 2 } });
    const error = await errored;
    assert.equal(error.code, 'MQTT_ERR_TOPIC_ALIAS_INVALID');
    assert.equal(error.reasonCode, 0x82);
    assert.equal((await next('disconnect')).reasonCode, 0x82);
  });

  test('an alias above our maximum: error event and DISCONNECT 0x94', async (t) => {
    const { client, next, send } = await accepting(t);
    const errored = nextError(client);
    await send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0, properties: { topicAlias: 4 } });
    assert.equal((await errored).reasonCode, 0x94);
    assert.equal((await next('disconnect')).reasonCode, 0x94);
  });
});
