/**
 * The options `connect(url, options)` accepts (MQTT.js v5's `IClientOptions`, typed without
 * `any`) and the resolved form the client works from. Packet-level types here are the shapes the
 * user writes; the codec's own packet types are structurally compatible with them.
 */
import type { ConnectProperties, WillProperties } from '../generated/index.js';
import type { MessageIdProvider } from './message-id.js';
import type { BackoffOptions } from './reconnect/backoff.js';
import type { PacketWithId, StoreLike } from './store.js';
import type { TlsOptions } from './transport/types.js';

export type BaseProtocol =
  | 'mqtt'
  | 'tcp'
  | 'mqtts'
  | 'tls'
  | 'ssl'
  | 'ws'
  | 'wss'
  | 'wx'
  | 'wxs'
  | 'ali'
  | 'alis';
export type MqttProtocol = BaseProtocol | `${BaseProtocol}+unix`;
export type QoS = 0 | 1 | 2;
export type UserProperties = Record<string, string | string[]>;

export interface ServerOption {
  host: string;
  port: number;
  protocol?: BaseProtocol;
}

/** CONNECT and Will properties are the codec's own types (generated from schema/). */
export type { ConnectProperties, WillProperties };

export interface WillOptions {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  properties?: WillProperties;
}

/** An AUTH packet's settable fields (MQTT 5.0 §3.15). */
export interface AuthPacketOptions {
  reasonCode?: number;
  properties?: {
    authenticationMethod?: string;
    authenticationData?: Uint8Array;
    reasonString?: string;
    userProperties?: UserProperties;
  };
}

/** The PUBLISH a `customHandleAcks` handler is given. */
export interface IncomingPublish extends PacketWithId {
  readonly cmd: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  dup: boolean;
  retain: boolean;
}

/** Decides the PUBACK/PUBREC reason code for an incoming PUBLISH (MQTT 5 only). */
export type AckHandler = (
  topic: string,
  message: Uint8Array,
  packet: IncomingPublish,
  done: (error: Error | number | null, reasonCode?: number) => void,
) => void;

export type TimerVariant =
  | 'auto'
  | 'worker'
  | 'native'
  | { set: (fn: () => void, ms: number) => unknown; clear: (id: unknown) => void };

/**
 * What `beforeReconnect` may change for the next connection attempt: credentials, client id,
 * or where to connect. Fields left out keep their current value.
 */
export interface ConnectionUpdate {
  username?: string;
  password?: string | Uint8Array;
  clientId?: string;
  host?: string;
  port?: number;
  protocol?: BaseProtocol;
  /** WebSocket path (with query). */
  path?: string;
}

export interface ClientOptions extends TlsOptions {
  protocol?: MqttProtocol;
  host?: string;
  hostname?: string;
  port?: number;
  /** WebSocket path, or the unix socket path. */
  path?: string;
  /** Connect to the unix socket at `path` (also set by a `+unix` protocol). */
  unixSocket?: boolean;
  /** `'user:pass'` or `'user'`; overrides `username`/`password`. */
  auth?: string;
  query?: Record<string, string>;
  /** Tried in turn, one per connection attempt. */
  servers?: ServerOption[];

  keepalive?: number;
  reschedulePings?: boolean;
  clientId?: string;
  protocolId?: 'MQTT' | 'MQIsdp';
  protocolVersion?: 3 | 4 | 5;
  clean?: boolean;
  reconnectPeriod?: number;
  /** Exponential backoff with jitter for reconnects (off: every `reconnectPeriod` ms). */
  reconnectBackoff?: BackoffOptions;
  /**
   * Reconnect attempts in a row after which the client gives up: it emits an
   * `MQTT_ERR_RECONNECT_FAILED` error and ends. Unlimited when unset or 0.
   */
  maxReconnectAttempts?: number;
  /**
   * Called before every reconnect attempt, with the current connection settings; returns (or
   * resolves with) the ones to change, e.g. a fresh password or token. A throw or rejection is
   * emitted as an error and counts as a failed attempt.
   */
  beforeReconnect?: (
    current: Readonly<ConnectionUpdate>,
  ) => ConnectionUpdate | undefined | Promise<ConnectionUpdate | undefined>;
  /**
   * Most QoS 1/2 PUBLISH flows in flight at once (MQTT 5: also capped by the server's Receive
   * Maximum). MQTT 3.1.1 has no flow control: Mosquitto 2.0 acknowledges QoS 2 messages beyond
   * its `max_inflight_messages` (20 by default) and drops them, so set this to match the broker.
   * Unlimited by default, as in MQTT.js.
   */
  maxInflight?: number;
  /** Most messages queued while disconnected; a publish beyond it fails with MQTT_ERR_QUEUE_FULL. */
  maxQueuedMessages?: number;
  /**
   * MQTT 5: on a CONNACK or DISCONNECT with Use another server (0x9C) or Server moved (0x9D) and
   * a Server Reference, connect to that server next, at once (default false; `redirect` is
   * emitted either way). 0x9C is temporary: that one attempt, then the configured server(s)
   * again. 0x9D is for good: every later connection goes there.
   */
  followRedirects?: boolean;
  reconnectOnConnackError?: boolean;
  connectTimeout?: number;
  username?: string;
  password?: string | Uint8Array;
  will?: WillOptions;
  properties?: ConnectProperties;
  authPacket?: AuthPacketOptions;
  incomingStore?: StoreLike;
  outgoingStore?: StoreLike;
  queueQoSZero?: boolean;
  customHandleAcks?: AckHandler;
  /** MQTT 5: send a topic the application registered with an alias as the alias alone. */
  autoUseTopicAlias?: boolean;
  /** MQTT 5: give topics aliases, reusing the least recently used once the server's maximum is taken. */
  autoAssignTopicAlias?: boolean;
  /**
   * Acknowledge each QoS 1/2 message with `client.ack(packet, reasonCode?)` after processing it,
   * instead of on delivery. QoS 2 messages are then delivered on PUBLISH (not PUBREL) and `ack`
   * sends the PUBREC. Acknowledgements go out in arrival order.
   */
  manualAck?: boolean;
  resubscribe?: boolean;
  subscribeBatchSize?: number;
  messageIdProvider?: MessageIdProvider;
  log?: (...args: unknown[]) => void;
  manualConnect?: boolean;
  timerVariant?: TimerVariant;
  writeCache?: boolean;

  /**
   * Node TCP/TLS: when small reads follow each other within this many milliseconds, wait that
   * long before reading again, so the kernel gathers what arrives into one read (default 1; 0
   * reads every packet as it comes). Idle or lightly loaded clients are never delayed; under load
   * a packet waits at most this long, and the client spends far less CPU per message.
   */
  batchReadsMs?: number;
  /**
   * Node TCP/TLS: connect through this SOCKS proxy, e.g. `socks5://user:pass@127.0.0.1:1080`
   * (`socks5`, `socks5h`, `socks4`, `socks4a`; with `h`/`a` the proxy resolves the broker's
   * name). Unset, the `MQTTJS_SOCKS_PROXY` environment variable is used, as in MQTT.js; `''`
   * connects directly.
   */
  socksProxy?: string;
  /** Milliseconds for the proxy to open the tunnel (default 30000; 0: no limit of its own). */
  socksTimeout?: number;
  wsOptions?: Record<string, unknown>;
  /** `client` is the client instance. */
  transformWsUrl?: (url: string, options: ResolvedOptions, client: unknown) => string;
  createWebsocket?: (url: string, subprotocols: string[], options: ResolvedOptions) => unknown;
  forceNativeWebSocket?: boolean;
  browserBufferSize?: number;
  browserBufferTimeout?: number;
  objectMode?: boolean;
  binary?: boolean;
  /** Alipay mini-program: the `my` global. */
  my?: unknown;
}

/** Options after `resolveOptions`: defaults applied, URL merged in. Treat as immutable. */
export type ResolvedOptions = Readonly<
  Omit<ClientOptions, 'protocol' | 'servers' | 'query' | 'auth' | keyof RequiredResolved>
> &
  Readonly<RequiredResolved> & {
    readonly servers?: ReadonlyArray<Readonly<ServerOption>>;
    readonly query: Readonly<Record<string, string>>;
  };

interface RequiredResolved {
  /** Without `+unix`; `unixSocket` says whether it was there. */
  protocol: BaseProtocol;
  /** The protocol for `servers` entries that name none. */
  defaultProtocol: BaseProtocol;
  host: string;
  hostname: string;
  port: number;
  unixSocket: boolean;
  keepalive: number;
  reschedulePings: boolean;
  clientId: string;
  protocolId: 'MQTT' | 'MQIsdp';
  protocolVersion: 3 | 4 | 5;
  clean: boolean;
  reconnectPeriod: number;
  reconnectOnConnackError: boolean;
  connectTimeout: number;
  queueQoSZero: boolean;
  batchReadsMs: number;
  resubscribe: boolean;
  manualConnect: boolean;
  customHandleAcks: AckHandler;
  /** The TLS options picked out of the user's options, for secure transports. */
  tls: Readonly<TlsOptions>;
}
