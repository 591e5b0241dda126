/**
 * Compile-time checks of the public types: `npm run typecheck` fails if an `@ts-expect-error`
 * line stops being an error or a typed line stops compiling. Nothing here runs.
 */
import type { ConnackPacket, Packet, PublishPacket, SubscribeProperties } from '../../generated/index.js';
import { encode } from '../../generated/index.js';
import mqtt, { connect, type MqttClient } from '../../runtime/index.js';

export function typeChecks(client: MqttClient): void {
  client.on('message', (topic, payload, packet) => {
    const t: string = topic;
    const bytes: Uint8Array = payload;
    const p: PublishPacket = packet;
    const qos: 0 | 1 | 2 = packet.qos;
    void [t, bytes, p, qos];
  });
  client.on('connect', (connack) => {
    const c: ConnackPacket = connack;
    const present: boolean = connack.sessionPresent;
    void [c, present];
  });
  client.on('packetreceive', (packet) => {
    const p: Packet = packet;
    if (packet.cmd === 'suback') {
      const granted: number[] = packet.granted;
      void granted;
    }
    void p;
  });
  // @ts-expect-error: no such event
  client.on('messages', () => {});
  // @ts-expect-error: the message listener's topic is a string
  client.on('message', (topic: number) => void topic);

  client.publish('a/b', 'text', {
    qos: 1,
    properties: { contentType: 'text/plain', userProperties: { k: ['v1', 'v2'] } },
  });
  // @ts-expect-error: Session Expiry Interval is not a PUBLISH property
  client.publish('a/b', 'text', { properties: { sessionExpiryInterval: 10 } });
  // @ts-expect-error: QoS 3 does not exist
  client.publish('a/b', 'text', { qos: 3 });
  client.subscribe({ 'a/+': { qos: 1, nl: true, rh: 2 } }, (err, granted) => void [err, granted?.[0]?.qos]);

  connect('mqtt://localhost', {
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 60, receiveMaximum: 10 },
  });
  // @ts-expect-error: Topic Alias is not a CONNECT property
  connect('mqtt://localhost', { properties: { topicAlias: 1 } });
  // @ts-expect-error: protocol level 6 does not exist
  connect('mqtt://localhost', { protocolVersion: 6 });
  connect({
    host: 'localhost',
    port: 1883,
    will: { topic: 'w', payload: 'gone', qos: 1, properties: { willDelayInterval: 5 } },
  });
  void mqtt.connect;

  encode({ cmd: 'puback', messageId: 1, reasonCode: 0x10 }, { protocolVersion: 5 });
  // Reason String is not allowed in SUBSCRIBE (mqtt-packet's types allow it; the spec does not).
  const subscribeProperties: SubscribeProperties = {
    // @ts-expect-error: not a SUBSCRIBE property
    reasonString: 'x',
  };
  void subscribeProperties;
  // @ts-expect-error: a PUBLISH needs a topic
  encode({ cmd: 'publish', payload: 'x', qos: 0 });
}
