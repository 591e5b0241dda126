/**
 * MQTT.js's in-memory `Store`, and `StoreLike`, the shape the session core programs against.
 * A store holds the packets of unfinished QoS 1/2 flows, keyed by message id, in insertion order.
 *
 * `createStream()` returns a `PacketStream` rather than a Node `Readable`, so the browser build
 * never pulls in Node streams. It is consumed with `for await` or `.on('data')`/`.on('end')`;
 * a user-supplied store that returns a Node `Readable` satisfies the same `StoreLike` type.
 */
import { ClientErrorCode, MqttClientError, storeMissingPacket } from './errors.js';

/** The least a stored packet has: MQTT packets with a message id. */
export interface PacketWithId {
  readonly cmd: string;
  messageId?: number;
}

export type DoneCallback = (error?: Error) => void;
export type PacketCallback<P> = (error: Error | null, packet?: P) => void;

/** What `createStream()` must return: an async iterable that can be stopped early. */
export interface PacketStreamLike<P> extends AsyncIterable<P> {
  destroy(): unknown;
}

export interface StoreLike<P extends PacketWithId = PacketWithId> {
  put(packet: P, cb?: DoneCallback): unknown;
  get(packet: Pick<P, 'messageId'>, cb: PacketCallback<P>): unknown;
  del(packet: Pick<P, 'messageId'>, cb?: PacketCallback<P>): unknown;
  createStream(): PacketStreamLike<P>;
  close(cb?: DoneCallback): void;
}

export interface StoreOptions {
  /** Drop the stored packets on `close()` (default true, as in MQTT.js). */
  clean?: boolean;
}

type StreamEvent = 'data' | 'end' | 'close' | 'error';

/**
 * A snapshot of the store's packets at the time `createStream()` was called. With `.on('data')`
 * the packets flow on a later microtask, then `end`, then `close`; `destroy()` stops the flow and
 * emits `close` once.
 */
export class PacketStream<P> implements PacketStreamLike<P> {
  private readonly packets_: readonly P[];
  private readonly listeners_ = new Map<StreamEvent, Array<(value?: unknown) => void>>();
  private flowing_ = false;
  private destroyed_ = false;
  private closed_ = false;

  constructor(packets: readonly P[]) {
    this.packets_ = packets;
  }

  on(event: 'data', listener: (packet: P) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: StreamEvent, listener: (value: never) => void): this {
    const list = this.listeners_.get(event) ?? [];
    list.push(listener as (value?: unknown) => void);
    this.listeners_.set(event, list);
    if (event === 'data' && !this.flowing_) {
      this.flowing_ = true;
      queueMicrotask(() => this.flow_());
    }
    return this;
  }

  destroy(): this {
    if (this.destroyed_) return this;
    this.destroyed_ = true;
    queueMicrotask(() => this.emitClose_());
    return this;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<P> {
    for (const packet of this.packets_) {
      if (this.destroyed_) return;
      yield packet;
    }
  }

  private flow_(): void {
    for (const packet of this.packets_) {
      if (this.destroyed_) return;
      this.emit_('data', packet);
    }
    if (this.destroyed_) return;
    this.emit_('end');
    this.destroyed_ = true;
    this.emitClose_();
  }

  private emitClose_(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.emit_('close');
  }

  private emit_(event: StreamEvent, value?: unknown): void {
    for (const listener of this.listeners_.get(event) ?? []) listener(value);
  }
}

/** The options of every Store made without `clean: false` (read-only, so one object serves all). */
const CLEAN: Readonly<Required<StoreOptions>> = Object.freeze({ clean: true });

export class Store<P extends PacketWithId = PacketWithId> implements StoreLike<P> {
  readonly options: Readonly<Required<StoreOptions>>;
  /** Created by the first `put`: most clients never store a packet in one of their two stores. */
  private inflights_: Map<number, P> | undefined;

  constructor(options: StoreOptions = {}) {
    this.options = options.clean === false ? { clean: false } : CLEAN;
  }

  /** Adds or replaces the packet with this message id; a replacement keeps its original place. */
  put(packet: P, cb?: DoneCallback): this {
    if (packet.messageId === undefined) {
      cb?.(new MqttClientError(ClientErrorCode.NoMessageId, 'cannot store a packet without a messageId'));
      return this;
    }
    this.inflights_ ??= new Map();
    this.inflights_.set(packet.messageId, packet);
    cb?.();
    return this;
  }

  get(packet: Pick<P, 'messageId'>, cb: PacketCallback<P>): this {
    const stored = packet.messageId === undefined ? undefined : this.inflights_?.get(packet.messageId);
    if (stored) cb(null, stored);
    else cb(storeMissingPacket(packet.messageId));
    return this;
  }

  del(packet: Pick<P, 'messageId'>, cb?: PacketCallback<P>): this {
    const stored = packet.messageId === undefined ? undefined : this.inflights_?.get(packet.messageId);
    if (stored) {
      this.inflights_!.delete(stored.messageId as number);
      cb?.(null, stored);
    } else cb?.(storeMissingPacket(packet.messageId));
    return this;
  }

  createStream(): PacketStream<P> {
    return new PacketStream(this.inflights_ ? [...this.inflights_.values()] : []);
  }

  /** Number of stored packets. */
  get size(): number {
    return this.inflights_?.size ?? 0;
  }

  close(cb?: DoneCallback): void {
    if (this.options.clean) this.inflights_ = undefined;
    cb?.();
  }
}
