/**
 * The argument forms MQTT.js accepts for publish, subscribe and unsubscribe, normalised into
 * packet fields. Pure functions: they build and check, the client queues.
 */
import type {
  PublishProperties,
  QoS,
  SubscribeProperties,
  SubscriptionInput,
  UnsubscribeProperties,
} from '../../generated/index.js';
import { invalidQos, invalidTopic, type MqttClientError } from '../errors.js';
import { validateTopicFilter } from '../topic.js';

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  dup?: boolean;
  properties?: PublishProperties;
  /**
   * Called once the QoS 1/2 PUBLISH is in the outgoing store, before it is written; never when
   * the store fails (MQTT.js's cbStorePut).
   */
  cbStorePut?: () => void;
}

export interface SubscribeOptions {
  qos?: QoS;
  /** No Local (MQTT 5). */
  nl?: boolean;
  /** Retain As Published (MQTT 5). */
  rap?: boolean;
  /** Retain Handling (MQTT 5). */
  rh?: 0 | 1 | 2;
  properties?: SubscribeProperties;
}

export interface UnsubscribeOptions {
  properties?: UnsubscribeProperties;
}

/** The topic argument of subscribe: a filter, filters, or a map of filter to options. */
export type SubscribeTopics = string | string[] | Record<string, SubscribeOptions | QoS>;

export interface Granted {
  topic: string;
  qos: number;
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
  properties?: SubscribeProperties;
}

export function checkQos(qos: unknown): QoS | MqttClientError {
  if (qos === 0 || qos === 1 || qos === 2) return qos;
  return invalidQos(qos);
}

/**
 * Subscription entries for `topics`, or the error to report. Options apply to every filter in
 * the string forms; in the object form each filter has its own.
 */
export function subscriptionsFor(
  topics: SubscribeTopics,
  opts: SubscribeOptions,
  version: number,
): SubscriptionInput[] | MqttClientError {
  const entries: [string, SubscribeOptions][] =
    typeof topics === 'string'
      ? [[topics, opts]]
      : Array.isArray(topics)
        ? topics.map((t) => [t, opts])
        : Object.entries(topics).map(([t, o]) => [
            t,
            typeof o === 'number' ? { ...opts, qos: o } : { ...opts, ...o },
          ]);
  const subs: SubscriptionInput[] = [];
  for (const [topic, o] of entries) {
    const problem = validateTopicFilter(topic);
    if (problem) return invalidTopic(String(topic), problem, true);
    const qos = checkQos(o.qos ?? 0);
    if (typeof qos !== 'number') return qos;
    const sub: SubscriptionInput = { topic, qos };
    if (version === 5) {
      if (o.nl === true && topic.startsWith('$share/')) {
        return invalidTopic(
          topic,
          { message: 'No Local on a Shared Subscription', spec: 'MQTT 5.0 §3.8.3.1 [MQTT-3.8.3-4]' },
          true,
        );
      }
      sub.nl = o.nl === true;
      sub.rap = o.rap === true;
      sub.rh = o.rh ?? 0;
    }
    subs.push(sub);
  }
  if (subs.length === 0)
    return invalidTopic('', { message: 'no topics given', spec: 'MQTT 5.0 §3.8.3 [MQTT-3.8.3-2]' }, true);
  return subs;
}

export function unsubscriptionsFor(topics: string | string[]): string[] | MqttClientError {
  const list = typeof topics === 'string' ? [topics] : topics;
  for (const t of list) {
    const problem = validateTopicFilter(t);
    if (problem) return invalidTopic(String(t), problem, true);
  }
  if (list.length === 0)
    return invalidTopic('', { message: 'no topics given', spec: 'MQTT 5.0 §3.10.3 [MQTT-3.10.3-2]' }, true);
  return list;
}

/** Splits `items` into batches of at most `size` (all in one when size is unset). */
export function batches<T>(items: T[], size: number | undefined): T[][] {
  if (!size || size <= 0 || items.length <= size) return [items];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
