/** Shared set-up for the MQTT 5 tests: clients that end themselves, brokers, and waiting for events. */
import { after, before } from 'node:test';
import type { PublishPacket, PublishPacketInput } from '../../generated/index.js';
import { connect, type MqttClient } from '../../runtime/index.js';
import type { ClientOptions } from '../../runtime/options.js';
import { type Scene, type SceneOptions, scene, type Teardown } from '../client/support.js';
import { type Mosquitto, type MosquittoOptions, startMosquitto } from '../helpers/mosquitto.js';

/** What the MQTT 5 tests' clients are: MQTT 5, no reconnects unless asked, a short connect timeout. */
const defaults5 = { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000 } as const;

const open = new Set<MqttClient>();

/** An MQTT 5 client that does not reconnect unless asked; `endAll()` ends it. */
export function client5(url: string, options: ClientOptions = {}): MqttClient {
  const client = connect(url, { ...defaults5, ...options });
  open.add(client);
  return client;
}

/**
 * `scene` (a scripted broker and a client connected to it, both gone when the test ends) with
 * client5's options. The client's errors are not collected: one the test does not wait for fails it.
 */
export function scene5(
  t: Teardown,
  options: ClientOptions = {},
  sceneOptions: SceneOptions = {},
): Promise<Scene> {
  return scene(t, { ...defaults5, ...options }, { collectErrors: false, ...sceneOptions });
}

/** client5, resolved on the first `connect` event. */
export async function connected(url: string, options: ClientOptions = {}): Promise<MqttClient> {
  const client = client5(url, options);
  await once(client, 'connect');
  return client;
}

export async function endAll(): Promise<void> {
  const clients = [...open];
  open.clear();
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
}

/** The Mosquitto of a describe block, running while its tests do. */
export interface UsedMosquitto {
  /** Its `mqtt://` URL; read it inside a test, once the broker has started. */
  readonly url: string;
}

/**
 * Called in a describe block: a Mosquitto started before its tests and, after them, the clients
 * of client5()/connected() ended and the broker stopped.
 *
 *   describe('retained messages', () => {
 *     const broker = useMosquitto({ extraConfig: 'max_qos 1' });
 *     test('...', async () => { const client = await connected(broker.url); ... });
 *   });
 */
export function useMosquitto(options: MosquittoOptions = {}): UsedMosquitto {
  let running: Mosquitto | undefined;
  before(async () => {
    running = await startMosquitto(options);
  });
  after(async () => {
    await endAll();
    await running?.stop();
  });
  return {
    get url() {
      if (!running) throw new Error('useMosquitto: the broker runs only while its describe block does');
      return running.url;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: event arguments differ per event.
export function once(client: MqttClient, event: string, timeoutMs = 3000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event in ${timeoutMs} ms`)), timeoutMs);
    client.once(event as 'connect', (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** The next `error` event's error. */
export async function nextError(
  client: MqttClient,
  timeoutMs = 3000,
): Promise<Error & { code?: string; reasonCode?: number }> {
  return (await once(client, 'error', timeoutMs))[0];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
/** A topic no other test uses. */
export function uniqueTopic(prefix = 't'): string {
  return `mqttforge-test/${prefix}/${process.pid}-${++counter}`;
}

/** The PUBLISH that answers `request`: to its Response Topic, with its Correlation Data. */
export function responseTo(request: PublishPacket, payload: string): PublishPacketInput {
  return {
    cmd: 'publish',
    topic: request.properties!.responseTopic!,
    payload,
    qos: 0,
    properties: { correlationData: request.properties!.correlationData! },
  };
}
