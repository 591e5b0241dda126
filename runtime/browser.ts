/**
 * The `mqttforge` entry point for browsers and mini-programs: the API of `index.ts`, with the
 * browser's WebSocket and the WeChat and Alipay sockets instead of the Node transports. Bundled
 * by `npm run build:browser` into dist/mqttforge.esm.js and dist/mqttforge.min.js (global `mqtt`).
 * Keep the exports in step with index.ts, but for what needs Node (`FileStore`): the test in
 * test/browser/bundle.test.ts compares them.
 */
import { MqttClient } from './client.js';
import { connect, connectAsync } from './connect.js';
import { DefaultMessageIdProvider, UniqueMessageIdProvider } from './message-id.js';
import { Store } from './store.js';
import { registerBrowserTransports } from './transport/browser.js';

registerBrowserTransports();

export type {
  ClientEvents,
  EndCallback,
  EndOptions,
  PublishCallback,
  SubscribeCallback,
  UnsubscribeCallback,
} from './client.js';
export type { ClientOptions, ResolvedOptions } from './options.js';
export * from './public-errors.js';
export type { Granted, PublishOptions, SubscribeOptions, UnsubscribeOptions } from './session/args.js';
export type { StoreLike } from './store.js';
export { connect, connectAsync, DefaultMessageIdProvider, MqttClient, Store, UniqueMessageIdProvider };

const mqtt = { connect, connectAsync, MqttClient, Store, DefaultMessageIdProvider, UniqueMessageIdProvider };
export default mqtt;
