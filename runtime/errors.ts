/**
 * Every error the client raises. The codec's types live in `./wire/errors.ts` and are
 * re-exported here, so users import one module; the client adds `MqttClientError` with its own
 * stable codes. Transport errors (`ECONNREFUSED`, `ENOTFOUND`, TLS errors) are passed through
 * untouched so that `err.code` stays what Node reports.
 *
 * MQTT.js sets a numeric `err.code` on refused CONNACKs; here `code` is always the string below and
 * the number is on `returnCode` / `reasonCode`.
 */
import { MqttError } from './wire/errors.js';

export type { MqttErrorDetails } from './wire/errors.js';
export { CodecReason, isMqttError, MqttDecodeError, MqttEncodeError, MqttError } from './wire/errors.js';

export const ClientErrorCode = {
  /** The connection closed while an operation was waiting on it. */
  ConnectionClosed: 'MQTT_ERR_CONNECTION_CLOSED',
  /** The operation was started after, or cut short by, `client.end()`. */
  ClientEnded: 'MQTT_ERR_CLIENT_ENDED',
  /** No CONNACK arrived within `connectTimeout`. */
  ConnectTimeout: 'MQTT_ERR_CONNECT_TIMEOUT',
  /** The server answered CONNECT with a non-zero return / reason code. */
  ConnackRefused: 'MQTT_ERR_CONNACK_REFUSED',
  /** The server sent DISCONNECT (MQTT 5). */
  ServerDisconnect: 'MQTT_ERR_SERVER_DISCONNECT',
  InvalidTopic: 'MQTT_ERR_INVALID_TOPIC',
  InvalidQos: 'MQTT_ERR_INVALID_QOS',
  /** A packet is larger than the Maximum Packet Size the server announced. */
  PacketTooLarge: 'MQTT_ERR_PACKET_TOO_LARGE',
  /** No packet identifier: all 65535 are in use, or a packet to store has none. */
  NoMessageId: 'MQTT_ERR_NO_MESSAGE_ID',
  /** No PINGRESP (or any packet) arrived within the keep alive period. */
  KeepaliveTimeout: 'MQTT_ERR_KEEPALIVE_TIMEOUT',
  /** `maxReconnectAttempts` reconnects failed in a row; the client ends. */
  ReconnectFailed: 'MQTT_ERR_RECONNECT_FAILED',
  /** The offline queue reached its limit. */
  QueueFull: 'MQTT_ERR_QUEUE_FULL',
  /** `connect(url, options)` was given something it cannot use. */
  InvalidOptions: 'MQTT_ERR_INVALID_OPTIONS',
  /** No transport is registered for the protocol (nor a fallback). */
  UnknownProtocol: 'MQTT_ERR_UNKNOWN_PROTOCOL',
  /** The server answered a PUBLISH, SUBSCRIBE or UNSUBSCRIBE with a failure reason code (MQTT 5). */
  AckFailed: 'MQTT_ERR_ACK_FAILED',
  /** The server broke the protocol (a second CONNACK, an unknown Topic Alias, a malformed packet…). */
  ProtocolViolation: 'MQTT_ERR_PROTOCOL_VIOLATION',
  /** The message was removed with removeOutgoingMessage(). */
  MessageRemoved: 'MQTT_ERR_MESSAGE_REMOVED',
  /** `store.get`/`store.del` found no packet with that message id. */
  StoreMissingPacket: 'MQTT_ERR_STORE_MISSING_PACKET',
  /** A FileStore's log holds bytes that are not records (not a torn last write). */
  StoreCorrupt: 'MQTT_ERR_STORE_CORRUPT',
  /** A FileStore's log is in use by another live FileStore, in this process or another. */
  StoreLocked: 'MQTT_ERR_STORE_LOCKED',
  /**
   * A WebSocket or mini-program socket failed without a platform error to pass on (the browser's
   * `error` event carries none), or the server sent a text frame [MQTT-6.0.0-1].
   */
  WebSocket: 'MQTT_ERR_WEBSOCKET',
  /** A Topic Alias the server did not allow, or one that names no topic (MQTT 5). */
  TopicAliasInvalid: 'MQTT_ERR_TOPIC_ALIAS_INVALID',
  /** A PUBLISH above the server's Maximum QoS (MQTT 5 CONNACK). */
  QosNotSupported: 'MQTT_ERR_QOS_NOT_SUPPORTED',
  /** A retained PUBLISH to a server without Retain Available (MQTT 5 CONNACK). */
  RetainNotSupported: 'MQTT_ERR_RETAIN_NOT_SUPPORTED',
  /** A wildcard filter to a server without Wildcard Subscription Available (MQTT 5 CONNACK). */
  WildcardNotSupported: 'MQTT_ERR_WILDCARD_NOT_SUPPORTED',
  /** A `$share/` filter to a server without Shared Subscription Available (MQTT 5 CONNACK). */
  SharedNotSupported: 'MQTT_ERR_SHARED_NOT_SUPPORTED',
  /** A Subscription Identifier to a server without Subscription Identifiers Available. */
  SubscriptionIdNotSupported: 'MQTT_ERR_SUBSCRIPTION_ID_NOT_SUPPORTED',
  /** The server sent more QoS 1/2 PUBLISHes at once than our Receive Maximum (MQTT 5). */
  ReceiveMaximumExceeded: 'MQTT_ERR_RECEIVE_MAXIMUM_EXCEEDED',
  /** Enhanced authentication failed: `handleAuth` refused, or the exchange was broken (MQTT 5). */
  AuthFailed: 'MQTT_ERR_AUTH_FAILED',
  /** The AbortSignal given to the operation fired. */
  Aborted: 'MQTT_ERR_ABORTED',
  /** `client.request()` got no response within its timeout. */
  RequestTimeout: 'MQTT_ERR_REQUEST_TIMEOUT',
  /** The SOCKS proxy (`socksProxy`) refused the tunnel or broke its protocol. */
  Socks: 'MQTT_ERR_SOCKS',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** MQTT 5 reason codes the client-side conditions map to (MQTT 5.0 §2.4). */
const Reason = {
  KeepAliveTimeout: 0x8d,
  TopicNameInvalid: 0x90,
  TopicFilterInvalid: 0x8f,
  PacketIdentifierInUse: 0x91,
  PacketTooLarge: 0x95,
} as const;

export interface ClientErrorDetails {
  reasonCode?: number;
  spec?: string;
  cause?: unknown;
}

export class MqttClientError extends MqttError {
  declare readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, details: ClientErrorDetails = {}) {
    super(message, { code, ...details });
    this.name = 'MqttClientError';
  }
}

/**
 * A CONNACK that refused the connection. `returnCode` is the byte the server sent (MQTT 3.1/3.1.1
 * return code, or MQTT 5 reason code); `reasonCode` is always the MQTT 5 reason code, mapped from
 * the 3.1.1 return code when the session is not MQTT 5.
 */
export class MqttConnackError extends MqttClientError {
  readonly returnCode: number;
  readonly reasonName: string;
  readonly protocolVersion: number;

  constructor(protocolVersion: number, returnCode: number, reasonName: string) {
    const reasonCode = protocolVersion === 5 ? returnCode : connackReturnCodeToReason(returnCode);
    super(ClientErrorCode.ConnackRefused, `Connection refused: ${reasonName}`, { reasonCode });
    this.name = 'MqttConnackError';
    this.returnCode = returnCode;
    this.reasonName = reasonName;
    this.protocolVersion = protocolVersion;
  }
}

/** MQTT 3.1.1 CONNACK return codes 1-5 (§3.2.2.3) and their MQTT 5 equivalents (§3.2.2.2). */
const connackV4ToV5: Readonly<Record<number, number>> = {
  1: 0x84, // unacceptable protocol version -> Unsupported Protocol Version
  2: 0x85, // identifier rejected -> Client Identifier not valid
  3: 0x88, // server unavailable -> Server unavailable
  4: 0x86, // bad user name or password -> Bad User Name or Password
  5: 0x87, // not authorized -> Not authorized
};

export function connackReturnCodeToReason(returnCode: number): number {
  return connackV4ToV5[returnCode] ?? 0x80; // 0x80 Unspecified error
}

/** The server sent DISCONNECT; `reasonCode` is the one it sent. */
export function serverDisconnect(
  reasonCode: number,
  reasonName: string,
  reasonString?: string,
): MqttClientError {
  const detail = reasonString ? `: ${reasonString}` : '';
  return new MqttClientError(
    ClientErrorCode.ServerDisconnect,
    `Disconnected by server: ${reasonName}${detail}`,
    { reasonCode },
  );
}

export function connectionClosed(): MqttClientError {
  return new MqttClientError(ClientErrorCode.ConnectionClosed, 'Connection closed');
}

export function clientEnded(): MqttClientError {
  return new MqttClientError(ClientErrorCode.ClientEnded, 'client disconnecting');
}

export function connectTimeout(): MqttClientError {
  return new MqttClientError(ClientErrorCode.ConnectTimeout, 'connack timeout');
}

export function keepaliveTimeout(): MqttClientError {
  return new MqttClientError(ClientErrorCode.KeepaliveTimeout, 'Keepalive timeout', {
    reasonCode: Reason.KeepAliveTimeout,
  });
}

/** `problem` is what `validateTopicName`/`validateTopicFilter` returned. */
export function invalidTopic(
  topic: string,
  problem: { message: string; spec: string },
  isFilter: boolean,
): MqttClientError {
  return new MqttClientError(ClientErrorCode.InvalidTopic, `Invalid topic ${topic}: ${problem.message}`, {
    reasonCode: isFilter ? Reason.TopicFilterInvalid : Reason.TopicNameInvalid,
    spec: problem.spec,
  });
}

export function invalidQos(qos: unknown): MqttClientError {
  return new MqttClientError(ClientErrorCode.InvalidQos, `Invalid QoS ${String(qos)}: must be 0, 1 or 2`, {
    spec: 'MQTT 5.0 §3.3.1.2 [MQTT-3.3.1-4]',
  });
}

export function packetTooLarge(cmd: string, size: number, maximum: number): MqttClientError {
  return new MqttClientError(
    ClientErrorCode.PacketTooLarge,
    `exceeding packets size ${cmd}: ${size} bytes, maximumPacketSize is ${maximum}`,
    { reasonCode: Reason.PacketTooLarge, spec: 'MQTT 5.0 §3.2.2.3.6 [MQTT-3.2.2-15]' },
  );
}

export function noMessageId(): MqttClientError {
  return new MqttClientError(ClientErrorCode.NoMessageId, 'No free message id: all 65535 are in use', {
    reasonCode: Reason.PacketIdentifierInUse,
  });
}

export function reconnectFailed(attempts: number, cause?: unknown): MqttClientError {
  return new MqttClientError(
    ClientErrorCode.ReconnectFailed,
    `Gave up after ${attempts} reconnect attempts`,
    { cause },
  );
}

export function queueFull(limit: number): MqttClientError {
  return new MqttClientError(ClientErrorCode.QueueFull, `Offline queue is full (${limit} packets)`);
}

export function invalidOptions(message: string, cause?: unknown): MqttClientError {
  return new MqttClientError(ClientErrorCode.InvalidOptions, message, { cause });
}

export function unknownProtocol(protocol: string): MqttClientError {
  return new MqttClientError(ClientErrorCode.UnknownProtocol, `No transport for protocol "${protocol}"`);
}

export function storeMissingPacket(messageId: number | undefined): MqttClientError {
  return new MqttClientError(ClientErrorCode.StoreMissingPacket, `missing packet ${String(messageId)}`);
}

/** `cause` is the platform's event or message, when there is one. */
export function webSocketError(message: string, cause?: unknown): MqttClientError {
  return new MqttClientError(ClientErrorCode.WebSocket, message, { cause });
}

/** The server's CONNACK rules this out (MQTT 5): `reasonCode` is what the server would answer. */
export function notSupported(
  code: ClientErrorCode,
  message: string,
  reasonCode: number,
  spec: string,
): MqttClientError {
  return new MqttClientError(code, message, { reasonCode, spec });
}

/** The operation's AbortSignal fired; `cause` is the signal's reason. */
export function aborted(cause: unknown): MqttClientError {
  return new MqttClientError(ClientErrorCode.Aborted, 'Operation aborted', { cause });
}

/** The server broke the protocol; `reasonCode` is the DISCONNECT the client sends. */
export function protocolViolation(message: string, reasonCode: number, spec?: string): MqttClientError {
  return new MqttClientError(ClientErrorCode.ProtocolViolation, `Protocol error: ${message}`, {
    reasonCode,
    ...(spec ? { spec } : {}),
  });
}
