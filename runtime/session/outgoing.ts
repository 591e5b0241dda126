/**
 * Outgoing operations, in the order the application made them: PUBLISH (with its QoS 1/2
 * flow), SUBSCRIBE and UNSUBSCRIBE. State only, no I/O: the client asks for the next packet to
 * write and reports acknowledgements; this module says what finished.
 *
 *   publish()/subscribe() ──► pending (FIFO) ──write──► inflight[id] ──ack──► done
 *                                 ▲                         │
 *                                 └──── connection lost ────┘  (back to the front, in order)
 *
 * Flow control (MQTT 5.0 §4.9): at most `sendLimit` QoS 1/2 PUBLISH flows are in flight; when
 * the window is full the queue waits, so nothing overtakes an older message.
 */
import type { PacketInput, PublishPacketInput, PubrelPacketInput } from '../../generated/index.js';

/** A packet's bytes: one buffer, or a PUBLISH's head and its payload, written in that order. */
export type Encoded = Uint8Array | readonly [head: Uint8Array, payload: Uint8Array];

export type OperationCallback = (error: Error | null, result?: unknown, packet?: unknown) => void;

export interface Operation {
  /** Creation order; the replay after a reconnect keeps it. */
  readonly seq: number;
  /** The packet to write next: the PUBLISH, or its PUBREL once PUBREC arrived. */
  packet: PacketInput;
  readonly qos: 0 | 1 | 2;
  readonly cb: OperationCallback | undefined;
  /** Written on an earlier connection: a PUBLISH re-sent is marked DUP [MQTT-3.3.1-1]. */
  sentBefore: boolean;
  /** Counts against the server's Receive Maximum while in flight. */
  counted: boolean;
  /** Its PUBLISH is not in the outgoing store yet: it is not written, nor anything after it. */
  storing: boolean;
  /** Extra data the client needs when the operation completes (e.g. the subscriptions). */
  readonly context?: unknown;
  /**
   * The packet encoded, kept for the write (and a PUBLISH's re-send). In every literal below, so
   * that setting it later keeps the object's shape.
   */
  bytes: Encoded | undefined;
}

/** Never written to: `next()` and `addId_()` swap in a Map or Set of the instance's own first. */
const NO_INFLIGHT = new Map<number, Operation>();
const NO_IDS = new Set<number>();

export class Outgoing {
  private queue_: Operation[] = [];
  private head_ = 0;
  /** Shared empty ones (NO_*) until the first entry: an idle client holds none of its own. */
  private inflight_ = NO_INFLIGHT;
  private seq_ = 0;
  /** Lowest sequence number handed out by createOlder. */
  private oldest_ = 0;
  private inflightPublishes_ = 0;
  /** Message ids of every unfinished operation, queued or in flight. */
  private ids_ = NO_IDS;
  /** The server's Receive Maximum (MQTT 5), or 65535. */
  sendLimit = 65_535;

  get pendingCount(): number {
    return this.queue_.length - this.head_;
  }

  get inflightCount(): number {
    return this.inflight_.size;
  }

  /** Nothing queued and nothing awaiting an acknowledgement. */
  get idle(): boolean {
    return this.pendingCount === 0 && this.inflight_.size === 0;
  }

  create(
    packet: PacketInput,
    qos: 0 | 1 | 2,
    cb: OperationCallback | undefined,
    context?: unknown,
  ): Operation {
    return {
      seq: this.seq_++,
      packet,
      qos,
      cb,
      sentBefore: false,
      counted: false,
      storing: false,
      context,
      bytes: undefined,
    };
  }

  /**
   * Operations older than any created so far (flows read back from a store), in the order
   * given: a later reconnect, which sorts by creation order, keeps them first.
   */
  createOlder(items: readonly { packet: PacketInput; qos: 0 | 1 | 2; context?: unknown }[]): Operation[] {
    this.oldest_ -= items.length;
    return items.map(({ packet, qos, context }, i) => ({
      seq: this.oldest_ + i,
      packet,
      qos,
      cb: undefined,
      sentBefore: false,
      counted: false,
      storing: false,
      context,
      bytes: undefined,
    }));
  }

  enqueue(op: Operation): void {
    const id = idOf(op);
    if (id !== undefined) this.addId_(id);
    this.queue_.push(op);
  }

  /** Puts operations at the front of the queue, ahead of everything waiting. */
  prepend(ops: Operation[]): void {
    for (const op of ops) {
      const id = idOf(op);
      if (id !== undefined) this.addId_(id);
    }
    this.queue_ = [...ops, ...this.queue_.slice(this.head_)];
    this.head_ = 0;
  }

  private addId_(id: number): void {
    if (this.ids_ === NO_IDS) this.ids_ = new Set();
    this.ids_.add(id);
  }

  /** Whether a message id belongs to an operation not yet finished. */
  has(messageId: number): boolean {
    return this.ids_.has(messageId);
  }

  get(messageId: number): Operation | undefined {
    return this.inflight_.get(messageId);
  }

  /** The next operation to write, or undefined when the queue is empty or the window is full. */
  next(): Operation | undefined {
    if (this.head_ === this.queue_.length) return undefined;
    const op = this.queue_[this.head_]!;
    if (op.storing) return undefined; // the queue keeps its order: what follows waits too
    const needsWindow = op.packet.cmd === 'publish' && op.qos > 0 && !op.counted;
    if (needsWindow && this.inflightPublishes_ >= this.sendLimit) return undefined;
    this.head_++;
    if (this.head_ > 1024 && this.head_ * 2 > this.queue_.length) {
      // Compact now and then instead of shifting every time.
      this.queue_ = this.queue_.slice(this.head_);
      this.head_ = 0;
    }
    if (needsWindow || (op.packet.cmd === 'pubrel' && !op.counted)) {
      op.counted = true;
      this.inflightPublishes_++;
    }
    const id = idOf(op);
    if (id !== undefined) {
      if (this.inflight_ === NO_INFLIGHT) this.inflight_ = new Map();
      this.inflight_.set(id, op);
    }
    return op;
  }

  /** Ends the flow of `messageId` (final ack, or an error reason code). */
  finish(messageId: number): Operation | undefined {
    const op = this.inflight_.get(messageId);
    if (!op) return undefined;
    this.inflight_.delete(messageId);
    this.ids_.delete(messageId);
    if (op.counted) {
      op.counted = false;
      this.inflightPublishes_--;
    }
    return op;
  }

  /** PUBREC arrived: the flow continues with PUBREL, written next, ahead of the queue. */
  release(messageId: number, pubrel: PubrelPacketInput): Operation | undefined {
    const op = this.inflight_.get(messageId);
    if (op?.packet.cmd !== 'publish' || op.qos !== 2) return undefined;
    op.packet = pubrel;
    return op;
  }

  /**
   * The connection is gone. Everything written and unacknowledged goes back to the front of the
   * queue in creation order, to be written again on the next connection. Returns the operations
   * that cannot survive (QoS 0 publishes when `keepQoS0` is false), removed.
   */
  requeue(keepQoS0: boolean): Operation[] {
    const back = [...this.inflight_.values()].sort((a, b) => a.seq - b.seq);
    this.inflight_.clear();
    for (const op of back) op.sentBefore = true;
    const rest = this.queue_.slice(this.head_);
    const dropped: Operation[] = [];
    const kept: Operation[] = [];
    for (const op of rest) {
      if (!keepQoS0 && op.packet.cmd === 'publish' && op.qos === 0) dropped.push(op);
      else kept.push(op);
    }
    // PUBLISH/PUBREL flows keep their window slot across the reconnect.
    this.queue_ = [...back, ...kept];
    this.head_ = 0;
    return dropped;
  }

  /** Removes every operation (the client is ending); returns them in order. */
  drain(): Operation[] {
    const all = [
      ...[...this.inflight_.values()].sort((a, b) => a.seq - b.seq),
      ...this.queue_.slice(this.head_),
    ];
    this.inflight_.clear();
    this.queue_ = [];
    this.head_ = 0;
    this.inflightPublishes_ = 0;
    this.ids_.clear();
    return all;
  }

  /** Removes one operation by message id wherever it is (removeOutgoingMessage). */
  remove(messageId: number): Operation | undefined {
    const op = this.finish(messageId);
    if (op) return op;
    for (let i = this.head_; i < this.queue_.length; i++) {
      const candidate = this.queue_[i]!;
      if (idOf(candidate) === messageId) {
        this.queue_.splice(i, 1);
        this.ids_.delete(messageId);
        // Re-queued after a reconnect, it still held its slot in the send window.
        if (candidate.counted) {
          candidate.counted = false;
          this.inflightPublishes_--;
        }
        return candidate;
      }
    }
    return undefined;
  }

  /** Removes `op` if it is still queued, never written; false when it is no longer there. */
  withdraw(op: Operation): boolean {
    const i = this.queue_.indexOf(op, this.head_);
    if (i < 0) return false;
    this.queue_.splice(i, 1);
    const id = idOf(op);
    if (id !== undefined) this.ids_.delete(id);
    return true;
  }

  /** Removes the queued (not in-flight) operations `predicate` picks; returns them. */
  removeQueued(predicate: (op: Operation) => boolean): Operation[] {
    const removed: Operation[] = [];
    const kept: Operation[] = [];
    for (let i = this.head_; i < this.queue_.length; i++) {
      const op = this.queue_[i]!;
      if (predicate(op)) removed.push(op);
      else kept.push(op);
    }
    if (removed.length === 0) return removed;
    for (const op of removed) {
      const id = idOf(op);
      if (id !== undefined) this.ids_.delete(id);
      if (op.counted) {
        op.counted = false;
        this.inflightPublishes_--;
      }
    }
    this.queue_ = kept;
    this.head_ = 0;
    return removed;
  }

  /** Packets of every unfinished QoS 1/2 flow, in order (for stores and inspection). */
  *unfinished(): IterableIterator<Operation> {
    yield* [...this.inflight_.values()].sort((a, b) => a.seq - b.seq);
    for (let i = this.head_; i < this.queue_.length; i++) yield this.queue_[i]!;
  }
}

export function idOf(op: Operation): number | undefined {
  return (op.packet as { messageId?: number }).messageId;
}

export function isPublish(op: Operation): op is Operation & { packet: PublishPacketInput } {
  return op.packet.cmd === 'publish';
}
