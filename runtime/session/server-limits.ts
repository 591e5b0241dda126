/**
 * What the server's CONNACK rules out (MQTT 5.0 §3.2.2.3), checked before anything is sent so
 * the caller gets a typed error and the connection stays up. Pure functions of the CONNACK
 * properties; absent properties mean "supported".
 *
 * Maximum QoS: a PUBLISH above it is refused, never silently downgraded, so a caller asking for
 * QoS 2 never believes it got exactly-once when it did not [MQTT-3.2.2-11]. Subscriptions are
 * sent as asked: the server grants at most its maximum in SUBACK (§3.2.2.3.4).
 */
import type { ConnackProperties, SubscribeProperties, SubscriptionInput } from '../../generated/index.js';
import { ClientErrorCode, type MqttClientError, notSupported } from '../errors.js';

export function checkPublish(
  server: ConnackProperties | undefined,
  qos: number,
  retain: boolean,
): MqttClientError | null {
  if (!server) return null;
  const maximumQoS = server.maximumQoS ?? 2;
  if (qos > maximumQoS) {
    return notSupported(
      ClientErrorCode.QosNotSupported,
      `QoS ${qos} not supported: the server's Maximum QoS is ${maximumQoS}`,
      0x9b,
      'MQTT 5.0 §3.2.2.3.4 [MQTT-3.2.2-11]',
    );
  }
  if (retain && server.retainAvailable === false) {
    return notSupported(
      ClientErrorCode.RetainNotSupported,
      'Retain not supported by the server',
      0x9a,
      'MQTT 5.0 §3.2.2.3.5 [MQTT-3.2.2-14]',
    );
  }
  return null;
}

export function checkSubscribe(
  server: ConnackProperties | undefined,
  subs: readonly SubscriptionInput[],
  properties: SubscribeProperties | undefined,
): MqttClientError | null {
  if (!server) return null;
  if (properties?.subscriptionIdentifier !== undefined && server.subscriptionIdentifiersAvailable === false) {
    return notSupported(
      ClientErrorCode.SubscriptionIdNotSupported,
      'Subscription Identifiers not supported by the server',
      0xa1,
      'MQTT 5.0 §3.2.2.3.12',
    );
  }
  for (const { topic } of subs) {
    if (server.sharedSubscriptionAvailable === false && topic.startsWith('$share/')) {
      return notSupported(
        ClientErrorCode.SharedNotSupported,
        `Shared Subscriptions not supported by the server: ${topic}`,
        0x9e,
        'MQTT 5.0 §3.2.2.3.13',
      );
    }
    if (server.wildcardSubscriptionAvailable === false && /[+#]/.test(topic)) {
      return notSupported(
        ClientErrorCode.WildcardNotSupported,
        `Wildcard Subscriptions not supported by the server: ${topic}`,
        0xa2,
        'MQTT 5.0 §3.2.2.3.11',
      );
    }
  }
  return null;
}
