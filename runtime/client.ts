/**
 * MqttClient: MQTT.js's client API on the generated codec. This is the one orchestrator: it owns
 * the connection and the timers and does the I/O; the session modules (outgoing, keepalive,
 * args) hold state and decide. Events, options and callbacks follow MQTT.js v5.
 */
import {
  type AuthPacket,
  type AuthPacketInput,
  ClientDecoder,
  type ConnackPacket,
  type ConnectPacketInput,
  connackReturnCodeNames,
  type DisconnectPacket,
  type DisconnectProperties,
  encodeFromClient,
  encodePublishParts,
  type Packet,
  type PacketInput,
  type PubackPacket,
  type PubcompPacket,
  type PublishPacket,
  type PublishPacketInput,
  type PubrecPacket,
  type QoS,
  reasonCodeName,
  type SubackPacket,
  type UnsubackPacket,
} from '../generated/index.js';
import { TypedEmitter } from './emitter.js';
import {
  clientEnded,
  connectionClosed,
  connectTimeout,
  invalidOptions,
  invalidTopic,
  isMqttError,
  keepaliveTimeout,
  MqttClientError,
  MqttConnackError,
  noMessageId,
  protocolViolation,
  queueFull,
  reconnectFailed,
  serverDisconnect,
} from './errors.js';
import { createLog } from './log.js';
import { DefaultMessageIdProvider, type MessageIdProvider } from './message-id.js';
import { type MessageStream, type MessagesOptions, messages } from './messages.js';
import type { AuthPacketOptions, ClientOptions, ConnectionUpdate, ResolvedOptions } from './options.js';
import { resolveOptions, transportOptionsFor } from './options.js';
import { reconnectDelay } from './reconnect/backoff.js';
import { parseServerReference, type ServerTarget, withoutTarget } from './reconnect/server-reference.js';
import { type RequestOptions, type ResponseMessage, request, respond } from './request.js';
import {
  batches,
  checkQos,
  type Granted,
  type PublishOptions,
  type SubscribeOptions,
  type SubscribeTopics,
  subscriptionsFor,
  type UnsubscribeOptions,
  unsubscriptionsFor,
} from './session/args.js';
import { AuthState } from './session/auth.js';
import { type AckSlot, Incoming } from './session/incoming.js';
import { Keepalive, type KeepaliveEvents } from './session/keepalive.js';
import { type Encoded, type Operation, type OperationCallback, Outgoing } from './session/outgoing.js';
import { restoredOperations } from './session/restore.js';
import { checkPublish, checkSubscribe } from './session/server-limits.js';
import { TopicAliasRecv } from './session/topic-alias-recv.js';
import { TopicAliasSend } from './session/topic-alias-send.js';
import { type AbortableOptions, withSignal } from './signal.js';
import { type PacketWithId, Store, type StoreLike } from './store.js';
import { type TimerHandle, timers } from './timers.js';
import { validateTopicName } from './topic.js';
import { transports } from './transport/registry.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './transport/types.js';

const log = createLog('mqttforge:client');

/** A Topic Alias Maximum of 0 takes no alias and so never changes: connections without aliases share these. */
const NO_ALIASES_IN = new TopicAliasRecv(0);
const NO_ALIASES_OUT = new TopicAliasSend(0);
/** No subscriptions to renew; never written to (a client swaps in a Map of its own first). */
const NO_TOPICS = new Map<string, Granted>();
const NO_OVERRIDES: ConnectionUpdate = Object.freeze({});
/**
 * The empty list of every client that has nothing waiting: frozen, so a push that forgot to
 * give the client a list of its own first throws instead of reaching other clients.
 */
const NONE = Object.freeze([]) as never[];

export type PublishCallback = (error?: Error, packet?: Packet) => void;
export type SubscribeCallback = (error: Error | null, granted?: Granted[], packet?: SubackPacket) => void;
export type UnsubscribeCallback = (error?: Error, packet?: UnsubackPacket) => void;
export type EndCallback = (error?: Error) => void;
/** The answer `handleAuth` gives to a server AUTH: the AUTH to send back (MQTT 5). */
export type AuthCallback = (error?: Error | null, response?: AuthPacketOptions) => void;

/** A QoS 1/2 message awaiting `client.ack()` under `manualAck`. */
interface PendingAck {
  packet: PublishPacket;
  slot: AckSlot;
  acked: boolean;
  reasonCode: number;
}

export interface EndOptions {
  reasonCode?: number;
  properties?: DisconnectProperties;
}

/** Payloads at least this large are written as they are, after the head, rather than copied. */
const SPLIT_PAYLOAD_BYTES = 2048;

/**
 * Packets waiting for handleMessage past which the client stops reading. Not at the first: a
 * handler that takes a while must not keep a dropped connection or a PINGRESP from being read.
 */
const BACKLOG_PAUSE = 1000;

/** Events, with MQTT.js's names and arguments. */
export type ClientEvents = {
  connect: (connack: ConnackPacket) => void;
  reconnect: () => void;
  close: () => void;
  disconnect: (packet: DisconnectPacket) => void;
  offline: () => void;
  error: (error: Error) => void;
  end: () => void;
  message: (topic: string, payload: Uint8Array, packet: PublishPacket) => void;
  packetsend: (packet: PacketInput) => void;
  packetreceive: (packet: Packet) => void;
  outgoingEmpty: () => void;
  /** MQTT 5: the server pointed elsewhere (reason 0x9C / 0x9D with a Server Reference). */
  redirect: (serverReference: string, reasonCode: number) => void;
};

type Payload = string | Uint8Array;

export class MqttClient extends TypedEmitter<ClientEvents> {
  readonly options: ResolvedOptions;
  connected = false;
  reconnecting = false;
  disconnecting = false;
  disconnected = false;
  /** The CONNACK properties of the current connection (MQTT 5). */
  serverProperties: ConnackPacket['properties'];
  readonly incomingStore: StoreLike;
  readonly outgoingStore: StoreLike;
  messageIdProvider: MessageIdProvider;

  private readonly outgoing_ = new Outgoing();
  private connection_: Connection | undefined;
  private decoder_: ClientDecoder | undefined;
  /** Increases with every connection attempt; handlers of older ones ignore their events. */
  private generation_ = 0;
  private attempt_ = 0;
  /** The events of the latest connection attempt. */
  private handlers_: InstanceType<typeof MqttClient.Attempt_> | undefined;
  /** Reconnects scheduled since the last accepted CONNACK. */
  private reconnectAttempts_ = 0;
  /** What `beforeReconnect` or a server redirect changed for later connections. */
  /** Replaced, never changed in place: NO_OVERRIDES is shared. */
  private overrides_: ConnectionUpdate = NO_OVERRIDES;
  private redirectPending_ = false;
  /** A 0x9C Server Reference: the next connection attempt only (MQTT 5.0 §4.11). */
  private redirectOnce_: ServerTarget | undefined;
  /** The current connection follows a 0x9C redirect and holds no place in the `servers` rotation. */
  private redirected_ = false;
  /** The attempt whose asynchronous `beforeReconnect` is running: no other starts meanwhile. */
  private hookRunning_: object | undefined;
  /** The unfinished flows of a persistent outgoing store are being read back. */
  private restoring_ = false;
  /** Calls that take message ids, made while `restoring`: run in order once the stored ids are known. */
  private afterRestore_: (() => void)[] = NONE;
  private connackReceived_ = false;
  private connackTimer_: TimerHandle | undefined;
  private reconnectTimer_: TimerHandle | undefined;
  private reconnectSuppressed_ = false;
  private pinger_: Keepalive | undefined;
  private corked_ = false;
  /** A write found the connection's buffer full: queued operations wait for its `drain`. */
  private awaitingDrain_ = false;
  private afterFlush_: (() => void)[] = NONE;
  /** Subscriptions the server granted, restored after a reconnect without a session. */
  /** NO_TOPICS (shared, never written to) until the first subscription is granted. */
  private resubscribeTopics_ = NO_TOPICS;
  /** Incoming packets wait here while handleMessage has not called back. */
  private backlog_: Packet[] = NONE;
  /** Reading stopped because the backlog grew (handleMessage backpressure). */
  private readsPaused_ = false;
  private blocked_ = false;
  /** Topic aliases the server set (MQTT 5 §3.3.2.3.4). */
  private aliasesIn_ = NO_ALIASES_IN;
  /** Topic aliases we set, within the server's Topic Alias Maximum. */
  private aliasesOut_ = NO_ALIASES_OUT;
  /** PUBLISHes whose application gave an empty topic and an alias: sent as the alias alone when possible. */
  private aliasOnly_: WeakSet<PublishPacketInput> | undefined;
  /** Our Receive Maximum window and the order of our acknowledgements. */
  private incoming_ = new Incoming(65_535);
  private auth_ = new AuthState(undefined);
  private reauthWaiters_: { resolve: (p: AuthPacket) => void; reject: (e: Error) => void }[] = NONE;
  /** manualAck: delivered QoS 1/2 messages by packet id, until their flow ends. */
  private pendingAcks_: Map<number, PendingAck> | undefined;
  /**
   * QoS 2 messages being read from the incoming store on PUBREL, or delivered and not yet
   * completed: `done` once out of the store, `answer` the connection (generation) whose PUBREL
   * the PUBCOMP answers.
   */
  private completing_: Map<number, { done: boolean; answer: number }> | undefined;
  /** Ids given up with removeOutgoingMessage: a late ack for one is not a protocol error. */
  private removedIds_: Set<number> | undefined;
  private endWaiters_: (() => void)[] = NONE;
  /** The Client Identifier the server assigned (MQTT 5), used for later connections. */
  private assignedClientId_: string | undefined;
  private serverMaximumPacketSize_ = 268_435_460;
  private disconnectSent_ = false;

  constructor(options: ClientOptions | ResolvedOptions) {
    super();
    this.options = 'defaultProtocol' in options ? (options as ResolvedOptions) : resolveOptions(options);
    this.incomingStore = this.options.incomingStore ?? new Store();
    this.outgoingStore = this.options.outgoingStore ?? new Store();
    this.messageIdProvider = this.options.messageIdProvider ?? new DefaultMessageIdProvider();
    // A CONNECT that cannot be written (a will topic with a wildcard, a will QoS of 3, a bad
    // property) would fail at every attempt: refused here, as the bad option it is.
    try {
      encodeFromClient(this.connectPacket_(), { protocolVersion: this.options.protocolVersion });
    } catch (error) {
      throw invalidOptions(`the CONNECT these options make is invalid: ${(error as Error).message}`, error);
    }
    if (this.options.outgoingStore) this.restoreOutgoing_();
    if (!this.options.manualConnect) this.connect();
  }

  /**
   * The events of one connection attempt, from its transport and its keepalive; those of an
   * attempt that is over are ignored. One object with methods rather than a closure per event:
   * less memory per idle client.
   */
  private static readonly Attempt_ = class implements ConnectionHandlers, KeepaliveEvents {
    private readonly client_: MqttClient;
    private readonly generation_: number;

    constructor(client: MqttClient, generation: number) {
      this.client_ = client;
      this.generation_ = generation;
    }

    live_(): boolean {
      return this.generation_ === this.client_.generation_;
    }

    connect(): void {
      if (this.live_()) this.client_.onTransportConnect_();
    }

    data(chunk: Uint8Array): boolean {
      return this.live_() && this.client_.onData_(chunk);
    }

    drain(): void {
      if (!this.live_()) return;
      this.client_.awaitingDrain_ = false;
      // As an ack does: an end() waiting on the QoS 0 messages written now (no ack) goes on.
      this.client_.afterAck_();
    }

    error(error: Error): void {
      if (this.live_()) this.client_.onTransportError_(error);
    }

    close(): void {
      if (this.live_()) this.client_.onClose_();
    }

    ping(): void {
      this.client_.writePacket_({ cmd: 'pingreq' });
    }

    timeout(): void {
      this.client_.emit('error', keepaliveTimeout());
      this.client_.connection_?.destroy();
    }
  };

  protected override unhandledError_(error: unknown): void {
    log('error with no listener: %s', (error as Error)?.message);
  }

  /**
   * The keepalive in use, in seconds: while connected, the CONNACK's Server Keep Alive when it
   * sent one [MQTT-3.2.2-21]; otherwise the `keepalive` option.
   */
  get keepalive(): number {
    const server = this.connected ? this.serverProperties?.serverKeepAlive : undefined;
    return server ?? this.options.keepalive;
  }

  /** MQTT protocol level in use. */
  get protocolVersion(): 3 | 4 | 5 {
    return this.options.protocolVersion;
  }

  // ───────────────────────────── connection lifecycle ─────────────────────────────

  /** Opens a connection (called by `connect()` unless `manualConnect`). */
  connect(): this {
    if (this.connection_) return this;
    this.disconnected = false;
    const attempt = new MqttClient.Attempt_(this, ++this.generation_);
    this.redirected_ = this.redirectOnce_ !== undefined;
    const transportOptions = this.transportOptions(this.redirected_ ? this.attempt_ : this.attempt_++);
    this.redirectOnce_ = undefined;
    log('connecting to %s://%s:%d', transportOptions.protocol, transportOptions.host, transportOptions.port);
    this.connackReceived_ = false;
    this.disconnectSent_ = false;
    this.awaitingDrain_ = false;
    this.decoder_ = new ClientDecoder({
      protocolVersion: this.options.protocolVersion,
      maximumPacketSize: this.options.properties?.maximumPacketSize,
    });
    const props = this.protocolVersion === 5 ? this.options.properties : undefined;
    this.aliasesIn_ = props?.topicAliasMaximum ? new TopicAliasRecv(props.topicAliasMaximum) : NO_ALIASES_IN;
    this.aliasesOut_ = NO_ALIASES_OUT;
    this.incoming_ = new Incoming(props?.receiveMaximum ?? 65_535);
    this.auth_ = new AuthState(props?.authenticationMethod);
    if (props?.authenticationMethod !== undefined) this.auth_.phase = 'connecting';
    this.handlers_ = attempt;
    this.connection_ = transports.open(transportOptions, attempt);
    this.connackTimer_ = timers.setTimeout(() => {
      if (!attempt.live_() || this.connackReceived_) return;
      this.emit('error', connectTimeout());
      this.connection_?.destroy();
    }, this.options.connectTimeout);
    return this;
  }

  /**
   * The one place that builds the TransportOptions of a connection attempt: the server for
   * `attempt` (rotating through `servers`) plus the hooks that need the client instance.
   */
  transportOptions(attempt: number): TransportOptions {
    const result = transportOptionsFor(this.options, attempt);
    const o = this.overrides_;
    if (o.host !== undefined) result.host = o.host;
    if (o.port !== undefined) result.port = o.port;
    if (o.protocol !== undefined) result.protocol = o.protocol;
    if (o.path !== undefined) result.path = o.path;
    const once = this.redirectOnce_;
    if (once) {
      result.host = once.host;
      if (once.port !== undefined) result.port = once.port;
    }
    const { transformWsUrl, createWebsocket } = this.options;
    if (transformWsUrl) result.transformWsUrl = (url) => transformWsUrl(url, this.options, this);
    if (createWebsocket)
      result.createWebsocket = (url, protocols) => createWebsocket(url, protocols, this.options);
    return result;
  }

  /** Cleared and dropped: an idle client holds no spent Timeout. */
  private clearConnackTimer_(): void {
    if (this.connackTimer_) timers.clearTimeout(this.connackTimer_);
    this.connackTimer_ = undefined;
  }

  private onTransportError_(error: Error): void {
    // A reset while we are closing on purpose is the expected end of the connection.
    if (this.disconnectSent_) {
      log('transport error after DISCONNECT: %s', error.message);
      return;
    }
    this.emit('error', error);
  }

  private onTransportConnect_(): void {
    this.writePacket_(this.connectPacket_());
    const o = this.options;
    if (o.protocolVersion === 5 && o.authPacket && o.properties?.authenticationMethod) {
      this.writePacket_({ cmd: 'auth', reasonCode: 0, ...o.authPacket } as AuthPacketInput);
    }
  }

  /** The CONNECT of the next connection. */
  private connectPacket_(): ConnectPacketInput {
    const o = this.options;
    const connect: ConnectPacketInput = {
      cmd: 'connect',
      protocolId: o.protocolId,
      protocolVersion: o.protocolVersion,
      clean: o.clean,
      clientId: this.overrides_.clientId ?? this.assignedClientId_ ?? o.clientId,
      keepalive: o.keepalive,
    };
    const username = this.overrides_.username ?? o.username;
    const password = this.overrides_.password ?? o.password;
    if (username !== undefined) connect.username = username;
    if (password !== undefined) connect.password = password;
    if (o.will) connect.will = { ...o.will, qos: o.will.qos ?? 0, retain: o.will.retain ?? false };
    if (o.protocolVersion === 5 && o.properties) connect.properties = { ...o.properties };
    return connect;
  }

  /**
   * Decodes and handles what arrived. Returns true when the next reads may wait a little to be
   * gathered into one (`batchReadsMs`): after messages and the packets of a QoS 2 handshake
   * (PUBLISH, PUBREC, PUBREL), whose answers then go out in one write. A read of PUBACKs and
   * PUBCOMPs alone ends flows and opens the send window, so the next read is taken at once.
   */
  private onData_(chunk: Uint8Array): boolean {
    this.pinger_?.received();
    let packets: Packet[];
    try {
      packets = this.decoder_!.push(chunk);
    } catch (error) {
      this.protocolViolation_(error as Error, isMqttError(error) ? (error.reasonCode ?? 0x81) : 0x81);
      return false;
    }
    let mayWait = false;
    for (const packet of packets) {
      const cmd = packet.cmd;
      if (cmd === 'publish' || cmd === 'pubrec' || cmd === 'pubrel') mayWait = true;
      if (this.blocked_) {
        if (this.backlog_ === NONE) this.backlog_ = [];
        // Backpressure: past this many packets waiting for handleMessage, reading stops until
        // it calls back (what one read brings still comes in: a bound, not an exact limit).
        if (this.backlog_.push(packet) === BACKLOG_PAUSE && !this.readsPaused_) {
          this.readsPaused_ = true;
          this.connection_?.pause?.();
        }
      } else this.handlePacket_(packet);
      if (!this.connection_) return false; // a handler closed the connection
    }
    return mayWait;
  }

  /** The server broke the protocol: report it, tell the server (MQTT 5), drop the connection. */
  private protocolViolation_(error: Error, reasonCode: number): void {
    log('protocol violation: %s', error.message);
    this.emit('error', error);
    // Also before CONNACK: CONNECT is out, and a DISCONNECT SHOULD precede the close [MQTT-4.13.1-1].
    if (this.protocolVersion === 5 && reasonCode >= 0x80) {
      this.writePacket_({ cmd: 'disconnect', reasonCode });
      this.disconnectSent_ = true; // nothing may follow DISCONNECT [MQTT-3.14.4-1]
    }
    this.closeGracefully_();
  }

  /**
   * Flushes what is corked (a DISCONNECT must reach the server) and closes; a peer that does
   * not close its side within a second is cut off.
   */
  private closeGracefully_(): void {
    const conn = this.connection_;
    if (!conn) return;
    this.uncorkNow_();
    conn.end();
    const generation = this.generation_;
    timers.setTimeout(() => {
      if (generation === this.generation_) conn.destroy();
    }, 1000);
  }

  private uncorkNow_(): void {
    if (!this.corked_ || !this.connection_) return;
    this.corked_ = false;
    this.connection_.uncork();
  }

  private onClose_(): void {
    log('connection closed');
    const wasConnected = this.connected;
    this.connected = false;
    this.connection_ = undefined;
    this.decoder_ = undefined;
    this.generation_++;
    this.pinger_?.stop();
    this.pinger_ = undefined;
    this.clearConnackTimer_();
    this.backlog_ = NONE;
    this.readsPaused_ = false;
    this.blocked_ = false;
    this.aliasesIn_.clear();
    this.aliasesOut_.clear(); // aliases last as long as the connection [MQTT-3.3.2-7]
    this.incoming_.reset();
    this.auth_.phase = 'none';
    const waiting = this.reauthWaiters_;
    this.reauthWaiters_ = NONE;
    for (const w of waiting) w.reject(connectionClosed());
    for (const op of this.outgoing_.requeue(this.options.queueQoSZero && !this.disconnecting)) {
      op.cb?.(connectionClosed());
    }
    this.emit('close');
    if (this.disconnecting) {
      this.finishEnd_();
      return;
    }
    if (this.reconnectNow_) {
      this.reconnectNow_ = false;
      this.emit('reconnect');
      this.reconnectWithHook_();
      return;
    }
    if (wasConnected || this.reconnecting || !this.reconnectSuppressed_) this.scheduleReconnect_();
  }

  private scheduleReconnect_(): void {
    const period = this.options.reconnectPeriod;
    // A redirect the application allowed (followRedirects) is followed even with reconnects off.
    const off = period <= 0 && !this.redirectPending_;
    if (this.disconnecting || this.reconnectTimer_ || off || this.reconnectSuppressed_) return;
    const max = this.options.maxReconnectAttempts;
    if (max && this.reconnectAttempts_ >= max) {
      log('giving up after %d reconnect attempts', this.reconnectAttempts_);
      this.emit('error', reconnectFailed(this.reconnectAttempts_));
      this.end(true);
      return;
    }
    if (!this.reconnecting) {
      this.reconnecting = true;
      const calls = this.reconnectCalls_;
      this.emit('offline');
      // The handler called end() or reconnect() (which may still be in an async beforeReconnect).
      if (this.disconnecting || this.connection_ || calls !== this.reconnectCalls_) return;
    }
    const attempt = ++this.reconnectAttempts_;
    const delay = this.redirectPending_ ? 0 : reconnectDelay(attempt, period, this.options.reconnectBackoff);
    this.redirectPending_ = false;
    this.reconnectTimer_ = timers.setTimeout(() => {
      this.reconnectTimer_ = undefined;
      // An attempt whose beforeReconnect still runs connects, or schedules the next, itself.
      if (this.disconnecting || this.connection_ || this.hookRunning_) return;
      this.emit('reconnect');
      this.reconnectWithHook_();
    }, delay);
  }

  /** The settings of the next connection, as `beforeReconnect` sees them. */
  private currentSettings_(): ConnectionUpdate {
    const t = this.transportOptions(this.attempt_);
    const o = this.options;
    const settings: ConnectionUpdate = {
      clientId: this.overrides_.clientId ?? this.assignedClientId_ ?? o.clientId,
      host: t.host,
      port: t.port,
      protocol: t.protocol as ConnectionUpdate['protocol'],
    };
    const username = this.overrides_.username ?? o.username;
    const password = this.overrides_.password ?? o.password;
    if (username !== undefined) settings.username = username;
    if (password !== undefined) settings.password = password;
    if (t.path !== undefined) settings.path = t.path;
    return settings;
  }

  /** Runs `beforeReconnect` (sync or async), applies what it returns, then connects. */
  private reconnectWithHook_(): void {
    // A `reconnect` handler called end(), or an attempt's hook is still running.
    if (this.disconnecting || this.hookRunning_) return;
    const hook = this.options.beforeReconnect;
    if (!hook) {
      this.connect();
      return;
    }
    // One attempt at a time: while the hook runs, its attempt is the one in progress.
    const token = {};
    this.hookRunning_ = token;
    // Ended meanwhile (`disconnected` until reconnect(); end() also forgets the hook), or connected
    // by another call: stale.
    const stale = () => {
      if (this.hookRunning_ !== token) return true;
      this.hookRunning_ = undefined;
      return this.disconnecting || this.disconnected || this.connection_ !== undefined;
    };
    const fail = (error: unknown) => {
      if (stale()) return;
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      this.scheduleReconnect_();
    };
    const apply = (update: ConnectionUpdate | undefined) => {
      if (stale()) return;
      if (update) {
        // Another host chosen here wins over a 0x9C redirect; `current` handed back keeps it temporary.
        if (update.host !== undefined && update.host !== this.redirectOnce_?.host)
          this.redirectOnce_ = undefined;
        this.overrides_ = { ...this.overrides_, ...withoutTarget(update, this.redirectOnce_) };
      }
      this.connect();
    };
    let result: ReturnType<typeof hook>;
    try {
      result = hook(this.currentSettings_());
    } catch (error) {
      fail(error);
      return;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<ConnectionUpdate | undefined>).then(apply, fail);
    } else apply(result as ConnectionUpdate | undefined);
  }

  /**
   * MQTT 5 Server Reference (§4.11): emits `redirect`; with `followRedirects` the next
   * connection goes to the first server named, at once. Use another server (0x9C) is temporary:
   * that one attempt, then the configured servers again. Server moved (0x9D) is for good.
   */
  private redirect_(reference: string | undefined, code: number): void {
    if (code !== 0x9c && code !== 0x9d) return;
    if (reference === undefined) return;
    this.emit('redirect', reference, code);
    if (!this.options.followRedirects) return;
    const target = parseServerReference(reference);
    if (!target) return;
    if (code === 0x9c) this.redirectOnce_ = target;
    else {
      this.overrides_ = { ...this.overrides_, host: target.host };
      if (target.port !== undefined) this.overrides_.port = target.port;
    }
    // Ending: nothing is followed, and a 0x9C target is dropped so that reconnect() after end()
    // starts from the configured servers (a 0x9D move holds).
    if (this.disconnecting) {
      this.redirectOnce_ = undefined;
      return;
    }
    this.reconnectSuppressed_ = false;
    this.redirectPending_ = true;
  }

  /**
   * Reconnects now (MQTT.js `client.reconnect()`), also after `end()`; during `end()`, once it
   * has finished and called back, as MQTT.js does.
   */
  reconnect(): this {
    this.reconnectCalls_++;
    // Also after an end() held for a store read back: it must not end the connection made here.
    this.reconnectAfterEnd_ = this.disconnecting || this.endsHeld_ > 0;
    if (this.reconnectAfterEnd_) return this;
    if (this.reconnectTimer_) timers.clearTimeout(this.reconnectTimer_);
    this.reconnectTimer_ = undefined;
    this.reconnectSuppressed_ = false;
    // Reopened at once, as in MQTT.js: calls made while an async beforeReconnect runs are queued.
    this.disconnected = false;
    // An attempt is in progress, its beforeReconnect still running: that attempt is the reconnect.
    if (this.hookRunning_) return this;
    if (this.connection_) {
      // As MQTT.js: a clean DISCONNECT (the will is not published), then a new connection at once,
      // whatever reconnectPeriod says. Unacknowledged messages stay and are resent.
      if (this.reconnectNow_) return this;
      this.reconnectNow_ = true;
      if (this.connected && !this.disconnectSent_) {
        this.writePacket_({ cmd: 'disconnect' });
        this.disconnectSent_ = true; // nothing may follow DISCONNECT [MQTT-3.14.4-1]
        this.closeGracefully_();
      } else this.connection_.destroy();
      return this;
    }
    this.emit('reconnect');
    this.reconnectWithHook_();
    return this;
  }

  private onConnack_(packet: ConnackPacket): void {
    if (this.connackReceived_) {
      this.protocolViolation_(
        protocolViolation('a second CONNACK on the same connection', 0x82, 'MQTT 5.0 §3.2 [MQTT-3.2.0-2]'),
        0x82,
      );
      return;
    }
    this.connackReceived_ = true;
    this.clearConnackTimer_();
    const code = this.protocolVersion === 5 ? packet.reasonCode! : packet.returnCode!;
    if (code !== 0) {
      const name =
        this.protocolVersion === 5
          ? (reasonCodeName('CONNACK', code) ?? `reason code ${code}`)
          : (connackReturnCodeNames[code] ?? `return code ${code}`);
      this.reconnectSuppressed_ = !this.options.reconnectOnConnackError;
      this.emit('error', new MqttConnackError(this.protocolVersion, code, name));
      if (this.protocolVersion === 5) this.redirect_(packet.properties?.serverReference, code);
      this.connection_?.destroy();
      return;
    }
    this.connected = true;
    this.reconnecting = false;
    this.reconnectSuppressed_ = false;
    this.reconnectAttempts_ = 0;
    // Stay on the server that answered; after a 0x9C redirect, on the configured one it replaced.
    if (!this.redirected_) this.attempt_ = Math.max(0, this.attempt_ - 1);
    const props = packet.properties;
    this.serverProperties = props;
    this.outgoing_.sendLimit = Math.min(props?.receiveMaximum ?? 65_535, this.options.maxInflight ?? 65_535);
    this.aliasesOut_ = props?.topicAliasMaximum
      ? new TopicAliasSend(props.topicAliasMaximum)
      : NO_ALIASES_OUT;
    if (this.auth_.method !== undefined) this.auth_.phase = 'connected';
    if (!packet.sessionPresent) this.pendingAcks_ = undefined;
    this.serverMaximumPacketSize_ = props?.maximumPacketSize ?? 268_435_460;
    if (props?.assignedClientIdentifier) this.assignedClientId_ = props.assignedClientIdentifier;
    const keepalive = props?.serverKeepAlive ?? this.options.keepalive;
    this.pinger_ = new Keepalive(keepalive * 1000, this.options.reschedulePings, this.handlers_!);
    this.pinger_.start();
    // Flows a store is still reading back belong to the lost session too: start them over as well.
    if (!packet.sessionPresent && !this.heldForRestore_(() => this.restartFlows_())) this.restartFlows_();
    // Queued operations (and resubscriptions) are written before the application hears of the
    // connection, as in MQTT.js, whose own `connect` listener sends its queue first.
    this.flush_();
    this.emit('connect', packet);
  }

  /**
   * The server has no session for us: flows it had are gone. Unfinished QoS 1/2 messages start
   * over as new PUBLISHes (a QoS 2 message past PUBREC is sent again rather than reported
   * delivered), and the subscriptions it granted before are requested again, ahead of the rest.
   */
  private restartFlows_(): void {
    if (this.outgoing_.idle && this.resubscribeTopics_.size === 0) return; // nothing to start over
    for (const op of this.outgoing_.unfinished()) {
      op.sentBefore = false;
      const original = op.context as PublishPacketInput | undefined;
      if (op.packet.cmd === 'pubrel' && original) {
        op.packet = original;
        op.bytes = undefined;
        this.record_(original);
      } else if (op.packet.cmd === 'publish' && op.packet.dup) {
        // A new PUBLISH for a server that never saw the old one.
        op.packet = { ...op.packet, dup: false };
        op.bytes = undefined;
      }
    }
    // A resubscribe still queued from an earlier connection is replaced, not repeated.
    for (const op of this.outgoing_.removeQueued(
      (o) => (o.context as { resubscribe?: boolean })?.resubscribe === true,
    )) {
      const id = (op.packet as { messageId?: number }).messageId;
      if (id !== undefined) this.messageIdProvider.deallocate(id);
    }
    if (!this.options.resubscribe || this.resubscribeTopics_.size === 0) return;
    // One SUBSCRIBE carries one set of properties (MQTT 5): group by them, then batch.
    const groups = new Map<string, Granted[]>();
    for (const sub of this.resubscribeTopics_.values()) {
      const key = this.protocolVersion === 5 && sub.properties ? JSON.stringify(sub.properties) : '';
      const list = groups.get(key) ?? [];
      list.push(sub);
      groups.set(key, list);
    }
    const ops: Operation[] = [];
    for (const subs of groups.values()) {
      for (const batch of batches(subs, this.options.subscribeBatchSize)) {
        const messageId = this.allocateId_();
        if (messageId === null) break;
        const packet: PacketInput = {
          cmd: 'subscribe',
          messageId,
          subscriptions: batch.map(({ topic, qos, nl, rap, rh }) =>
            this.protocolVersion === 5 ? { topic, qos: qos as QoS, nl, rap, rh } : { topic, qos: qos as QoS },
          ),
        };
        const properties = batch[0]?.properties;
        if (this.protocolVersion === 5 && properties) packet.properties = properties;
        ops.push(this.outgoing_.create(packet, 1, undefined, { subs: batch, resubscribe: true }));
      }
    }
    this.outgoing_.prepend(ops);
  }

  /**
   * Reads back the unfinished flows of a store that outlived its client (a FileStore after a
   * crash, or a Store passed from one client to the next). They go ahead of anything published
   * meanwhile, in the store's order; nothing is written until they are in place.
   */
  private restoreOutgoing_(): void {
    const store = this.outgoingStore as StoreLike & { loadSync?: () => PacketWithId[] };
    const done = (packets: PacketWithId[]) => {
      // Ended meanwhile: nothing is queued (the flows stay in the store for the next client).
      const ops = this.ended_() ? [] : restoredOperations(packets, this.outgoing_);
      for (const op of ops) {
        const id = (op.packet as { messageId?: number }).messageId;
        if (id !== undefined) this.messageIdProvider.register(id);
      }
      this.outgoing_.prepend(ops);
      this.restoring_ = false;
      const held = this.afterRestore_;
      this.afterRestore_ = NONE;
      for (const call of held) call();
      this.flush_();
    };
    if (typeof store.loadSync === 'function') {
      done(store.loadSync());
      return;
    }
    this.restoring_ = true;
    const packets: PacketWithId[] = [];
    (async () => {
      for await (const packet of store.createStream()) packets.push(packet);
    })().then(
      () => done(packets),
      (error: unknown) => {
        this.emit('error', error as Error);
        done(packets);
      },
    );
  }

  /** Ending or ended (and not reopened by reconnect()): calls fail with MQTT_ERR_CLIENT_ENDED. */
  private ended_(): boolean {
    return this.disconnecting || (this.disconnected && !this.connection_);
  }

  /**
   * While an asynchronous store is read back, holds `call` until the stored flows are in place:
   * it takes message ids, which must not be ones a stored message holds, and goes after them.
   */
  private heldForRestore_(call: () => void): boolean {
    // An ended client holds nothing: the call fails at once, as it does once the restore is over.
    if (!this.restoring_ || this.ended_()) return false;
    if (this.afterRestore_ === NONE) this.afterRestore_ = [];
    this.afterRestore_.push(call);
    return true;
  }

  // ───────────────────────────── writing ─────────────────────────────

  /** Encodes and writes a packet that needs no queueing (CONNECT, acks, PINGREQ, DISCONNECT). */
  private writePacket_(packet: PacketInput): boolean {
    const conn = this.connection_;
    if (!conn?.writable || this.disconnectSent_) return false;
    let bytes: Uint8Array;
    try {
      bytes = this.encodeForServer_(packet);
    } catch (error) {
      this.emit('error', error as Error);
      return false;
    }
    this.writeEncoded_(conn, bytes, packet);
    return true;
  }

  /** Encodes for this connection: its protocol version, within the server's Maximum Packet Size. */
  private encodeForServer_(packet: PacketInput): Uint8Array {
    return encodeFromClient(packet, {
      protocolVersion: this.protocolVersion,
      maximumPacketSize: this.serverMaximumPacketSize_,
    });
  }

  /**
   * A PUBLISH of the server's protocol, within its Maximum Packet Size; a large payload stays a
   * part of its own (written after the head, never copied into the packet).
   */
  private encodePublish_(packet: PublishPacketInput): Encoded {
    const payload = packet.payload;
    if (payload === undefined || payload.length < SPLIT_PAYLOAD_BYTES) return this.encodeForServer_(packet);
    return encodePublishParts(packet, {
      protocolVersion: this.protocolVersion,
      maximumPacketSize: this.serverMaximumPacketSize_,
    });
  }

  /** Writes encoded bytes in this tick's batch; a write counts as activity for keepalive. */
  private writeEncoded_(conn: Connection, bytes: Encoded, packet: PacketInput): boolean {
    this.cork_(conn);
    let more: boolean;
    if (bytes instanceof Uint8Array) more = conn.write(bytes);
    else {
      conn.write(bytes[0]);
      more = conn.write(bytes[1]);
    }
    this.pinger_?.sent();
    this.emit('packetsend', packet);
    return more;
  }

  /** Batches every write of this tick into one socket write (cork until the microtask runs). */
  private cork_(conn: Connection): void {
    if (this.corked_) return;
    this.corked_ = true;
    conn.cork();
    queueMicrotask(() => {
      this.corked_ = false;
      conn.uncork();
      const done = this.afterFlush_;
      if (done.length === 0) return;
      this.afterFlush_ = NONE;
      for (const fn of done) fn();
    });
  }

  /** Writes queued operations while connected and the server's window allows. */
  private flush_(): void {
    const conn = this.connection_;
    if (!this.connected || !conn?.writable || this.disconnectSent_ || this.restoring_ || this.awaitingDrain_)
      return;
    for (let op = this.outgoing_.next(); op !== undefined; op = this.outgoing_.next()) {
      let bytes: Encoded;
      try {
        bytes = this.bytesFor_(op);
      } catch (error) {
        this.failOperation_(op, error as Error);
        continue;
      }
      const more = this.writeEncoded_(conn, bytes, op.packet);
      if (op.packet.cmd === 'publish' && op.qos === 0) {
        const cb = op.cb;
        if (cb) {
          if (this.afterFlush_ === NONE) this.afterFlush_ = [];
          this.afterFlush_.push(() => cb(null, op.packet));
        }
      }
      // The socket's buffer is full: the rest waits in the queue until `drain` calls flush again,
      // so a fast publisher is held back (QoS 0 callbacks included) instead of buffering without bound.
      if (!more) {
        this.awaitingDrain_ = true;
        return;
      }
    }
  }

  /**
   * The bytes for `op`, encoded once and kept for a PUBLISH. A PUBLISH written on an earlier
   * connection goes again with DUP set [MQTT-3.3.1-1]; `op.packet` becomes that packet, so
   * `packetsend` reports what is on the wire.
   */
  private bytesFor_(op: Operation): Encoded {
    const p = op.packet;
    // A message queued before this CONNACK was checked against no (or an older) server: check it
    // now, so that nothing the server ruled out is written (MQTT 5.0 §3.2.2.3).
    if (!op.sentBefore && this.serverProperties !== undefined) {
      const refused =
        p.cmd === 'publish'
          ? checkPublish(this.serverProperties, p.qos ?? 0, p.retain === true)
          : p.cmd === 'subscribe'
            ? checkSubscribe(this.serverProperties, p.subscriptions, p.properties)
            : null;
      if (refused) throw refused;
    }
    if (p.cmd === 'publish' && op.sentBefore && p.qos !== 0 && !p.dup) {
      op.packet = { ...p, dup: true };
      op.bytes = undefined;
    }
    const out = op.packet;
    if (out.cmd === 'publish' && this.protocolVersion === 5) {
      // Not kept in op.bytes: the alias depends on this connection's table.
      const aliased = this.withAlias_(out);
      if (aliased !== out) return this.encodePublish_(aliased);
    }
    if (op.packet.cmd !== 'publish') return this.encodeForServer_(op.packet);
    op.bytes ??= this.encodePublish_(op.packet);
    return op.bytes;
  }

  /** The PUBLISH as it goes out on this connection, with Topic Alias applied (the original when unchanged). */
  private withAlias_(p: PublishPacketInput): PublishPacketInput {
    const requested = p.properties?.topicAlias;
    const o = this.options;
    if (
      requested === undefined &&
      (this.aliasesOut_.max === 0 || !(o.autoUseTopicAlias || o.autoAssignTopicAlias))
    )
      return p;
    const choice = this.aliasesOut_.apply(p.topic, requested, this.aliasOnly_?.has(p) === true, this.options);
    if (!choice) {
      // Not valid on this connection (published before a reconnect that lowered the Topic Alias
      // Maximum, or read back from a store): sent with its full topic and no alias, not failed.
      // (publish() on a live connection refuses an alias outside the maximum at once.)
      const { topicAlias: _, ...properties } = p.properties ?? {};
      return { ...p, properties };
    }
    if (choice.topic === p.topic && choice.alias === requested) return p;
    return { ...p, topic: choice.topic, properties: { ...p.properties, topicAlias: choice.alias } };
  }

  private failOperation_(op: Operation, error: Error): void {
    const id = (op.packet as { messageId?: number }).messageId;
    if (id !== undefined) {
      this.outgoing_.remove(id);
      this.messageIdProvider.deallocate(id);
      if (op.packet.cmd === 'publish' || op.packet.cmd === 'pubrel') this.record_(id);
    }
    op.cb?.(error);
  }

  // ───────────────────────────── incoming packets ─────────────────────────────

  private handlePacket_(packet: Packet): void {
    this.emit('packetreceive', packet);
    if (!this.connackReceived_ && packet.cmd !== 'connack' && packet.cmd !== 'auth') {
      this.protocolViolation_(
        protocolViolation(`${packet.cmd} before CONNACK`, 0x82, 'MQTT 5.0 §3.2 [MQTT-3.2.0-1]'),
        0x82,
      );
      return;
    }
    switch (packet.cmd) {
      case 'connack':
        this.onConnack_(packet);
        return;
      case 'publish':
        this.onPublish_(packet);
        return;
      case 'puback':
      case 'pubcomp':
        this.onFinalAck_(packet);
        return;
      case 'pubrec':
        this.onPubrec_(packet);
        return;
      case 'pubrel':
        this.onPubrel_(packet.messageId);
        return;
      case 'suback':
        this.onSuback_(packet);
        return;
      case 'unsuback':
        this.onUnsuback_(packet);
        return;
      case 'pingresp':
        this.pinger_?.pong();
        return;
      case 'disconnect':
        this.onServerDisconnect_(packet);
        return;
      case 'auth':
        this.onAuth_(packet);
        return;
      default:
        this.protocolViolation_(protocolViolation(`a server does not send ${packet.cmd}`, 0x82), 0x82);
    }
  }

  private onServerDisconnect_(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    log('server disconnect, reason 0x%s', code.toString(16));
    this.emit('disconnect', packet);
    if (code >= 0x80) {
      const name = reasonCodeName('DISCONNECT', code) ?? `reason code ${code}`;
      this.emit('error', serverDisconnect(code, name, packet.properties?.reasonString));
    }
    this.redirect_(packet.properties?.serverReference, code);
    this.connection_?.destroy();
  }

  // ───────────────────────────── enhanced authentication (MQTT 5) ─────────────────────────────

  private onAuth_(packet: AuthPacket): void {
    const verdict = this.auth_.check(packet);
    if (verdict.kind === 'violation') {
      this.protocolViolation_(protocolViolation(verdict.message, 0x82, verdict.spec), 0x82);
      return;
    }
    if (verdict.kind === 'success') {
      this.auth_.phase = 'connected';
      const waiting = this.reauthWaiters_;
      this.reauthWaiters_ = NONE;
      for (const w of waiting) w.resolve(packet);
      return;
    }
    const generation = this.generation_;
    let answered = false;
    this.handleAuth(packet, (error, response) => {
      if (answered || generation !== this.generation_) return; // one answer per server AUTH
      answered = true;
      if (error) {
        const refused = new MqttClientError(
          'MQTT_ERR_AUTH_FAILED',
          `Authentication failed: ${error.message}`,
          { reasonCode: reasonCodeOf(error) ?? 0x87, cause: error },
        );
        this.protocolViolation_(refused, refused.reasonCode!);
        return;
      }
      this.writePacket_({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: { ...response?.properties, authenticationMethod: this.auth_.method! },
      });
    });
  }

  /**
   * Answers a server AUTH (reason 0x18, Continue authentication) during CONNECT or
   * re-authentication: call `callback(null, { properties: { authenticationData } })` with the
   * next step of the exchange, or `callback(error)` to give up (the client sends DISCONNECT with
   * `error.reasonCode`, else 0x87). Override it, as in MQTT.js. The Authentication Method is
   * filled in for you.
   */
  handleAuth(_packet: AuthPacket, callback: AuthCallback): void {
    callback(
      new MqttClientError(
        'MQTT_ERR_AUTH_FAILED',
        'the server asked for authentication data and handleAuth is not set',
        {
          reasonCode: 0x8c,
        },
      ),
    );
  }

  /**
   * Starts re-authentication (MQTT 5.0 §4.12.1): sends AUTH 0x19 with the CONNECT's method and
   * `authenticationData`; resolves with the server's final AUTH (reason 0x00), rejects when the
   * connection ends first. Needs `properties.authenticationMethod` in the options.
   */
  reauthenticate(options: AuthPacketOptions = {}, signal?: AbortSignal): Promise<AuthPacket> {
    // From the options: before the first connection the session has no method yet.
    if (this.protocolVersion !== 5 || this.options.properties?.authenticationMethod === undefined) {
      return Promise.reject(
        new MqttClientError(
          'MQTT_ERR_AUTH_FAILED',
          'reauthenticate() needs MQTT 5 and properties.authenticationMethod',
          {
            spec: 'MQTT 5.0 §4.12.1 [MQTT-4.12.1-1]',
          },
        ),
      );
    }
    if (!this.connected) {
      // Re-authentication is of a connection the server accepted (MQTT 5.0 §4.12.1).
      return Promise.reject(
        new MqttClientError('MQTT_ERR_CONNECTION_CLOSED', 'reauthenticate(): the client is not connected', {
          spec: 'MQTT 5.0 §4.12.1',
        }),
      );
    }
    if (this.auth_.phase === 'reauthenticating') {
      // One exchange at a time (MQTT 5.0 §4.12.1): a second AUTH 0x19 would cross the first.
      return Promise.reject(
        new MqttClientError('MQTT_ERR_AUTH_FAILED', 'a re-authentication is already in progress', {
          spec: 'MQTT 5.0 §4.12.1',
        }),
      );
    }
    return withSignal<AuthPacket>(signal, (resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.reauthWaiters_ === NONE) this.reauthWaiters_ = [];
      this.reauthWaiters_.push(waiter);
      this.auth_.phase = 'reauthenticating';
      this.writePacket_({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { ...options.properties, authenticationMethod: this.auth_.method! },
      });
      return () => {
        const i = this.reauthWaiters_.indexOf(waiter);
        if (i >= 0) this.reauthWaiters_.splice(i, 1);
      };
    });
  }

  /** Runs `work` with handleMessage's backpressure: packets wait until it calls back. */
  private withHandleMessage_(
    packet: PublishPacket,
    then: (error?: Error) => void,
    /** Call `then` also when the connection is gone by then (`then` writes nothing to it). */
    always = false,
  ): void {
    let sync = true;
    let called = false;
    const generation = this.generation_;
    this.blocked_ = true;
    this.handleMessage(packet, (error) => {
      if (called) return;
      called = true;
      if (generation !== this.generation_) {
        // The connection is gone: the server will send again what was not acknowledged.
        if (always) then(error ?? undefined);
        return;
      }
      then(error ?? undefined);
      if (!sync) this.unblock_();
    });
    sync = false;
    if (called) this.blocked_ = false;
  }

  private unblock_(): void {
    this.blocked_ = false;
    while (!this.blocked_ && this.backlog_.length > 0 && this.connection_) {
      this.handlePacket_(this.backlog_.shift()!);
    }
    if (!this.blocked_ && this.readsPaused_) {
      this.readsPaused_ = false;
      this.connection_?.resume?.();
    }
  }

  /** Override to apply backpressure: the next packet is processed when `callback` is called. */
  handleMessage(_packet: PublishPacket, callback: (error?: Error | null) => void): void {
    callback();
  }

  private onPublish_(packet: PublishPacket): void {
    if (this.protocolVersion === 5) {
      const resolved = this.aliasesIn_.resolve(packet.topic, packet.properties?.topicAlias);
      if ('reasonCode' in resolved) {
        this.protocolViolation_(
          new MqttClientError('MQTT_ERR_TOPIC_ALIAS_INVALID', `Protocol error: ${resolved.message}`, {
            reasonCode: resolved.reasonCode,
            spec: resolved.spec,
          }),
          resolved.reasonCode,
        );
        return;
      }
      packet.topic = resolved.topic;
    }
    const { topic, payload, qos } = packet;
    if (qos === 0) {
      this.emit('message', topic, payload, packet);
      this.withHandleMessage_(packet, () => {});
      return;
    }
    const messageId = packet.messageId!;
    if (this.incoming_.arrive(messageId) === 'exceeded') {
      const max = this.incoming_.receiveMaximum;
      this.protocolViolation_(
        new MqttClientError(
          'MQTT_ERR_RECEIVE_MAXIMUM_EXCEEDED',
          `Protocol error: more than our Receive Maximum ${max} QoS 1/2 PUBLISHes unacknowledged`,
          { reasonCode: 0x93, spec: 'MQTT 5.0 §3.3.4 [MQTT-3.3.4-9]' },
        ),
        0x93,
      );
      return;
    }
    const pending = this.pendingAcks_?.get(messageId);
    if (pending) {
      // Sent again while the application holds it: never delivered twice. On the same connection
      // its place in the ack order stands; on a new one it takes a new place.
      if (pending.slot.live) return;
      pending.slot = this.incoming_.slot(messageId);
      if (pending.acked) this.sendAck_(pending.slot, this.ackFor_(pending.packet, pending.reasonCode));
      return;
    }
    // A QoS 2 PUBLISH is a new flow: a PUBLISH is never sent again once its PUBREL is (§4.3.3).
    if (qos === 2) this.completing_?.delete(messageId);
    const slot = this.incoming_.slot(messageId);
    this.options.customHandleAcks(topic, payload, packet as never, (error, reasonCode) => {
      if (error instanceof Error) {
        this.emit('error', error);
        this.sendAck_(slot, null);
        return;
      }
      const code = this.protocolVersion === 5 ? (typeof error === 'number' ? error : (reasonCode ?? 0)) : 0;
      if (code >= 0x80) {
        // Refused by the application: answered now, never delivered.
        this.sendAck_(slot, this.ackFor_(packet, code));
        return;
      }
      if (this.options.manualAck) {
        // Delivered now, acknowledged by client.ack(); a QoS 2 id is held until PUBREL (method A, §4.3.3).
        this.pendingAcks_ ??= new Map();
        this.pendingAcks_.set(messageId, { packet, slot, acked: false, reasonCode: 0 });
        this.emit('message', topic, payload, packet);
        this.withHandleMessage_(packet, (err) => err && this.emit('error', err));
        return;
      }
      if (qos === 1) {
        this.emit('message', topic, payload, packet);
        this.withHandleMessage_(packet, (err) => {
          if (err) {
            // Not acknowledged (the server sends it again after a reconnect), and its place in
            // the order of acknowledgements given up, so later ones still go out.
            this.emit('error', err);
            this.sendAck_(slot, null);
            return;
          }
          this.sendAck_(slot, this.ackFor_(packet, code));
        });
        return;
      }
      // QoS 2: held until PUBREL, then delivered once (method B, MQTT 5.0 §4.3.3). Sent again before
      // PUBREL (also after a reconnect or a restart on a file store), it replaces the stored copy
      // and gets another PUBREC, not a second delivery [MQTT-4.3.3-10].
      // Acknowledged only once stored: a store that fails (a full disk) gets no PUBREC, so the
      // server keeps the message and sends it again, and the error goes to the application.
      const stored = (error?: Error | null) => {
        if (error) {
          this.emit('error', error);
          this.sendAck_(slot, null);
          return;
        }
        this.sendAck_(slot, this.ackFor_(packet, code));
      };
      try {
        this.incomingStore.put(packet, stored);
      } catch (error) {
        stored(error as Error);
      }
    });
  }

  /** PUBACK or PUBREC for an incoming PUBLISH. */
  private ackFor_(packet: PublishPacket, code: number): PacketInput {
    const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
    const messageId = packet.messageId!;
    return this.protocolVersion === 5 && code !== 0
      ? { cmd, messageId, reasonCode: code }
      : { cmd, messageId };
  }

  /** Fills an acknowledgement slot and writes what is now in order [MQTT-4.6.0-2], [MQTT-4.6.0-3]. */
  private sendAck_(slot: AckSlot, packet: PacketInput | null): void {
    if (packet === null) this.incoming_.close(slot.messageId);
    for (const ack of this.incoming_.fill(slot, packet)) {
      const code = (ack as { reasonCode?: number }).reasonCode ?? 0;
      if (ack.cmd === 'puback' || (ack.cmd === 'pubrec' && code >= 0x80)) {
        this.incoming_.close(ack.messageId);
        this.pendingAcks_?.delete(ack.messageId);
      }
      this.writePacket_(ack);
    }
  }

  /**
   * Acknowledges a message delivered under `manualAck` (MQTT 5 `reasonCode`: PUBACK for QoS 1,
   * PUBREC for QoS 2; 0x80 and above refuse it). Acknowledgements go out in the order the
   * messages arrived, whatever order `ack` is called in. Returns false for a message that is not
   * awaiting one (QoS 0, already acknowledged, or not manualAck).
   */
  ack(packet: PublishPacket, reasonCode = 0): boolean {
    const pending = packet.messageId === undefined ? undefined : this.pendingAcks_?.get(packet.messageId);
    if (!pending || pending.packet !== packet || pending.acked) return false;
    pending.acked = true;
    pending.reasonCode = this.protocolVersion === 5 ? reasonCode : 0;
    // sendAck_ forgets it once the PUBACK (or refusing PUBREC) is written. Offline, it is kept,
    // acknowledged, so that the server's re-send is answered and not delivered again.
    if (pending.slot.live) this.sendAck_(pending.slot, this.ackFor_(packet, pending.reasonCode));
    return true;
  }

  private onPubrel_(messageId: number): void {
    const pending = this.pendingAcks_?.get(messageId);
    if (pending?.acked) {
      this.pendingAcks_?.delete(messageId);
      this.incoming_.close(messageId);
      this.writePacket_({ cmd: 'pubcomp', messageId });
      return;
    }
    const completing = this.completing_?.get(messageId);
    if (completing) {
      // Read from the store, or delivered already, on this or an earlier connection: one PUBCOMP
      // once the application is done with it, never a second delivery [MQTT-4.3.3-10].
      if (completing.done) this.complete_(messageId);
      else completing.answer = this.generation_;
      return;
    }
    // In place before the store answers, so that a PUBREL sent again meanwhile waits for this
    // answer instead of reading the message a second time.
    const entry = { done: false, answer: this.generation_ };
    this.completing_ ??= new Map();
    this.completing_.set(messageId, entry);
    this.incomingStore.get({ messageId }, (error, stored) => {
      // A new PUBLISH took this id meanwhile (a new session): this PUBREL is no longer its flow's.
      if (this.completing_?.get(messageId) !== entry) return;
      const pub = stored as PublishPacket | undefined;
      if (error || !pub) {
        // Already delivered and completed (a duplicate PUBREL), or never received: answered on the
        // connection of the latest PUBREL, if it is still open.
        this.completing_?.delete(messageId);
        if (entry.answer !== this.generation_ || !this.connection_) return;
        this.incoming_.close(messageId);
        this.writePacket_(
          this.protocolVersion === 5
            ? { cmd: 'pubcomp', messageId, reasonCode: 0x92 }
            : { cmd: 'pubcomp', messageId },
        );
        return;
      }
      this.emit('message', pub.topic, pub.payload, pub);
      this.withHandleMessage_(
        pub,
        (err) => {
          if (err) {
            this.completing_?.delete(messageId); // not handled: delivered again on the next PUBREL
            this.emit('error', err);
            return;
          }
          // A new PUBLISH took this id meanwhile (a new session): its copy in the store stays.
          if (this.completing_?.get(messageId) !== entry) return;
          // Delivered: out of the store even if the connection is gone meanwhile, so that the
          // PUBREL the server sends again is answered, not delivered a second time.
          this.incomingStore.del({ messageId }, (error) => {
            if (error) this.emit('error', error);
            entry.done = true;
            // PUBCOMP now if this connection has a PUBREL to answer; else when one comes.
            if (entry.answer === this.generation_ && this.connection_) this.complete_(messageId);
          });
        },
        true,
      );
    });
  }

  /** PUBCOMP for a delivered QoS 2 message whose PUBREL is on this connection. */
  private complete_(messageId: number): void {
    this.completing_?.delete(messageId);
    this.incoming_.close(messageId);
    this.writePacket_({ cmd: 'pubcomp', messageId });
  }

  /**
   * An acknowledgement whose Packet Identifier is on no flow of ours. An ack carries the id of the
   * packet it answers (MQTT 5.0 §2.2.1); PUBACK, SUBACK and UNSUBACK have no 0x92 Packet Identifier
   * not found (PUBREL and PUBCOMP alone do, §3.6.2.1, §3.7.2.1): a Protocol Error (§4.13).
   */
  private unknownAck_(cmd: string, messageId: number): void {
    if (this.removedIds_?.delete(messageId)) {
      log('%s for removed message id %d', cmd, messageId);
      return;
    }
    // [MQTT-2.2.1-5] PUBACK, PUBCOMP; [MQTT-2.2.1-6] SUBACK, UNSUBACK
    const spec = `MQTT 5.0 §2.2.1 [MQTT-2.2.1-${cmd.startsWith('PUB') ? 5 : 6}]`;
    this.protocolViolation_(
      protocolViolation(`${cmd} for unknown packet identifier ${messageId}`, 0x82, spec),
      0x82,
    );
  }

  private onFinalAck_(ack: PubackPacket | PubcompPacket | PubrecPacket): void {
    const { messageId, reasonCode } = ack;
    const pending = this.outgoing_.get(messageId);
    if (!pending) {
      this.unknownAck_(ack.cmd.toUpperCase(), messageId);
      return;
    }
    // The ack must be the one its flow waits for: PUBACK for QoS 1, PUBREC (a failure here) for a
    // QoS 2 PUBLISH, PUBCOMP for a PUBREL (MQTT 5.0 §4.3.2, §4.3.3).
    const p = pending.packet;
    const expected =
      p.cmd === 'pubrel'
        ? 'pubcomp'
        : p.cmd === 'publish'
          ? pending.qos === 1
            ? 'puback'
            : 'pubrec'
          : undefined;
    if (ack.cmd !== expected) {
      const waiting = p.cmd === 'publish' ? `a QoS ${pending.qos} PUBLISH` : p.cmd.toUpperCase();
      this.protocolViolation_(
        protocolViolation(
          `${ack.cmd.toUpperCase()} for packet identifier ${messageId}, which is ${waiting}${expected ? ` awaiting ${expected.toUpperCase()}` : ''}`,
          0x82,
          'MQTT 5.0 §4.3.2, §4.3.3',
        ),
        0x82,
      );
      return;
    }
    const op = this.outgoing_.finish(messageId)!;
    this.messageIdProvider.deallocate(messageId);
    this.record_(messageId);
    const code = reasonCode ?? 0;
    if (code >= 0x80) {
      const cmd = op.packet.cmd === 'pubrel' ? 'PUBCOMP' : ack.cmd === 'pubrec' ? 'PUBREC' : 'PUBACK';
      op.cb?.(ackError(cmd, code, ack.properties?.reasonString));
    } else {
      op.cb?.(null, op.packet);
    }
    this.afterAck_();
  }

  private onPubrec_(packet: PubrecPacket): void {
    const { messageId } = packet;
    const code = packet.reasonCode ?? 0;
    if (code >= 0x80) {
      this.onFinalAck_(packet);
      return;
    }
    const pubrel = { cmd: 'pubrel', messageId } as const;
    const op = this.outgoing_.release(messageId, pubrel);
    if (!op && this.outgoing_.get(messageId)?.packet.cmd === 'pubrel') {
      this.writePacket_(pubrel); // a PUBREC sent again: our PUBREL again, not 0x92
      return;
    }
    if (!op) {
      // Not ours (any more): a PUBREL all the same [MQTT-4.3.3-4], so the server can end its flow;
      // in MQTT 5 with 0x92 Packet Identifier not found (MQTT 5.0 §3.6.2.1).
      this.writePacket_(this.protocolVersion === 5 ? { cmd: 'pubrel', messageId, reasonCode: 0x92 } : pubrel);
      return;
    }
    this.record_(pubrel);
    this.writePacket_(pubrel);
  }

  /**
   * Stores a flow's next step (a packet), or forgets a finished flow (its message id); the flow
   * does not wait for either. A store that fails by throwing (FileStore on a full disk), or a put
   * that calls back with an error, is reported as `error`, not thrown into packet handling: the
   * flow goes on in memory, and only a restart would find the older step. (A del that calls back
   * with an error is not: the in-memory Store does so for an id it does not have.)
   */
  private record_(packet: PacketWithId | number): void {
    const failed = (error?: Error | null) => error && this.emit('error', error);
    try {
      if (typeof packet === 'number') this.outgoingStore.del({ messageId: packet });
      else this.outgoingStore.put(packet, failed);
    } catch (error) {
      failed(error as Error);
    }
  }

  private onSuback_(packet: SubackPacket): void {
    const op = this.outgoing_.get(packet.messageId);
    if (op?.packet.cmd !== 'subscribe') {
      this.unknownAck_('SUBACK', packet.messageId);
      return;
    }
    const { subs } = op.context as { subs: Granted[] };
    if (packet.granted.length !== subs.length) {
      this.protocolViolation_(
        protocolViolation(
          `SUBACK has ${packet.granted.length} reason codes for ${subs.length} subscriptions`,
          0x82,
          'MQTT 5.0 §3.9.3 [MQTT-3.8.4-6]',
        ),
        0x82,
      );
      return;
    }
    this.outgoing_.finish(packet.messageId);
    this.messageIdProvider.deallocate(packet.messageId);
    let error: Error | null = null;
    const granted = subs.map((sub, i) => {
      const code = packet.granted[i] ?? 0x80;
      if (code >= 0x80) {
        error ??= ackError('SUBACK', code, packet.properties?.reasonString);
        this.resubscribeTopics_.delete(sub.topic);
      } else {
        if (this.resubscribeTopics_ === NO_TOPICS) this.resubscribeTopics_ = new Map();
        this.resubscribeTopics_.set(sub.topic, { ...sub, qos: sub.qos });
      }
      return { ...sub, qos: code };
    });
    op.cb?.(error, granted, packet);
    this.afterAck_();
  }

  private onUnsuback_(packet: UnsubackPacket): void {
    const inflight = this.outgoing_.get(packet.messageId);
    if (inflight?.packet.cmd !== 'unsubscribe') {
      this.unknownAck_('UNSUBACK', packet.messageId);
      return;
    }
    const expected = inflight.packet.unsubscriptions.length;
    if (packet.granted !== undefined && packet.granted.length !== expected) {
      this.protocolViolation_(
        protocolViolation(
          `UNSUBACK has ${packet.granted.length} reason codes for ${expected} topic filters`,
          0x82,
          'MQTT 5.0 §3.11.3 [MQTT-3.10.4-5]',
        ),
        0x82,
      );
      return;
    }
    const op = this.outgoing_.finish(packet.messageId)!;
    this.messageIdProvider.deallocate(packet.messageId);
    const code = packet.granted?.find((c) => c >= 0x80);
    op.cb?.(code === undefined ? null : ackError('UNSUBACK', code, packet.properties?.reasonString), packet);
    this.afterAck_();
  }

  private afterAck_(): void {
    this.flush_();
    if (this.outgoing_.idle) {
      // Only while ending, as MQTT.js (whose end() waits for it).
      if (this.disconnecting) this.emit('outgoingEmpty');
      const waiters = this.endWaiters_;
      this.endWaiters_ = NONE;
      for (const w of waiters) w();
    }
  }

  // ───────────────────────────── public operations ─────────────────────────────

  private allocateId_(): number | null {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.messageIdProvider.allocate();
      if (id === null) return null;
      if (!this.outgoing_.has(id)) {
        this.removedIds_?.delete(id);
        return id;
      }
    }
    return null;
  }

  /** Fails `cb` asynchronously, as MQTT.js does, so callers see one code path. */
  private failLater_(cb: ((error: Error) => void) | undefined, error: Error): this {
    if (cb) queueMicrotask(() => cb(error));
    return this;
  }

  publish(topic: string, message: Payload, callback?: PublishCallback): this;
  publish(topic: string, message: Payload, opts?: PublishOptions, callback?: PublishCallback): this;
  publish(
    topic: string,
    message: Payload,
    optsOrCb?: PublishOptions | PublishCallback,
    maybeCb?: PublishCallback,
  ): this {
    const opts = typeof optsOrCb === 'function' ? {} : (optsOrCb ?? {});
    const cb = typeof optsOrCb === 'function' ? optsOrCb : maybeCb;
    if (this.restoring_ && this.heldForRestore_(() => this.startPublish_(topic, message, opts, cb)))
      return this;
    this.startPublish_(topic, message, opts, cb);
    return this;
  }

  /** publish(), returning the queued operation (undefined when it failed). */
  private startPublish_(
    topic: string,
    message: Payload,
    opts: PublishOptions,
    cb: PublishCallback | undefined,
  ): Operation | undefined {
    const fail = (error: Error) => {
      this.failLater_(cb, error);
      return undefined;
    };
    if (this.ended_()) return fail(clientEnded());
    const qos = checkQos(opts.qos ?? 0);
    if (typeof qos !== 'number') return fail(qos);
    // An empty topic is allowed only with a Topic Alias (MQTT 5) [MQTT-3.3.2-1, MQTT-3.3.2-2].
    if (topic !== '' || opts.properties?.topicAlias === undefined || this.protocolVersion !== 5) {
      const problem = validateTopicName(topic);
      if (problem) return fail(invalidTopic(String(topic), problem, false));
    }
    if (this.protocolVersion === 5) {
      const refused = checkPublish(this.serverProperties, qos, opts.retain === true);
      if (refused) return fail(refused);
      const alias = opts.properties?.topicAlias;
      if (this.connected && alias !== undefined && alias > this.aliasesOut_.max) {
        return fail(
          new MqttClientError(
            'MQTT_ERR_TOPIC_ALIAS_INVALID',
            `Topic Alias ${alias} is outside the server's Topic Alias Maximum ${this.aliasesOut_.max}`,
            { reasonCode: 0x94, spec: 'MQTT 5.0 §3.3.2.3.4 [MQTT-3.3.2-8]' },
          ),
        );
      }
    }
    const packet: PublishPacketInput = {
      cmd: 'publish',
      topic,
      payload: message,
      qos,
      retain: opts.retain === true,
      dup: false,
    };
    if (this.protocolVersion === 5 && opts.properties) {
      packet.properties = opts.properties;
      const alias = opts.properties.topicAlias;
      if (alias !== undefined && topic === '') {
        // The alias alone: recover its topic now, so a re-send on a new connection has it.
        const known = this.aliasesOut_.topicOf(alias);
        if (known === undefined) {
          return fail(
            new MqttClientError(
              'MQTT_ERR_TOPIC_ALIAS_INVALID',
              `Topic Alias ${alias} names no topic on this connection`,
              {
                reasonCode: 0x94,
                spec: 'MQTT 5.0 §3.3.2.3.4 [MQTT-3.3.2-12]',
              },
            ),
          );
        }
        packet.topic = known;
        this.aliasOnly_ ??= new WeakSet();
        this.aliasOnly_.add(packet);
      }
    }
    if (qos > 0) {
      const id = this.allocateId_();
      if (id === null) return fail(noMessageId());
      packet.messageId = id;
    }
    const failReleasing = (error: Error) => {
      if (packet.messageId !== undefined) this.messageIdProvider.deallocate(packet.messageId);
      return fail(error);
    };
    let bytes: Encoded;
    try {
      // Encoding now checks the packet while the caller is still here, and the bytes are reused.
      bytes = this.encodePublish_(packet);
    } catch (error) {
      return failReleasing(error as Error);
    }
    if (!this.connected && qos === 0 && !this.options.queueQoSZero) return failReleasing(connectionClosed());
    const limit = this.options.maxQueuedMessages;
    if (!this.connected && limit !== undefined && this.outgoing_.pendingCount >= limit) {
      return failReleasing(queueFull(limit));
    }
    const op = this.outgoing_.create(
      packet,
      qos,
      cb as OperationCallback | undefined,
      qos === 2 ? packet : undefined,
    );
    op.bytes = bytes;
    this.outgoing_.enqueue(op);
    if (qos > 0) this.store_(op, opts.cbStorePut);
    else this.flush_();
    return op;
  }

  /**
   * Puts a QoS 1/2 PUBLISH in the outgoing store. As in MQTT.js, it is written once stored, when
   * `cbStorePut` is called; a store that fails (throws, or calls back with an error) fails the
   * publish with that error and nothing is sent. The queue waits for the store's answer.
   */
  private store_(op: Operation, cbStorePut: (() => void) | undefined): void {
    op.storing = true;
    const done = (error?: Error | null) => {
      if (!op.storing) return; // a store that calls back twice
      op.storing = false;
      const messageId = (op.packet as PublishPacketInput).messageId!;
      // Removed meanwhile (removeOutgoingMessage, an aborted publishAsync): its del came first.
      if (this.removedIds_?.has(messageId)) this.record_(messageId);
      else if (!error) {
        cbStorePut?.();
        this.flush_();
      } else if (this.outgoing_.withdraw(op)) {
        // Not there any more if end() or removeOutgoingMessage() took it meanwhile.
        this.messageIdProvider.deallocate(messageId);
        this.failLater_(op.cb, error);
        this.afterAck_(); // what waited behind it goes on
      }
    };
    try {
      this.outgoingStore.put(op.packet as PublishPacketInput, done);
    } catch (error) {
      done(error as Error);
    }
  }

  /**
   * publish() as a promise. With `signal`, an abort rejects with MQTT_ERR_ABORTED and withdraws
   * the message if it is still queued; one already written completes its flow regardless.
   */
  publishAsync(
    topic: string,
    message: Payload,
    opts?: PublishOptions & AbortableOptions,
  ): Promise<Packet | undefined> {
    return withSignal(opts?.signal, (resolve, reject) => {
      let op: Operation | undefined;
      let withdrawn = false;
      const start = () => {
        if (withdrawn) return;
        op = this.startPublish_(topic, message, opts ?? {}, (error, packet) =>
          error ? reject(error) : resolve(packet),
        );
      };
      if (!this.heldForRestore_(start)) start();
      return () => {
        withdrawn = true;
        const id = (op?.packet as { messageId?: number } | undefined)?.messageId;
        // Only while never written: one written before a reconnect (queued again) completes.
        if (id !== undefined && !op?.sentBefore && this.outgoing_.has(id) && !this.outgoing_.get(id))
          this.removeOutgoingMessage(id);
      };
    });
  }

  subscribe(topics: SubscribeTopics, callback?: SubscribeCallback): this;
  subscribe(topics: SubscribeTopics, opts?: SubscribeOptions | QoS, callback?: SubscribeCallback): this;
  subscribe(
    topics: SubscribeTopics,
    optsOrCb?: SubscribeOptions | QoS | SubscribeCallback,
    maybeCb?: SubscribeCallback,
  ): this {
    const cb = typeof optsOrCb === 'function' ? optsOrCb : maybeCb;
    const opts: SubscribeOptions =
      typeof optsOrCb === 'number' ? { qos: optsOrCb } : typeof optsOrCb === 'object' ? optsOrCb : {};
    const fail = (error: Error) => this.failLater_(cb ? (e) => cb(e) : undefined, error);
    if (this.ended_()) return fail(clientEnded());
    if (this.restoring_ && this.heldForRestore_(() => this.subscribe(topics, opts, cb))) return this;
    const subs = subscriptionsFor(topics, opts, this.protocolVersion);
    if (!Array.isArray(subs)) return fail(subs);
    if (this.protocolVersion === 5) {
      const refused = checkSubscribe(this.serverProperties, subs, opts.properties);
      if (refused) return fail(refused);
    }
    const groups = batches(subs, this.options.subscribeBatchSize);
    const results: Granted[][] = [];
    let remaining = groups.length;
    let firstError: Error | null = null;
    let lastPacket: SubackPacket | undefined;
    groups.forEach((batch, index) => {
      const messageId = this.allocateId_();
      if (messageId === null) {
        firstError ??= noMessageId();
        if (--remaining === 0) cb?.(firstError, results.flat(), lastPacket);
        return;
      }
      const packet: PacketInput = { cmd: 'subscribe', messageId, subscriptions: batch };
      if (this.protocolVersion === 5 && opts.properties) packet.properties = opts.properties;
      const context = {
        subs: batch.map((s) => ({ ...s, ...(opts.properties ? { properties: opts.properties } : {}) })),
      };
      const op = this.outgoing_.create(
        packet,
        1,
        (error, granted, suback) => {
          results[index] = (granted as Granted[] | undefined) ?? [];
          if (error) firstError ??= error;
          lastPacket = (suback as SubackPacket | undefined) ?? lastPacket;
          if (--remaining === 0) cb?.(firstError, results.flat(), lastPacket);
        },
        context,
      );
      this.outgoing_.enqueue(op);
    });
    this.flush_();
    return this;
  }

  /** subscribe() as a promise; `signal` rejects it early (a SUBSCRIBE already written still takes effect). */
  subscribeAsync(
    topics: SubscribeTopics,
    opts?: (SubscribeOptions & AbortableOptions) | QoS,
  ): Promise<Granted[]> {
    const signal = typeof opts === 'object' ? opts.signal : undefined;
    return withSignal(signal, (resolve, reject) => {
      this.subscribe(topics, opts ?? {}, (error, granted) =>
        error ? reject(error) : resolve(granted ?? []),
      );
      return undefined;
    });
  }

  unsubscribe(topics: string | string[], callback?: UnsubscribeCallback): this;
  unsubscribe(topics: string | string[], opts?: UnsubscribeOptions, callback?: UnsubscribeCallback): this;
  unsubscribe(
    topics: string | string[],
    optsOrCb?: UnsubscribeOptions | UnsubscribeCallback,
    maybeCb?: UnsubscribeCallback,
  ): this {
    const cb = typeof optsOrCb === 'function' ? optsOrCb : maybeCb;
    const opts = typeof optsOrCb === 'object' ? optsOrCb : {};
    if (this.ended_()) return this.failLater_(cb, clientEnded());
    if (this.restoring_ && this.heldForRestore_(() => this.unsubscribe(topics, opts, cb))) return this;
    const list = unsubscriptionsFor(topics);
    if (!Array.isArray(list)) return this.failLater_(cb, list);
    const messageId = this.allocateId_();
    if (messageId === null) return this.failLater_(cb, noMessageId());
    for (const t of list) this.resubscribeTopics_.delete(t);
    const packet: PacketInput = { cmd: 'unsubscribe', messageId, unsubscriptions: list };
    if (this.protocolVersion === 5 && opts.properties) packet.properties = opts.properties;
    this.outgoing_.enqueue(
      // null on success, as MQTT.js passes it (its type says `Error | undefined` too).
      this.outgoing_.create(packet, 1, (error, result) => cb?.(error as Error, result as UnsubackPacket)),
    );
    this.flush_();
    return this;
  }

  unsubscribeAsync(
    topics: string | string[],
    opts?: UnsubscribeOptions & AbortableOptions,
  ): Promise<UnsubackPacket | undefined> {
    return withSignal(opts?.signal, (resolve, reject) => {
      this.unsubscribe(topics, opts ?? {}, (error, packet) => (error ? reject(error) : resolve(packet)));
      return undefined;
    });
  }

  // ───────────────────────────── MQTT 5 helpers ─────────────────────────────

  /**
   * Publishes a request with a Response Topic and Correlation Data and resolves with the first
   * response carrying that Correlation Data (MQTT 5.0 §4.10). See docs/mqtt5.md.
   */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<ResponseMessage> {
    return request(this, topic, payload, options);
  }

  /** Answers a request received in a `message` event: publishes to its Response Topic with its Correlation Data. */
  respond(
    requestPacket: PublishPacket,
    payload: Payload,
    opts?: PublishOptions,
  ): Promise<Packet | undefined> {
    return respond(this, requestPacket, payload, opts);
  }

  /** Messages on `filter` as an async iterator; subscribes first, unsubscribes when the loop ends. */
  messages(filter: string, options?: MessagesOptions): MessageStream {
    return messages(this, filter, options);
  }

  /** Forgets a queued or in-flight outgoing message; its callback gets an error. */
  removeOutgoingMessage(messageId: number): this {
    const op = this.outgoing_.remove(messageId);
    if (op) {
      this.removedIds_ ??= new Set();
      this.removedIds_.add(messageId);
      this.messageIdProvider.deallocate(messageId);
      this.record_(messageId);
      op.cb?.(new MqttClientError('MQTT_ERR_MESSAGE_REMOVED', 'Message removed'));
      // As an acknowledgement would: the window may let the next message out, and an end()
      // waiting for the last one goes on.
      this.afterAck_();
    }
    return this;
  }

  getLastMessageId(): number | null {
    return this.messageIdProvider.getLastAllocated();
  }

  // ───────────────────────────── ending ─────────────────────────────

  end(cb?: EndCallback): this;
  end(force?: boolean, cb?: EndCallback): this;
  end(force?: boolean, opts?: EndOptions, cb?: EndCallback): this;
  end(opts?: EndOptions, cb?: EndCallback): this;
  end(a?: boolean | EndOptions | EndCallback, b?: EndOptions | EndCallback, c?: EndCallback): this {
    const args = [a, b, c];
    const force = args.find((x) => typeof x === 'boolean') === true;
    const opts = (args.find((x) => typeof x === 'object' && x !== null) as EndOptions | undefined) ?? {};
    const cb = args.find((x) => typeof x === 'function') as EndCallback | undefined;
    // Called after publishes held while a store is read back: it waits for them as for the others.
    if (!force && this.afterRestore_.length > 0) {
      const calls = this.reconnectCalls_;
      this.endsHeld_++;
      const held = this.heldForRestore_(() => {
        this.endsHeld_--;
        // A reconnect() made after this end() still comes after it.
        this.end_(force, opts, cb, calls !== this.reconnectCalls_);
      });
      if (held) return this;
      this.endsHeld_--;
    }
    return this.end_(force, opts, cb, false);
  }

  /** end() once it is its turn; `reconnectAfter`: a reconnect() made after it is still to come. */
  private end_(force: boolean, opts: EndOptions, cb: EndCallback | undefined, reconnectAfter: boolean): this {
    if (cb) {
      if (this.endWaitersCb_ === NONE) this.endWaitersCb_ = [];
      this.endWaitersCb_.push(cb);
    }
    if (!reconnectAfter) this.reconnectAfterEnd_ = false; // the later of end() and reconnect() wins
    this.reconnectNow_ = false;
    // Ending: a forced end() hurries a graceful one that waits for acknowledgements.
    if (this.disconnecting) {
      if (force) this.forceEnd_();
      return this;
    }
    // Ended with no callback to call: nothing to do (and `disconnecting` not left set).
    if (!cb && this.disconnected && !this.connection_) return this;
    this.disconnecting = true;
    if (this.reconnectTimer_) timers.clearTimeout(this.reconnectTimer_);
    this.reconnectTimer_ = undefined;
    this.hookRunning_ = undefined; // a beforeReconnect still running connects nothing
    this.redirectOnce_ = undefined; // a pending 0x9C target goes: reconnect() uses the configured servers
    this.redirectPending_ = false;
    const conn = this.connection_;
    if (!conn) {
      queueMicrotask(() => this.finishEnd_());
      return this;
    }
    const closeNow = () => {
      if (this.connected) {
        const packet: PacketInput = { cmd: 'disconnect' };
        if (this.protocolVersion === 5) {
          if (opts.reasonCode !== undefined) packet.reasonCode = opts.reasonCode;
          if (opts.properties) packet.properties = opts.properties;
        }
        this.writePacket_(packet);
        this.disconnectSent_ = true; // nothing may follow DISCONNECT [MQTT-3.14.4-1]
      }
      // Let the DISCONNECT flush before the socket closes.
      queueMicrotask(() => this.connection_?.end());
    };
    // Forced: no DISCONNECT, as MQTT.js (the server publishes the will). Otherwise deferred a
    // microtask, so that acknowledgements for a message whose handler called end() go first.
    if (force) conn.destroy();
    else if (!this.connected || this.outgoing_.idle) queueMicrotask(closeNow);
    else {
      if (this.endWaiters_ === NONE) this.endWaiters_ = [];
      this.endWaiters_.push(closeNow);
    }
    return this;
  }

  private endWaitersCb_: EndCallback[] = NONE;

  /** end(true) during a graceful end(): close now, without waiting for acknowledgements. */
  private forceEnd_(): void {
    const waiting = this.endWaiters_;
    this.endWaiters_ = NONE;
    if (waiting.length > 0) {
      for (const closeNow of waiting) closeNow(); // DISCONNECT, then close
      return;
    }
    // The DISCONNECT is about to go out (end() queued it for this tick): that close is quick.
    if (this.connected && !this.disconnectSent_) return;
    // Already closing, and the peer has not closed its side: cut the connection, once what is
    // written (the DISCONNECT) has gone to the socket.
    this.uncorkNow_();
    this.connection_?.destroy();
  }
  /** reconnect() closed a live connection: the next one is opened as soon as it has closed. */
  private reconnectNow_ = false;
  /** Counts reconnect() calls: an `offline` handler that made one needs no timer as well. */
  private reconnectCalls_ = 0;
  /** reconnect() was called during end(): it runs once the end has called back. */
  private reconnectAfterEnd_ = false;
  /** end() calls held until a store is read back (they go after the calls held before them). */
  private endsHeld_ = 0;

  endAsync(force?: boolean, opts?: EndOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.end(force ?? false, opts ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  private finishEnd_(): void {
    if (this.disconnected && this.endWaitersCb_.length === 0) return;
    this.pinger_?.stop();
    this.clearConnackTimer_();
    for (const op of this.outgoing_.drain()) {
      const id = (op.packet as { messageId?: number }).messageId;
      if (id !== undefined) this.messageIdProvider.deallocate(id);
      op.cb?.(clientEnded());
    }
    // Calls held for a store still being read back: their publishes and subscriptions fail too.
    const held = this.afterRestore_;
    this.afterRestore_ = NONE;
    for (const call of held) call();
    this.endWaiters_ = NONE;
    const wasDisconnected = this.disconnected;
    this.disconnected = true;
    const callbacks = this.endWaitersCb_;
    this.endWaitersCb_ = NONE;
    this.reconnecting = false;
    const done = (error?: Error) => {
      // Cleared first, so that a callback that calls end() again is called back too.
      this.disconnecting = false;
      if (!wasDisconnected) this.emit('end');
      for (const cb of callbacks) cb(error);
      if (this.reconnectAfterEnd_) this.reconnect();
    };
    this.incomingStore.close((e1) => this.outgoingStore.close((e2) => done(e1 ?? e2)));
  }
}

/** A failure reason code in an acknowledgement; the server's Reason String, if any, ends the message. */
function ackError(
  packet: 'PUBACK' | 'PUBREC' | 'PUBCOMP' | 'SUBACK' | 'UNSUBACK',
  code: number,
  reasonString?: string,
): MqttClientError {
  const name = reasonCodeName(packet, code) ?? `reason code 0x${code.toString(16)}`;
  const detail = reasonString ? `: ${reasonString}` : '';
  return new MqttClientError('MQTT_ERR_ACK_FAILED', `${packet} failed: ${name}${detail}`, {
    reasonCode: code,
  });
}

/** A `reasonCode` the application put on an error of its own, if DISCONNECT can carry it. */
function reasonCodeOf(error: Error): number | undefined {
  const code = (error as { reasonCode?: unknown }).reasonCode;
  return typeof code === 'number' && code >= 0x80 && reasonCodeName('DISCONNECT', code) ? code : undefined;
}
