/**
 * MqttClient: MQTT.js's client API on the generated codec. This is the one orchestrator: it owns
 * the connection and the timers and does the I/O; the session modules (outgoing, keepalive,
 * args) hold state and decide. Events, options and callbacks follow MQTT.js v5.
 */
import {
  type AuthPacket,
  type AuthPacketInput,
  type ConnackPacket,
  type ConnectPacketInput,
  connackReturnCodeNames,
  Decoder,
  type DisconnectPacket,
  type DisconnectProperties,
  encode,
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
import { Keepalive } from './session/keepalive.js';
import { type Operation, type OperationCallback, Outgoing } from './session/outgoing.js';
import { restoredOperations } from './session/restore.js';
import { checkPublish, checkSubscribe } from './session/server-limits.js';
import { TopicAliasRecv } from './session/topic-alias-recv.js';
import { TopicAliasSend } from './session/topic-alias-send.js';
import { type AbortableOptions, withSignal } from './signal.js';
import { type PacketWithId, Store, type StoreLike } from './store.js';
import { type TimerHandle, timers } from './timers.js';
import { validateTopicName } from './topic.js';
import { transports } from './transport/registry.js';
import type { Connection, TransportOptions } from './transport/types.js';

const log = createLog('mqttforge:client');

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

  private readonly outgoing = new Outgoing();
  private connection: Connection | undefined;
  private decoder: Decoder | undefined;
  /** Increases with every connection attempt; handlers of older ones ignore their events. */
  private generation = 0;
  private attempt = 0;
  /** Reconnects scheduled since the last accepted CONNACK. */
  private reconnectAttempts = 0;
  /** What `beforeReconnect` or a server redirect changed for later connections. */
  private overrides: ConnectionUpdate = {};
  private redirectPending = false;
  /** A 0x9C Server Reference: the next connection attempt only (MQTT 5.0 §4.11). */
  private redirectOnce: ServerTarget | undefined;
  /** The current connection follows a 0x9C redirect and holds no place in the `servers` rotation. */
  private redirected = false;
  /** The unfinished flows of a persistent outgoing store are being read back. */
  private restoring = false;
  /** Calls that take message ids, made while `restoring`: run in order once the stored ids are known. */
  private afterRestore: (() => void)[] = [];
  private connackReceived = false;
  private connackTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private reconnectSuppressed = false;
  private pinger: Keepalive | undefined;
  private corked = false;
  /** A write found the connection's buffer full: queued operations wait for its `drain`. */
  private awaitingDrain = false;
  private afterFlush: (() => void)[] = [];
  /** Subscriptions the server granted, restored after a reconnect without a session. */
  private readonly resubscribeTopics = new Map<string, Granted>();
  /** Incoming packets wait here while handleMessage has not called back. */
  private backlog: Packet[] = [];
  private blocked = false;
  /** Topic aliases the server set (MQTT 5 §3.3.2.3.4). */
  private aliasesIn = new TopicAliasRecv(0);
  /** Topic aliases we set, within the server's Topic Alias Maximum. */
  private aliasesOut = new TopicAliasSend(0);
  /** PUBLISHes whose application gave an empty topic and an alias: sent as the alias alone when possible. */
  private readonly aliasOnly = new WeakSet<PublishPacketInput>();
  /** Our Receive Maximum window and the order of our acknowledgements. */
  private incoming = new Incoming(65_535);
  private auth = new AuthState(undefined);
  private reauthWaiters: { resolve: (p: AuthPacket) => void; reject: (e: Error) => void }[] = [];
  /** manualAck: delivered QoS 1/2 messages by packet id, until their flow ends. */
  private readonly pendingAcks = new Map<number, PendingAck>();
  /** Ids given up with removeOutgoingMessage: a late ack for one is not a protocol error. */
  private readonly removedIds = new Set<number>();
  private endWaiters: (() => void)[] = [];
  /** The Client Identifier the server assigned (MQTT 5), used for later connections. */
  private assignedClientId: string | undefined;
  private serverMaximumPacketSize = 268_435_460;
  private disconnectSent = false;

  constructor(options: ClientOptions | ResolvedOptions) {
    super();
    this.options = 'defaultProtocol' in options ? (options as ResolvedOptions) : resolveOptions(options);
    this.incomingStore = this.options.incomingStore ?? new Store();
    this.outgoingStore = this.options.outgoingStore ?? new Store();
    this.messageIdProvider = this.options.messageIdProvider ?? new DefaultMessageIdProvider();
    this.unhandledError = (error) => log('error with no listener: %s', (error as Error)?.message);
    if (this.options.outgoingStore) this.restoreOutgoing();
    if (!this.options.manualConnect) this.connect();
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
    if (this.connection) return this;
    this.disconnected = false;
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    this.redirected = this.redirectOnce !== undefined;
    const transportOptions = this.transportOptions(this.redirected ? this.attempt : this.attempt++);
    this.redirectOnce = undefined;
    log('connecting to %s://%s:%d', transportOptions.protocol, transportOptions.host, transportOptions.port);
    this.connackReceived = false;
    this.disconnectSent = false;
    this.awaitingDrain = false;
    this.decoder = new Decoder({
      protocolVersion: this.options.protocolVersion,
      maximumPacketSize: this.options.properties?.maximumPacketSize,
    });
    const props = this.protocolVersion === 5 ? this.options.properties : undefined;
    this.aliasesIn = new TopicAliasRecv(props?.topicAliasMaximum ?? 0);
    this.aliasesOut = new TopicAliasSend(0);
    this.incoming = new Incoming(props?.receiveMaximum ?? 65_535);
    this.auth = new AuthState(props?.authenticationMethod);
    if (props?.authenticationMethod !== undefined) this.auth.phase = 'connecting';
    this.connection = transports.open(transportOptions, {
      connect: () => live() && this.onTransportConnect(),
      data: (chunk) => live() && this.onData(chunk),
      drain: () => {
        if (!live()) return;
        this.awaitingDrain = false;
        this.flush();
      },
      error: (error) => live() && this.onTransportError(error),
      close: () => live() && this.onClose(),
    });
    this.connackTimer = timers.setTimeout(() => {
      if (!live() || this.connackReceived) return;
      this.emit('error', connectTimeout());
      this.connection?.destroy();
    }, this.options.connectTimeout);
    return this;
  }

  /**
   * The one place that builds the TransportOptions of a connection attempt: the server for
   * `attempt` (rotating through `servers`) plus the hooks that need the client instance.
   */
  transportOptions(attempt: number): TransportOptions {
    const result = transportOptionsFor(this.options, attempt);
    const o = this.overrides;
    if (o.host !== undefined) result.host = o.host;
    if (o.port !== undefined) result.port = o.port;
    if (o.protocol !== undefined) result.protocol = o.protocol;
    if (o.path !== undefined) result.path = o.path;
    const once = this.redirectOnce;
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
  private clearConnackTimer(): void {
    if (this.connackTimer) timers.clearTimeout(this.connackTimer);
    this.connackTimer = undefined;
  }

  private onTransportError(error: Error): void {
    // A reset while we are closing on purpose is the expected end of the connection.
    if (this.disconnectSent) {
      log('transport error after DISCONNECT: %s', error.message);
      return;
    }
    this.emit('error', error);
  }

  private onTransportConnect(): void {
    const o = this.options;
    const connect: ConnectPacketInput = {
      cmd: 'connect',
      protocolId: o.protocolId,
      protocolVersion: o.protocolVersion,
      clean: o.clean,
      clientId: this.overrides.clientId ?? this.assignedClientId ?? o.clientId,
      keepalive: o.keepalive,
    };
    const username = this.overrides.username ?? o.username;
    const password = this.overrides.password ?? o.password;
    if (username !== undefined) connect.username = username;
    if (password !== undefined) connect.password = password;
    if (o.will) connect.will = { ...o.will, qos: o.will.qos ?? 0, retain: o.will.retain ?? false };
    if (o.protocolVersion === 5 && o.properties) connect.properties = { ...o.properties };
    this.writePacket(connect);
    if (o.protocolVersion === 5 && o.authPacket && o.properties?.authenticationMethod) {
      this.writePacket({ cmd: 'auth', reasonCode: 0, ...o.authPacket } as AuthPacketInput);
    }
  }

  /**
   * Decodes and handles what arrived. Returns true when the next reads may wait a little to be
   * gathered into one (`batchReadsMs`): after messages and the packets of a QoS 2 handshake
   * (PUBLISH, PUBREC, PUBREL), whose answers then go out in one write. A read of PUBACKs and
   * PUBCOMPs alone ends flows and opens the send window, so the next read is taken at once.
   */
  private onData(chunk: Uint8Array): boolean {
    this.pinger?.received();
    let packets: Packet[];
    try {
      packets = this.decoder!.push(chunk);
    } catch (error) {
      this.protocolViolation(error as Error, isMqttError(error) ? (error.reasonCode ?? 0x81) : 0x81);
      return false;
    }
    let mayWait = false;
    for (const packet of packets) {
      const cmd = packet.cmd;
      if (cmd === 'publish' || cmd === 'pubrec' || cmd === 'pubrel') mayWait = true;
      if (this.blocked) this.backlog.push(packet);
      else this.handlePacket(packet);
      if (!this.connection) return false; // a handler closed the connection
    }
    return mayWait;
  }

  /** The server broke the protocol: report it, tell the server (MQTT 5), drop the connection. */
  private protocolViolation(error: Error, reasonCode: number): void {
    log('protocol violation: %s', error.message);
    this.emit('error', error);
    // Also before CONNACK: CONNECT is out, and a DISCONNECT SHOULD precede the close [MQTT-4.13.1-1].
    if (this.protocolVersion === 5 && reasonCode >= 0x80) {
      this.writePacket({ cmd: 'disconnect', reasonCode });
      this.disconnectSent = true; // nothing may follow DISCONNECT [MQTT-3.14.4-1]
    }
    this.closeGracefully();
  }

  /**
   * Flushes what is corked (a DISCONNECT must reach the server) and closes; a peer that does
   * not close its side within a second is cut off.
   */
  private closeGracefully(): void {
    const conn = this.connection;
    if (!conn) return;
    this.uncorkNow();
    conn.end();
    const generation = this.generation;
    timers.setTimeout(() => {
      if (generation === this.generation) conn.destroy();
    }, 1000);
  }

  private uncorkNow(): void {
    if (!this.corked || !this.connection) return;
    this.corked = false;
    this.connection.uncork();
  }

  private onClose(): void {
    log('connection closed');
    const wasConnected = this.connected;
    this.connected = false;
    this.connection = undefined;
    this.decoder = undefined;
    this.generation++;
    this.pinger?.stop();
    this.pinger = undefined;
    this.clearConnackTimer();
    this.backlog = [];
    this.blocked = false;
    this.aliasesIn.clear();
    this.aliasesOut.clear(); // aliases last as long as the connection [MQTT-3.3.2-7]
    this.incoming.reset();
    this.auth.phase = 'none';
    for (const w of this.reauthWaiters.splice(0)) w.reject(connectionClosed());
    for (const op of this.outgoing.requeue(this.options.queueQoSZero && !this.disconnecting)) {
      op.cb?.(connectionClosed());
    }
    this.emit('close');
    if (this.disconnecting) {
      this.finishEnd();
      return;
    }
    if (wasConnected || this.reconnecting || !this.reconnectSuppressed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const period = this.options.reconnectPeriod;
    // A redirect the application allowed (followRedirects) is followed even with reconnects off.
    const off = period <= 0 && !this.redirectPending;
    if (this.disconnecting || this.reconnectTimer || off || this.reconnectSuppressed) return;
    const max = this.options.maxReconnectAttempts;
    if (max && this.reconnectAttempts >= max) {
      log('giving up after %d reconnect attempts', this.reconnectAttempts);
      this.emit('error', reconnectFailed(this.reconnectAttempts));
      this.end(true);
      return;
    }
    if (!this.reconnecting) {
      this.reconnecting = true;
      this.emit('offline');
    }
    const attempt = ++this.reconnectAttempts;
    const delay = this.redirectPending ? 0 : reconnectDelay(attempt, period, this.options.reconnectBackoff);
    this.redirectPending = false;
    this.reconnectTimer = timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.disconnecting || this.connection) return;
      this.emit('reconnect');
      this.reconnectWithHook();
    }, delay);
  }

  /** The settings of the next connection, as `beforeReconnect` sees them. */
  private currentSettings(): ConnectionUpdate {
    const t = this.transportOptions(this.attempt);
    const o = this.options;
    const settings: ConnectionUpdate = {
      clientId: this.overrides.clientId ?? this.assignedClientId ?? o.clientId,
      host: t.host,
      port: t.port,
      protocol: t.protocol as ConnectionUpdate['protocol'],
    };
    const username = this.overrides.username ?? o.username;
    const password = this.overrides.password ?? o.password;
    if (username !== undefined) settings.username = username;
    if (password !== undefined) settings.password = password;
    if (t.path !== undefined) settings.path = t.path;
    return settings;
  }

  /** Runs `beforeReconnect` (sync or async), applies what it returns, then connects. */
  private reconnectWithHook(): void {
    const hook = this.options.beforeReconnect;
    if (!hook) {
      this.connect();
      return;
    }
    const fail = (error: unknown) => {
      if (this.disconnecting || this.connection) return;
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      this.scheduleReconnect();
    };
    const apply = (update: ConnectionUpdate | undefined) => {
      if (this.disconnecting || this.connection) return;
      if (update) {
        // Another host chosen here wins over a 0x9C redirect; `current` handed back keeps it temporary.
        if (update.host !== undefined && update.host !== this.redirectOnce?.host)
          this.redirectOnce = undefined;
        this.overrides = { ...this.overrides, ...withoutTarget(update, this.redirectOnce) };
      }
      this.connect();
    };
    let result: ReturnType<typeof hook>;
    try {
      result = hook(this.currentSettings());
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
  private redirect(reference: string | undefined, code: number): void {
    if (code !== 0x9c && code !== 0x9d) return;
    if (reference === undefined) return;
    this.emit('redirect', reference, code);
    if (!this.options.followRedirects) return;
    const target = parseServerReference(reference);
    if (!target) return;
    if (code === 0x9c) this.redirectOnce = target;
    else {
      this.overrides = { ...this.overrides, host: target.host };
      if (target.port !== undefined) this.overrides.port = target.port;
    }
    this.reconnectSuppressed = false;
    this.redirectPending = true;
  }

  /** Reconnects now (MQTT.js `client.reconnect()`), also after `end()`. */
  reconnect(): this {
    if (this.reconnectTimer) timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.reconnectSuppressed = false;
    this.disconnecting = false;
    if (this.connection) {
      this.connection.destroy();
      return this;
    }
    this.emit('reconnect');
    this.reconnectWithHook();
    return this;
  }

  private onConnack(packet: ConnackPacket): void {
    if (this.connackReceived) {
      this.protocolViolation(
        protocolViolation('a second CONNACK on the same connection', 0x82, 'MQTT 5.0 §3.2 [MQTT-3.2.0-2]'),
        0x82,
      );
      return;
    }
    this.connackReceived = true;
    this.clearConnackTimer();
    const code = this.protocolVersion === 5 ? packet.reasonCode! : packet.returnCode!;
    if (code !== 0) {
      const name =
        this.protocolVersion === 5
          ? (reasonCodeName('CONNACK', code) ?? `reason code ${code}`)
          : (connackReturnCodeNames[code] ?? `return code ${code}`);
      this.reconnectSuppressed = !this.options.reconnectOnConnackError;
      this.emit('error', new MqttConnackError(this.protocolVersion, code, name));
      if (this.protocolVersion === 5) this.redirect(packet.properties?.serverReference, code);
      this.connection?.destroy();
      return;
    }
    this.connected = true;
    this.reconnecting = false;
    this.reconnectSuppressed = false;
    this.reconnectAttempts = 0;
    // Stay on the server that answered; after a 0x9C redirect, on the configured one it replaced.
    if (!this.redirected) this.attempt = Math.max(0, this.attempt - 1);
    const props = packet.properties;
    this.serverProperties = props;
    this.outgoing.sendLimit = Math.min(props?.receiveMaximum ?? 65_535, this.options.maxInflight ?? 65_535);
    this.aliasesOut = new TopicAliasSend(props?.topicAliasMaximum ?? 0);
    if (this.auth.method !== undefined) this.auth.phase = 'connected';
    if (!packet.sessionPresent) this.pendingAcks.clear();
    this.serverMaximumPacketSize = props?.maximumPacketSize ?? 268_435_460;
    if (props?.assignedClientIdentifier) this.assignedClientId = props.assignedClientIdentifier;
    const keepalive = props?.serverKeepAlive ?? this.options.keepalive;
    this.pinger = new Keepalive(keepalive * 1000, this.options.reschedulePings, {
      ping: () => this.writePacket({ cmd: 'pingreq' }),
      timeout: () => {
        this.emit('error', keepaliveTimeout());
        this.connection?.destroy();
      },
    });
    this.pinger.start();
    // Flows a store is still reading back belong to the lost session too: start them over as well.
    if (!packet.sessionPresent && !this.heldForRestore(() => this.restartFlows())) this.restartFlows();
    this.emit('connect', packet);
    this.flush();
  }

  /**
   * The server has no session for us: flows it had are gone. Unfinished QoS 1/2 messages start
   * over as new PUBLISHes (a QoS 2 message past PUBREC is sent again rather than reported
   * delivered), and the subscriptions it granted before are requested again, ahead of the rest.
   */
  private restartFlows(): void {
    for (const op of this.outgoing.unfinished() as IterableIterator<Operation & { bytes?: Uint8Array }>) {
      op.sentBefore = false;
      const original = op.context as PublishPacketInput | undefined;
      if (op.packet.cmd === 'pubrel' && original) {
        op.packet = original;
        op.bytes = undefined;
        this.outgoingStore.put(original);
      } else if (op.packet.cmd === 'publish' && op.packet.dup) {
        // A new PUBLISH for a server that never saw the old one.
        op.packet = { ...op.packet, dup: false };
        op.bytes = undefined;
      }
    }
    // A resubscribe still queued from an earlier connection is replaced, not repeated.
    for (const op of this.outgoing.removeQueued(
      (o) => (o.context as { resubscribe?: boolean })?.resubscribe === true,
    )) {
      const id = (op.packet as { messageId?: number }).messageId;
      if (id !== undefined) this.messageIdProvider.deallocate(id);
    }
    if (!this.options.resubscribe || this.resubscribeTopics.size === 0) return;
    // One SUBSCRIBE carries one set of properties (MQTT 5): group by them, then batch.
    const groups = new Map<string, Granted[]>();
    for (const sub of this.resubscribeTopics.values()) {
      const key = this.protocolVersion === 5 && sub.properties ? JSON.stringify(sub.properties) : '';
      const list = groups.get(key) ?? [];
      list.push(sub);
      groups.set(key, list);
    }
    const ops: Operation[] = [];
    for (const subs of groups.values()) {
      for (const batch of batches(subs, this.options.subscribeBatchSize)) {
        const messageId = this.allocateId();
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
        ops.push(this.outgoing.create(packet, 1, undefined, { subs: batch, resubscribe: true }));
      }
    }
    this.outgoing.prepend(ops);
  }

  /**
   * Reads back the unfinished flows of a store that outlived its client (a FileStore after a
   * crash, or a Store passed from one client to the next). They go ahead of anything published
   * meanwhile, in the store's order; nothing is written until they are in place.
   */
  private restoreOutgoing(): void {
    const store = this.outgoingStore as StoreLike & { loadSync?: () => PacketWithId[] };
    const done = (packets: PacketWithId[]) => {
      const ops = restoredOperations(packets, this.outgoing);
      for (const op of ops) {
        const id = (op.packet as { messageId?: number }).messageId;
        if (id !== undefined) this.messageIdProvider.register(id);
      }
      this.outgoing.prepend(ops);
      this.restoring = false;
      for (const call of this.afterRestore.splice(0)) call();
      this.flush();
    };
    if (typeof store.loadSync === 'function') {
      done(store.loadSync());
      return;
    }
    this.restoring = true;
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

  /**
   * While an asynchronous store is read back, holds `call` until the stored flows are in place:
   * it takes message ids, which must not be ones a stored message holds, and goes after them.
   */
  private heldForRestore(call: () => void): boolean {
    if (!this.restoring || this.disconnecting) return false;
    this.afterRestore.push(call);
    return true;
  }

  // ───────────────────────────── writing ─────────────────────────────

  /** Encodes and writes a packet that needs no queueing (CONNECT, acks, PINGREQ, DISCONNECT). */
  private writePacket(packet: PacketInput): boolean {
    const conn = this.connection;
    if (!conn?.writable || this.disconnectSent) return false;
    let bytes: Uint8Array;
    try {
      bytes = this.encodeForServer(packet);
    } catch (error) {
      this.emit('error', error as Error);
      return false;
    }
    this.writeEncoded(conn, bytes, packet);
    return true;
  }

  /** Encodes for this connection: its protocol version, within the server's Maximum Packet Size. */
  private encodeForServer(packet: PacketInput): Uint8Array {
    return encode(packet, {
      protocolVersion: this.protocolVersion,
      maximumPacketSize: this.serverMaximumPacketSize,
    });
  }

  /** Writes encoded bytes in this tick's batch; a write counts as activity for keepalive. */
  private writeEncoded(conn: Connection, bytes: Uint8Array, packet: PacketInput): boolean {
    this.cork(conn);
    const more = conn.write(bytes);
    this.pinger?.sent();
    this.emit('packetsend', packet);
    return more;
  }

  /** Batches every write of this tick into one socket write (cork until the microtask runs). */
  private cork(conn: Connection): void {
    if (this.corked) return;
    this.corked = true;
    conn.cork();
    queueMicrotask(() => {
      this.corked = false;
      conn.uncork();
      const done = this.afterFlush;
      if (done.length === 0) return;
      this.afterFlush = [];
      for (const fn of done) fn();
    });
  }

  /** Writes queued operations while connected and the server's window allows. */
  private flush(): void {
    const conn = this.connection;
    if (!this.connected || !conn?.writable || this.disconnectSent || this.restoring || this.awaitingDrain)
      return;
    for (let op = this.outgoing.next(); op !== undefined; op = this.outgoing.next()) {
      let bytes: Uint8Array;
      try {
        bytes = this.bytesFor(op);
      } catch (error) {
        this.failOperation(op, error as Error);
        continue;
      }
      const more = this.writeEncoded(conn, bytes, op.packet);
      if (op.packet.cmd === 'publish' && op.qos === 0) {
        const cb = op.cb;
        if (cb) this.afterFlush.push(() => cb(null, op.packet));
      }
      // The socket's buffer is full: the rest waits in the queue until `drain` calls flush again,
      // so a fast publisher is held back (QoS 0 callbacks included) instead of buffering without bound.
      if (!more) {
        this.awaitingDrain = true;
        return;
      }
    }
  }

  /**
   * The bytes for `op`, encoded once and kept for a PUBLISH. A PUBLISH written on an earlier
   * connection goes again with DUP set [MQTT-3.3.1-1]; `op.packet` becomes that packet, so
   * `packetsend` reports what is on the wire.
   */
  private bytesFor(op: Operation & { bytes?: Uint8Array }): Uint8Array {
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
      const aliased = this.withAlias(out);
      if (aliased !== out) return this.encodeForServer(aliased);
    }
    if (op.bytes && op.packet.cmd === 'publish') return op.bytes;
    const bytes = this.encodeForServer(op.packet);
    if (op.packet.cmd === 'publish') op.bytes = bytes;
    return bytes;
  }

  /** The PUBLISH as it goes out on this connection, with Topic Alias applied (the original when unchanged). */
  private withAlias(p: PublishPacketInput): PublishPacketInput {
    const requested = p.properties?.topicAlias;
    const o = this.options;
    if (
      requested === undefined &&
      (this.aliasesOut.max === 0 || !(o.autoUseTopicAlias || o.autoAssignTopicAlias))
    )
      return p;
    const choice = this.aliasesOut.apply(p.topic, requested, this.aliasOnly.has(p), this.options);
    if (!choice) {
      throw new MqttClientError(
        'MQTT_ERR_TOPIC_ALIAS_INVALID',
        `Topic Alias ${requested} is outside the server's Topic Alias Maximum ${this.aliasesOut.max}`,
        { reasonCode: 0x94, spec: 'MQTT 5.0 §3.3.2.3.4 [MQTT-3.3.2-8]' },
      );
    }
    if (choice.topic === p.topic && choice.alias === requested) return p;
    return { ...p, topic: choice.topic, properties: { ...p.properties, topicAlias: choice.alias } };
  }

  private failOperation(op: Operation, error: Error): void {
    const id = (op.packet as { messageId?: number }).messageId;
    if (id !== undefined) {
      this.outgoing.remove(id);
      this.messageIdProvider.deallocate(id);
      if (op.packet.cmd === 'publish' || op.packet.cmd === 'pubrel')
        this.outgoingStore.del({ messageId: id });
    }
    op.cb?.(error);
  }

  // ───────────────────────────── incoming packets ─────────────────────────────

  private handlePacket(packet: Packet): void {
    this.emit('packetreceive', packet);
    if (!this.connackReceived && packet.cmd !== 'connack' && packet.cmd !== 'auth') {
      this.protocolViolation(
        protocolViolation(`${packet.cmd} before CONNACK`, 0x82, 'MQTT 5.0 §3.2 [MQTT-3.2.0-1]'),
        0x82,
      );
      return;
    }
    switch (packet.cmd) {
      case 'connack':
        this.onConnack(packet);
        return;
      case 'publish':
        this.onPublish(packet);
        return;
      case 'puback':
      case 'pubcomp':
        this.onFinalAck(packet);
        return;
      case 'pubrec':
        this.onPubrec(packet);
        return;
      case 'pubrel':
        this.onPubrel(packet.messageId);
        return;
      case 'suback':
        this.onSuback(packet);
        return;
      case 'unsuback':
        this.onUnsuback(packet);
        return;
      case 'pingresp':
        this.pinger?.pong();
        return;
      case 'disconnect':
        this.onServerDisconnect(packet);
        return;
      case 'auth':
        this.onAuth(packet);
        return;
      default:
        this.protocolViolation(protocolViolation(`a server does not send ${packet.cmd}`, 0x82), 0x82);
    }
  }

  private onServerDisconnect(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    log('server disconnect, reason 0x%s', code.toString(16));
    this.emit('disconnect', packet);
    if (code >= 0x80) {
      const name = reasonCodeName('DISCONNECT', code) ?? `reason code ${code}`;
      this.emit('error', serverDisconnect(code, name, packet.properties?.reasonString));
    }
    this.redirect(packet.properties?.serverReference, code);
    this.connection?.destroy();
  }

  // ───────────────────────────── enhanced authentication (MQTT 5) ─────────────────────────────

  private onAuth(packet: AuthPacket): void {
    const verdict = this.auth.check(packet);
    if (verdict.kind === 'violation') {
      this.protocolViolation(protocolViolation(verdict.message, 0x82, verdict.spec), 0x82);
      return;
    }
    if (verdict.kind === 'success') {
      this.auth.phase = 'connected';
      for (const w of this.reauthWaiters.splice(0)) w.resolve(packet);
      return;
    }
    const generation = this.generation;
    this.handleAuth(packet, (error, response) => {
      if (generation !== this.generation) return;
      if (error) {
        const refused = new MqttClientError(
          'MQTT_ERR_AUTH_FAILED',
          `Authentication failed: ${error.message}`,
          { reasonCode: reasonCodeOf(error) ?? 0x87, cause: error },
        );
        this.protocolViolation(refused, refused.reasonCode!);
        return;
      }
      this.writePacket({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: { ...response?.properties, authenticationMethod: this.auth.method! },
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
    if (this.protocolVersion !== 5 || this.auth.method === undefined) {
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
    if (!this.connected) return Promise.reject(connectionClosed());
    return withSignal<AuthPacket>(signal, (resolve, reject) => {
      const waiter = { resolve, reject };
      this.reauthWaiters.push(waiter);
      this.auth.phase = 'reauthenticating';
      this.writePacket({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { ...options.properties, authenticationMethod: this.auth.method! },
      });
      return () => {
        const i = this.reauthWaiters.indexOf(waiter);
        if (i >= 0) this.reauthWaiters.splice(i, 1);
      };
    });
  }

  /** Runs `work` with handleMessage's backpressure: packets wait until it calls back. */
  private withHandleMessage(packet: PublishPacket, then: (error?: Error) => void): void {
    let sync = true;
    let called = false;
    const generation = this.generation;
    this.blocked = true;
    this.handleMessage(packet, (error) => {
      if (called) return;
      called = true;
      if (generation !== this.generation) return; // the connection is gone; the server will resend
      then(error ?? undefined);
      if (!sync) this.unblock();
    });
    sync = false;
    if (called) this.blocked = false;
  }

  private unblock(): void {
    this.blocked = false;
    while (!this.blocked && this.backlog.length > 0 && this.connection) {
      this.handlePacket(this.backlog.shift()!);
    }
  }

  /** Override to apply backpressure: the next packet is processed when `callback` is called. */
  handleMessage(_packet: PublishPacket, callback: (error?: Error | null) => void): void {
    callback();
  }

  private onPublish(packet: PublishPacket): void {
    if (this.protocolVersion === 5) {
      const resolved = this.aliasesIn.resolve(packet.topic, packet.properties?.topicAlias);
      if ('reasonCode' in resolved) {
        this.protocolViolation(
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
      this.withHandleMessage(packet, () => {});
      return;
    }
    const messageId = packet.messageId!;
    if (this.incoming.arrive(messageId) === 'exceeded') {
      const max = this.incoming.receiveMaximum;
      this.protocolViolation(
        new MqttClientError(
          'MQTT_ERR_RECEIVE_MAXIMUM_EXCEEDED',
          `Protocol error: more than our Receive Maximum ${max} QoS 1/2 PUBLISHes unacknowledged`,
          { reasonCode: 0x93, spec: 'MQTT 5.0 §3.3.4 [MQTT-3.3.4-9]' },
        ),
        0x93,
      );
      return;
    }
    const pending = this.pendingAcks.get(messageId);
    if (pending) {
      // Sent again while the application holds it: never delivered twice. On the same connection
      // its place in the ack order stands; on a new one it takes a new place.
      if (pending.slot.live) return;
      pending.slot = this.incoming.slot(messageId);
      if (pending.acked) this.sendAck(pending.slot, this.ackFor(pending.packet, pending.reasonCode));
      return;
    }
    const slot = this.incoming.slot(messageId);
    this.options.customHandleAcks(topic, payload, packet as never, (error, reasonCode) => {
      if (error instanceof Error) {
        this.emit('error', error);
        this.sendAck(slot, null);
        return;
      }
      const code = this.protocolVersion === 5 ? (typeof error === 'number' ? error : (reasonCode ?? 0)) : 0;
      if (code >= 0x80) {
        // Refused by the application: answered now, never delivered.
        this.sendAck(slot, this.ackFor(packet, code));
        return;
      }
      if (this.options.manualAck) {
        // Delivered now, acknowledged by client.ack(); a QoS 2 id is held until PUBREL (method A, §4.3.3).
        this.pendingAcks.set(messageId, { packet, slot, acked: false, reasonCode: 0 });
        this.emit('message', topic, payload, packet);
        this.withHandleMessage(packet, (err) => err && this.emit('error', err));
        return;
      }
      if (qos === 1) {
        this.emit('message', topic, payload, packet);
        this.withHandleMessage(packet, (err) => {
          if (err) {
            this.emit('error', err);
            return;
          }
          this.sendAck(slot, this.ackFor(packet, code));
        });
        return;
      }
      // QoS 2: held until PUBREL, then delivered once (method B, MQTT 5.0 §4.3.3). Sent again before
      // PUBREL (also after a reconnect or a restart on a file store), it replaces the stored copy
      // and gets another PUBREC, not a second delivery [MQTT-4.3.3-10].
      this.incomingStore.put(packet, () => this.sendAck(slot, this.ackFor(packet, code)));
    });
  }

  /** PUBACK or PUBREC for an incoming PUBLISH. */
  private ackFor(packet: PublishPacket, code: number): PacketInput {
    const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
    const messageId = packet.messageId!;
    return this.protocolVersion === 5 && code !== 0
      ? { cmd, messageId, reasonCode: code }
      : { cmd, messageId };
  }

  /** Fills an acknowledgement slot and writes what is now in order [MQTT-4.6.0-2], [MQTT-4.6.0-3]. */
  private sendAck(slot: AckSlot, packet: PacketInput | null): void {
    if (packet === null) this.incoming.close(slot.messageId);
    for (const ack of this.incoming.fill(slot, packet)) {
      const code = (ack as { reasonCode?: number }).reasonCode ?? 0;
      if (ack.cmd === 'puback' || (ack.cmd === 'pubrec' && code >= 0x80)) {
        this.incoming.close(ack.messageId);
        this.pendingAcks.delete(ack.messageId);
      }
      this.writePacket(ack);
    }
  }

  /**
   * Acknowledges a message delivered under `manualAck` (MQTT 5 `reasonCode`: PUBACK for QoS 1,
   * PUBREC for QoS 2; 0x80 and above refuse it). Acknowledgements go out in the order the
   * messages arrived, whatever order `ack` is called in. Returns false for a message that is not
   * awaiting one (QoS 0, already acknowledged, or not manualAck).
   */
  ack(packet: PublishPacket, reasonCode = 0): boolean {
    const pending = packet.messageId === undefined ? undefined : this.pendingAcks.get(packet.messageId);
    if (!pending || pending.packet !== packet || pending.acked) return false;
    pending.acked = true;
    pending.reasonCode = this.protocolVersion === 5 ? reasonCode : 0;
    if (packet.qos === 1 || pending.reasonCode >= 0x80) this.pendingAcks.delete(packet.messageId!);
    if (pending.slot.live) this.sendAck(pending.slot, this.ackFor(packet, pending.reasonCode));
    return true;
  }

  private onPubrel(messageId: number): void {
    const pending = this.pendingAcks.get(messageId);
    if (pending?.acked) {
      this.pendingAcks.delete(messageId);
      this.incoming.close(messageId);
      this.writePacket({ cmd: 'pubcomp', messageId });
      return;
    }
    this.incomingStore.get({ messageId }, (error, stored) => {
      const pub = stored as PublishPacket | undefined;
      if (error || !pub) {
        // Already delivered and completed (a duplicate PUBREL), or never received.
        this.incoming.close(messageId);
        this.writePacket(
          this.protocolVersion === 5
            ? { cmd: 'pubcomp', messageId, reasonCode: 0x92 }
            : { cmd: 'pubcomp', messageId },
        );
        return;
      }
      this.emit('message', pub.topic, pub.payload, pub);
      this.withHandleMessage(pub, (err) => {
        if (err) {
          this.emit('error', err);
          return;
        }
        this.incomingStore.del({ messageId }, () => {
          this.incoming.close(messageId);
          this.writePacket({ cmd: 'pubcomp', messageId });
        });
      });
    });
  }

  /** An acknowledgement for an id we have no flow for [MQTT-4.3.2-?]: the server is confused. */
  private unknownAck(cmd: string, messageId: number): void {
    if (this.removedIds.delete(messageId)) {
      log('%s for removed message id %d', cmd, messageId);
      return;
    }
    this.protocolViolation(
      protocolViolation(`${cmd} for unknown packet identifier ${messageId}`, 0x82, 'MQTT 5.0 §2.2.1'),
      0x82,
    );
  }

  private onFinalAck(ack: PubackPacket | PubcompPacket | PubrecPacket): void {
    const { messageId, reasonCode } = ack;
    const op = this.outgoing.finish(messageId);
    if (!op) {
      this.unknownAck(ack.cmd === 'pubcomp' ? 'PUBCOMP' : 'PUBACK', messageId);
      return;
    }
    this.messageIdProvider.deallocate(messageId);
    this.outgoingStore.del({ messageId });
    const code = reasonCode ?? 0;
    if (code >= 0x80) {
      const cmd = op.packet.cmd === 'pubrel' ? 'PUBCOMP' : ack.cmd === 'pubrec' ? 'PUBREC' : 'PUBACK';
      op.cb?.(ackError(cmd, code, ack.properties?.reasonString));
    } else {
      op.cb?.(null, op.packet);
    }
    this.afterAck();
  }

  private onPubrec(packet: PubrecPacket): void {
    const { messageId } = packet;
    const code = packet.reasonCode ?? 0;
    if (code >= 0x80) {
      this.onFinalAck(packet);
      return;
    }
    const pubrel = { cmd: 'pubrel', messageId } as const;
    const op = this.outgoing.release(messageId, pubrel);
    if (!op) {
      // Not ours (any more): answer so the server can finish its side [MQTT-4.3.3-8].
      this.writePacket(this.protocolVersion === 5 ? { cmd: 'pubrel', messageId, reasonCode: 0x92 } : pubrel);
      return;
    }
    this.outgoingStore.put(pubrel);
    this.writePacket(pubrel);
  }

  private onSuback(packet: SubackPacket): void {
    const op = this.outgoing.get(packet.messageId);
    if (op?.packet.cmd !== 'subscribe') {
      this.unknownAck('SUBACK', packet.messageId);
      return;
    }
    const { subs } = op.context as { subs: Granted[] };
    if (packet.granted.length !== subs.length) {
      this.protocolViolation(
        protocolViolation(
          `SUBACK has ${packet.granted.length} reason codes for ${subs.length} subscriptions`,
          0x82,
          'MQTT 5.0 §3.9.3 [MQTT-3.8.4-6]',
        ),
        0x82,
      );
      return;
    }
    this.outgoing.finish(packet.messageId);
    this.messageIdProvider.deallocate(packet.messageId);
    let error: Error | null = null;
    const granted = subs.map((sub, i) => {
      const code = packet.granted[i] ?? 0x80;
      if (code >= 0x80) {
        error ??= ackError('SUBACK', code, packet.properties?.reasonString);
        this.resubscribeTopics.delete(sub.topic);
      } else {
        this.resubscribeTopics.set(sub.topic, { ...sub, qos: sub.qos });
      }
      return { ...sub, qos: code };
    });
    op.cb?.(error, granted, packet);
    this.afterAck();
  }

  private onUnsuback(packet: UnsubackPacket): void {
    const inflight = this.outgoing.get(packet.messageId);
    if (inflight?.packet.cmd !== 'unsubscribe') {
      this.unknownAck('UNSUBACK', packet.messageId);
      return;
    }
    const expected = inflight.packet.unsubscriptions.length;
    if (packet.granted !== undefined && packet.granted.length !== expected) {
      this.protocolViolation(
        protocolViolation(
          `UNSUBACK has ${packet.granted.length} reason codes for ${expected} topic filters`,
          0x82,
          'MQTT 5.0 §3.11.3 [MQTT-3.10.4-5]',
        ),
        0x82,
      );
      return;
    }
    const op = this.outgoing.finish(packet.messageId)!;
    this.messageIdProvider.deallocate(packet.messageId);
    const code = packet.granted?.find((c) => c >= 0x80);
    op.cb?.(code === undefined ? null : ackError('UNSUBACK', code, packet.properties?.reasonString), packet);
    this.afterAck();
  }

  private afterAck(): void {
    this.flush();
    if (this.outgoing.idle) {
      this.emit('outgoingEmpty');
      const waiters = this.endWaiters;
      this.endWaiters = [];
      for (const w of waiters) w();
    }
  }

  // ───────────────────────────── public operations ─────────────────────────────

  private allocateId(): number | null {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.messageIdProvider.allocate();
      if (id === null) return null;
      if (!this.outgoing.has(id)) {
        this.removedIds.delete(id);
        return id;
      }
    }
    return null;
  }

  /** Fails `cb` asynchronously, as MQTT.js does, so callers see one code path. */
  private failLater(cb: ((error: Error) => void) | undefined, error: Error): this {
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
    if (this.restoring && this.heldForRestore(() => this.startPublish(topic, message, opts, cb))) return this;
    this.startPublish(topic, message, opts, cb);
    return this;
  }

  /** publish(), returning the queued operation (undefined when it failed). */
  private startPublish(
    topic: string,
    message: Payload,
    opts: PublishOptions,
    cb: PublishCallback | undefined,
  ): Operation | undefined {
    const fail = (error: Error) => {
      this.failLater(cb, error);
      return undefined;
    };
    if (this.disconnecting || (this.disconnected && !this.connection)) return fail(clientEnded());
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
        const known = this.aliasesOut.topicOf(alias);
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
        this.aliasOnly.add(packet);
      }
    }
    if (qos > 0) {
      const id = this.allocateId();
      if (id === null) return fail(noMessageId());
      packet.messageId = id;
    }
    const failReleasing = (error: Error) => {
      if (packet.messageId !== undefined) this.messageIdProvider.deallocate(packet.messageId);
      return fail(error);
    };
    let bytes: Uint8Array;
    try {
      // Encoding now checks the packet while the caller is still here, and the bytes are reused.
      bytes = this.encodeForServer(packet);
    } catch (error) {
      return failReleasing(error as Error);
    }
    if (!this.connected && qos === 0 && !this.options.queueQoSZero) return failReleasing(connectionClosed());
    const limit = this.options.maxQueuedMessages;
    if (!this.connected && limit !== undefined && this.outgoing.pendingCount >= limit) {
      return failReleasing(queueFull(limit));
    }
    const op = this.outgoing.create(
      packet,
      qos,
      cb as OperationCallback | undefined,
      qos === 2 ? packet : undefined,
    ) as Operation & {
      bytes?: Uint8Array;
    };
    op.bytes = bytes;
    if (qos > 0) this.outgoingStore.put(packet);
    this.outgoing.enqueue(op);
    if (opts.cbStorePut) queueMicrotask(opts.cbStorePut);
    this.flush();
    return op;
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
        op = this.startPublish(topic, message, opts ?? {}, (error, packet) =>
          error ? reject(error) : resolve(packet),
        );
      };
      if (!this.heldForRestore(start)) start();
      return () => {
        withdrawn = true;
        const id = (op?.packet as { messageId?: number } | undefined)?.messageId;
        if (id !== undefined && this.outgoing.has(id) && !this.outgoing.get(id))
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
    const fail = (error: Error) => this.failLater(cb ? (e) => cb(e) : undefined, error);
    if (this.disconnecting) return fail(clientEnded());
    if (this.restoring && this.heldForRestore(() => this.subscribe(topics, opts, cb))) return this;
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
      const messageId = this.allocateId();
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
      const op = this.outgoing.create(
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
      this.outgoing.enqueue(op);
    });
    this.flush();
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
    if (this.disconnecting) return this.failLater(cb, clientEnded());
    if (this.restoring && this.heldForRestore(() => this.unsubscribe(topics, opts, cb))) return this;
    const list = unsubscriptionsFor(topics);
    if (!Array.isArray(list)) return this.failLater(cb, list);
    const messageId = this.allocateId();
    if (messageId === null) return this.failLater(cb, noMessageId());
    for (const t of list) this.resubscribeTopics.delete(t);
    const packet: PacketInput = { cmd: 'unsubscribe', messageId, unsubscriptions: list };
    if (this.protocolVersion === 5 && opts.properties) packet.properties = opts.properties;
    this.outgoing.enqueue(
      this.outgoing.create(packet, 1, (error, result) => cb?.(error ?? undefined, result as UnsubackPacket)),
    );
    this.flush();
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
    const op = this.outgoing.remove(messageId);
    if (op) {
      this.removedIds.add(messageId);
      this.messageIdProvider.deallocate(messageId);
      this.outgoingStore.del({ messageId });
      op.cb?.(new MqttClientError('MQTT_ERR_MESSAGE_REMOVED', 'Message removed'));
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
    if (!force && this.afterRestore.length > 0 && this.heldForRestore(() => this.end(force, opts, cb)))
      return this;
    if (cb) this.endWaitersCb.push(cb);
    if (this.disconnecting) return this;
    this.disconnecting = true;
    if (this.reconnectTimer) timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = this.connection;
    if (!conn) {
      queueMicrotask(() => this.finishEnd());
      return this;
    }
    const closeNow = () => {
      if (this.connected) {
        const packet: PacketInput = { cmd: 'disconnect' };
        if (this.protocolVersion === 5) {
          if (opts.reasonCode !== undefined) packet.reasonCode = opts.reasonCode;
          if (opts.properties) packet.properties = opts.properties;
        }
        this.writePacket(packet);
        this.disconnectSent = true; // nothing may follow DISCONNECT [MQTT-3.14.4-1]
      }
      // Let the DISCONNECT flush before the socket closes.
      queueMicrotask(() => this.connection?.end());
    };
    // Deferred a microtask, so that acknowledgements for a message whose handler called end() go first.
    if (force) closeNow();
    else if (!this.connected || this.outgoing.idle) queueMicrotask(closeNow);
    else this.endWaiters.push(closeNow);
    return this;
  }

  private endWaitersCb: EndCallback[] = [];

  endAsync(force?: boolean, opts?: EndOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.end(force ?? false, opts ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  private finishEnd(): void {
    if (this.disconnected && this.endWaitersCb.length === 0) return;
    this.pinger?.stop();
    this.clearConnackTimer();
    for (const op of this.outgoing.drain()) {
      const id = (op.packet as { messageId?: number }).messageId;
      if (id !== undefined) this.messageIdProvider.deallocate(id);
      op.cb?.(clientEnded());
    }
    // Calls held for a store still being read back: their publishes and subscriptions fail too.
    for (const call of this.afterRestore.splice(0)) call();
    this.endWaiters = [];
    const wasDisconnected = this.disconnected;
    this.disconnected = true;
    const callbacks = this.endWaitersCb;
    this.endWaitersCb = [];
    this.reconnecting = false;
    const done = (error?: Error) => {
      // Cleared first, so that a callback that calls end() again is called back too.
      this.disconnecting = false;
      if (!wasDisconnected) this.emit('end');
      for (const cb of callbacks) cb(error);
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
