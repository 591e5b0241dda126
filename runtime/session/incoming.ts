/**
 * Incoming QoS 1/2 flows: our Receive Maximum and the order of acknowledgements. State only.
 *
 * Window (MQTT 5.0 §4.9): a PUBLISH counts from its arrival until we send PUBACK, PUBCOMP, or a
 * PUBREC with a failure code. More than our Receive Maximum at once is a Protocol Error the
 * server made, answered with DISCONNECT 0x93 [MQTT-3.3.4-9].
 *
 * Order (MQTT 5.0 §4.6 [MQTT-4.6.0-2], [MQTT-4.6.0-3]): PUBACKs and PUBRECs go out in the order
 * their PUBLISHes arrived, however the application's handlers finish. A slot is taken when the
 * PUBLISH arrives and filled when its answer is known; filled slots at the head are released.
 *
 *   slots:  [ #7 filled ][ #8 waiting ][ #9 filled ]   -> release #7; #9 waits for #8
 */
import type { PacketInput } from '../../generated/index.js';

export interface AckSlot {
  readonly messageId: number;
  /** undefined: not known yet; null: nothing to send (the message was dropped). */
  packet: PacketInput | null | undefined;
  /** False once its connection is gone: filling it sends nothing. */
  live: boolean;
}

export type Arrival = 'new' | 'duplicate' | 'exceeded';

export class Incoming {
  /** Created by the first QoS 1/2 PUBLISH: an idle connection keeps none. */
  private window_: Set<number> | undefined;
  private slots_: AckSlot[] = [];

  /** `receiveMaximum` is the one we announced in CONNECT (65535 when absent). */
  constructor(readonly receiveMaximum: number) {}

  get inWindow(): number {
    return this.window_?.size ?? 0;
  }

  /** A QoS 1/2 PUBLISH arrived. A re-sent one (same id, still open) does not count again. */
  arrive(messageId: number): Arrival {
    this.window_ ??= new Set();
    const window = this.window_;
    if (window.has(messageId)) return 'duplicate';
    if (window.size >= this.receiveMaximum) return 'exceeded';
    window.add(messageId);
    return 'new';
  }

  /** The flow of `messageId` is over for the server's count (PUBACK, PUBCOMP or failed PUBREC sent). */
  close(messageId: number): void {
    this.window_?.delete(messageId);
  }

  /** Takes the next place in the acknowledgement order. */
  slot(messageId: number): AckSlot {
    const s: AckSlot = { messageId, packet: undefined, live: true };
    this.slots_.push(s);
    return s;
  }

  /** Fills `slot` and returns the acknowledgements now free to go, in order. */
  fill(slot: AckSlot, packet: PacketInput | null): PacketInput[] {
    if (!slot.live || slot.packet !== undefined) return [];
    slot.packet = packet;
    let n = 0;
    while (n < this.slots_.length && this.slots_[n]!.packet !== undefined) n++;
    if (n === 0) return [];
    const ready: PacketInput[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.slots_[i]!.packet;
      if (p) ready.push(p);
    }
    // Usually every slot is filled (acks sent as messages arrive): empty in place, no copy.
    if (n === this.slots_.length) this.slots_.length = 0;
    else this.slots_ = this.slots_.slice(n);
    return ready;
  }

  /** The connection is gone: the server re-sends what it still needs. */
  reset(): void {
    for (const s of this.slots_) s.live = false;
    this.window_?.clear();
    this.slots_ = [];
  }
}
