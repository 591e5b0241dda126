/** The `mqttforge` entry point (Node): MQTT.js's API on the generated codec. */
import { MqttClient } from './client.js';
import { connect, connectAsync } from './connect.js';
import { DefaultMessageIdProvider, UniqueMessageIdProvider } from './message-id.js';
import { FileStore, fileStores } from './store/file-store.js';
import { Store } from './store.js';
import { registerNodeTransports } from './transport/node.js';

registerNodeTransports();

export type {
  AuthCallback,
  ClientEvents,
  EndCallback,
  EndOptions,
  PublishCallback,
  SubscribeCallback,
  UnsubscribeCallback,
} from './client.js';
export type { MessageStream, MessagesOptions, StreamMessage } from './messages.js';
export type { ClientOptions, ConnectionUpdate, ResolvedOptions } from './options.js';
export * from './public-errors.js';
export type { BackoffOptions } from './reconnect/backoff.js';
export type { RequestOptions, ResponseMessage } from './request.js';
export type { Granted, PublishOptions, SubscribeOptions, UnsubscribeOptions } from './session/args.js';
export type { AbortableOptions } from './signal.js';
export type { FileStoreOptions } from './store/file-store.js';
export type { StoreLike } from './store.js';
export {
  connect,
  connectAsync,
  DefaultMessageIdProvider,
  FileStore,
  fileStores,
  MqttClient,
  Store,
  UniqueMessageIdProvider,
};

const mqtt = { connect, connectAsync, MqttClient, Store, DefaultMessageIdProvider, UniqueMessageIdProvider };
export default mqtt;
