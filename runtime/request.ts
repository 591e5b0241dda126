/**
 * Request / response on MQTT 5 (§4.10): `request()` publishes with a Response Topic and
 * Correlation Data and resolves with the first message on that topic carrying the same
 * Correlation Data; `respond()` answers a request. One response subscription per client,
 * made on the first request and kept (restored after reconnects like any other):
 *
 *   <responseInformation or "mqttforge/response">/<clientId>-<random>
 */
import type { Packet, PublishPacket } from '../generated/index.js';
import type { MqttClient } from './client.js';
import { ClientErrorCode, clientEnded, invalidOptions, MqttClientError } from './errors.js';
import type { PublishOptions } from './session/args.js';
import { type AbortableOptions, withSignal } from './signal.js';
import { timers } from './timers.js';

export interface RequestOptions extends PublishOptions, AbortableOptions {
  /** Milliseconds to wait for the response (default 30000). */
  timeout?: number;
}

export interface ResponseMessage {
  topic: string;
  payload: Uint8Array;
  packet: PublishPacket;
}

interface Waiter {
  resolve: (m: ResponseMessage) => void;
}

interface Router {
  topic: string;
  ready: Promise<unknown>;
  waiters: Map<string, Waiter>;
}

const routers = new WeakMap<MqttClient, Router>();

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function routerFor(client: MqttClient): Router {
  let router = routers.get(client);
  if (router) return router;
  const base = client.serverProperties?.responseInformation || 'mqttforge/response';
  const topic = `${base}/${client.options.clientId}-${hex(globalThis.crypto.getRandomValues(new Uint8Array(4)))}`;
  const waiters = new Map<string, Waiter>();
  client.on('message', (t, payload, packet) => {
    if (t !== topic) return;
    const key = packet.properties?.correlationData;
    const waiter = key && waiters.get(hex(key));
    if (!waiter) return;
    waiters.delete(hex(key));
    waiter.resolve({ topic: t, payload, packet });
  });
  const ready = client.subscribeAsync(topic, { qos: 1 });
  // A failed subscription is reported by each request; the router is built again next time.
  ready.catch(() => routers.delete(client));
  router = { topic, ready, waiters };
  routers.set(client, router);
  return router;
}

export function request(
  client: MqttClient,
  topic: string,
  payload: string | Uint8Array,
  options: RequestOptions = {},
): Promise<ResponseMessage> {
  if (client.protocolVersion !== 5) {
    return Promise.reject(invalidOptions('request() needs MQTT 5 (protocolVersion: 5)'));
  }
  const router = routerFor(client);
  const correlation = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const key = hex(correlation);
  const { timeout = 30_000, signal, ...publish } = options;
  return withSignal<ResponseMessage>(signal, (resolve, reject) => {
    const cleanup = () => {
      timers.clearTimeout(timer);
      router.waiters.delete(key);
      client.off('end', onEnd);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    // Ended while waiting for the response (the publish itself fails with the outgoing queue).
    const onEnd = () => fail(clientEnded());
    const timer = timers.setTimeout(
      () =>
        fail(
          new MqttClientError(
            ClientErrorCode.RequestTimeout,
            `No response on ${router.topic} within ${timeout} ms`,
          ),
        ),
      timeout,
    );
    router.waiters.set(key, {
      resolve: (m) => {
        cleanup();
        resolve(m);
      },
    });
    client.on('end', onEnd);
    router.ready.then(
      () =>
        client
          .publishAsync(topic, payload, {
            qos: 1,
            ...publish,
            properties: { ...publish.properties, responseTopic: router.topic, correlationData: correlation },
          })
          .catch(fail),
      fail,
    );
    return cleanup;
  });
}

export function respond(
  client: MqttClient,
  requestPacket: PublishPacket,
  payload: string | Uint8Array,
  opts: PublishOptions = {},
): Promise<Packet | undefined> {
  const responseTopic = requestPacket.properties?.responseTopic;
  if (!responseTopic) return Promise.reject(invalidOptions('respond(): the request has no Response Topic'));
  const correlationData = requestPacket.properties?.correlationData;
  return client.publishAsync(responseTopic, payload, {
    qos: 1,
    ...opts,
    properties: { ...opts.properties, ...(correlationData ? { correlationData } : {}) },
  });
}
