/**
 * `for await (const msg of client.messages('sensors/+', { signal }))`: the messages matching a
 * filter as an async iterator. Subscribes when created (unless `subscribe: false`), unsubscribes
 * when the loop ends (`break`, `return`, the signal, or `client.end()`) and no other loop of this
 * client reads the same filter. Messages that arrive
 * while the loop body runs are buffered, without bound: a consumer slower than its publishers
 * should use `manualAck` and a small Receive Maximum so that the broker holds the backlog.
 */
import type { PublishPacket, QoS, SubscribeProperties } from '../generated/index.js';
import type { MqttClient } from './client.js';
import { aborted } from './errors.js';

export interface MessagesOptions {
  signal?: AbortSignal;
  qos?: QoS;
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
  properties?: SubscribeProperties;
  /** Subscribe and unsubscribe around the loop (default true); false only listens. */
  subscribe?: boolean;
}

export interface StreamMessage {
  topic: string;
  payload: Uint8Array;
  packet: PublishPacket;
  /** Under `manualAck`: acknowledges this message (see `client.ack`). */
  ack(reasonCode?: number): boolean;
}

export type MessageStream = AsyncIterableIterator<StreamMessage>;

/** Whether `topic` matches `filter` (MQTT 5.0 §4.7), `$share/{name}/` stripped from the filter. */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const f = plain.split('/');
  const t = topic.split('/');
  // Wildcards at the first level do not match topics beginning with $ [MQTT-4.7.2-1].
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Open iterators per client and filter: the last one to end unsubscribes. */
const openStreams = new WeakMap<MqttClient, Map<string, number>>();

function track(client: MqttClient, filter: string, delta: 1 | -1): number {
  const counts = openStreams.get(client) ?? new Map<string, number>();
  openStreams.set(client, counts);
  const n = (counts.get(filter) ?? 0) + delta;
  if (n === 0) counts.delete(filter);
  else counts.set(filter, n);
  return n;
}

export function messages(client: MqttClient, filter: string, options: MessagesOptions = {}): MessageStream {
  const buffered: StreamMessage[] = [];
  // next() calls made while nothing is buffered, settled in the order they were made.
  const waiters: { resolve: (r: IteratorResult<StreamMessage>) => void; reject: (e: Error) => void }[] = [];
  let done = false;
  let failure: Error | undefined;
  const subscribe = options.subscribe !== false;

  const onMessage = (topic: string, payload: Uint8Array, packet: PublishPacket) => {
    if (done || !topicMatches(filter, topic)) return;
    const msg: StreamMessage = { topic, payload, packet, ack: (code) => client.ack(packet, code) };
    const w = waiters.shift();
    if (w) w.resolve({ value: msg, done: false });
    else buffered.push(msg);
  };
  const finish = (error?: Error) => {
    if (done) return;
    done = true;
    failure = error;
    client.off('message', onMessage);
    client.off('end', onEnd);
    options.signal?.removeEventListener('abort', onAbort);
    if (subscribe && track(client, filter, -1) === 0 && !client.disconnecting && !client.disconnected) {
      client.unsubscribe(filter);
    }
    // Every pending next() settles as a later one would: done, or the error that ended the loop.
    for (const w of waiters.splice(0)) error ? w.reject(error) : w.resolve({ value: undefined, done: true });
  };
  const onEnd = () => finish();
  const onAbort = () => finish(aborted(options.signal?.reason));

  client.on('message', onMessage);
  client.on('end', onEnd);
  if (subscribe) track(client, filter, 1);
  if (options.signal?.aborted) finish(aborted(options.signal.reason));
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  // Only listening on a client that has ended (its 'end' is past) or is ending: the loop is over at
  // once. (With `subscribe`, the subscription fails with MQTT_ERR_CLIENT_ENDED instead.)
  if (!subscribe && (client.disconnected || client.disconnecting)) finish();
  if (subscribe && !done) {
    const { signal: _s, subscribe: _b, ...subOpts } = options;
    client.subscribe(filter, subOpts, (error) => error && finish(error));
  }

  const stream: MessageStream = {
    next() {
      const msg = buffered.shift();
      if (msg) return Promise.resolve({ value: msg, done: false });
      if (done) return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiters.push({ resolve, reject });
      });
    },
    return() {
      buffered.length = 0;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
