/**
 * Splits a byte stream into MQTT packets (fixed header §2.1: one byte of type and flags,
 * then the Remaining Length as a Variable Byte Integer) and hands each body to a decoder.
 *
 * An explicit state machine. A packet that arrives whole inside one chunk is decoded in
 * place (its fields are views of the chunk). A packet split across chunks is held as the
 * list of the pieces that carry it, and copied once, into a buffer of its exact size, when
 * its last byte arrives: memory grows only with the bytes received, never with what a
 * Remaining Length claims, and a long sequence of chunks never costs quadratic copying.
 * Pieces under SMALL bytes are first gathered into staging buffers, so a body fed one byte
 * at a time holds a few buffers rather than one view per byte.
 *
 * Like the views in decoded packets, the held pieces are views of the caller's chunks:
 * a chunk must not be reused after it is pushed.
 */
import { alloc } from './alloc.js';
import { MqttDecodeError, malformed } from './errors.js';
import { scanVbi, VBI_NEED_MORE, VBI_NOT_MINIMAL } from './vbi.js';

/** What a Framer hands each packet body to (an object, not a closure: less memory per connection). */
export interface BodyDecoder<T> {
  /** Decodes one packet body: buf[start, end) with the fixed header's first byte. */
  decodeBody_(first: number, buf: Uint8Array, start: number, end: number): T;
}

enum State {
  Header = 0, // waiting for (more of) the fixed header; bytes kept in `head`
  Body = 1, // fixed header known; filling `body`
  Failed = 2, // a decode error was thrown; the stream cannot be resynchronised
}

/** The largest packet MQTT can frame: a 4-byte Remaining Length of 268,435,455 plus its header. */
export const DEFAULT_MAXIMUM_PACKET_SIZE = 268_435_460;

const SPEC_MAX_SIZE = 'MQTT 5.0 §3.1.2.11.4 [MQTT-3.1.2-24]';

/**
 * Validates a fixed header (first byte, Remaining Length `rl` or a scanVbi error code, header
 * length) before any of the body is buffered; returns the header length.
 */
function checkHeader(first: number, rl: number, headerLen: number, maximumPacketSize: number): number {
  if (rl < 0) {
    const detail =
      rl === VBI_NOT_MINIMAL ? 'is not minimally encoded [MQTT-1.5.5-1]' : 'is longer than 4 bytes';
    throw malformed('MQTT_ERR_MALFORMED_VBI', `Remaining Length ${detail}`, 'MQTT 5.0 §2.1.4');
  }
  if (first >>> 4 === 0) {
    throw malformed('MQTT_ERR_PACKET_TYPE', 'packet type 0 is reserved', 'MQTT 5.0 §2.1.2, Table 2-1');
  }
  if (headerLen + rl > maximumPacketSize) {
    throw new MqttDecodeError(
      `packet of ${headerLen + rl} bytes exceeds the Maximum Packet Size of ${maximumPacketSize}`,
      { code: 'MQTT_ERR_PACKET_TOO_LARGE', reasonCode: 0x95, spec: SPEC_MAX_SIZE },
    );
  }
  return headerLen;
}

/**
 * Frames `bytes` as exactly one packet, with the same header checks as the Framer; returns
 * the offset of the body, which runs to the end of `bytes`.
 */
export function frameOne(bytes: Uint8Array, maximumPacketSize = DEFAULT_MAXIMUM_PACKET_SIZE): number {
  const scan = { next: 0 };
  const rl = scanVbi(bytes, 1, bytes.length, scan);
  if (rl === VBI_NEED_MORE) {
    throw malformed('MQTT_ERR_TRUNCATED', 'the fixed header is incomplete', 'MQTT 5.0 §2.1.1');
  }
  const start = checkHeader(bytes[0]!, rl, scan.next, maximumPacketSize);
  const total = start + rl;
  if (total > bytes.length) {
    throw malformed(
      'MQTT_ERR_TRUNCATED',
      `the packet needs ${total} bytes, got ${bytes.length}`,
      'MQTT 5.0 §2.1.4',
    );
  }
  if (total < bytes.length) {
    throw malformed(
      'MQTT_ERR_TRAILING_BYTES',
      `${bytes.length - total} bytes follow the packet`,
      'MQTT 5.0 §2.1.4',
    );
  }
  return start;
}

/** Pieces shorter than this are copied into a staging buffer instead of kept as views. */
const SMALL = 1024;
/** Size of a staging buffer (or less, when the body needs less). */
const STAGE = 16 * 1024;

/** Where scanVbi leaves the offset after a Remaining Length; read at once, so one serves all. */
const SCAN = { next: 0 };

export class Framer<T> {
  private state_: State = State.Header;
  /** Up to 5 fixed-header bytes received so far; made by the first header split across chunks. */
  private head_: Uint8Array | undefined;
  private headLen_ = 0;
  private first_ = 0;
  /** The pending body: its length (the Remaining Length), the bytes received, their pieces. */
  private bodyNeed_ = 0;
  private bodyLen_ = 0;
  private parts_: Uint8Array[] = [];
  private stage_: Uint8Array | undefined;
  private stageLen_ = 0;
  private error_: MqttDecodeError | undefined;
  private readonly bodies_: BodyDecoder<T>;

  constructor(
    bodies: BodyDecoder<T>,
    /** Largest whole packet accepted, fixed header included (MQTT 5.0 §3.1.2.11.4). */
    public maximumPacketSize = DEFAULT_MAXIMUM_PACKET_SIZE,
  ) {
    this.bodies_ = bodies;
  }

  /** Bytes of a partial packet currently held. */
  get buffered(): number {
    return this.state_ === State.Body ? this.bodyLen_ : this.headLen_;
  }

  /** Decodes every packet `chunk` completes, in order. Throws MqttDecodeError on bad input. */
  push(chunk: Uint8Array): T[] {
    if (this.state_ === State.Failed) throw this.error_!;
    const out: T[] = [];
    try {
      this.consume_(chunk, out);
    } catch (err) {
      this.state_ = State.Failed;
      this.error_ = err instanceof MqttDecodeError ? err : malformed('MQTT_ERR_INTERNAL', String(err));
      throw this.error_;
    }
    return out;
  }

  private consume_(chunk: Uint8Array, out: T[]): void {
    let pos = 0;
    const end = chunk.length;
    if (this.state_ === State.Body) {
      pos = this.fillBody_(chunk, 0, end, out);
    } else if (this.headLen_ > 0) {
      pos = this.fillHead_(chunk, end, out);
    }
    while (pos < end) {
      // Fast path: the fixed header is inside this chunk.
      const rl = scanVbi(chunk, pos + 1, end, SCAN);
      if (rl === VBI_NEED_MORE) {
        this.head_ ??= new Uint8Array(5);
        this.head_.set(chunk.subarray(pos, end));
        this.headLen_ = end - pos;
        return;
      }
      const first = chunk[pos]!;
      const start = checkHeader(first, rl, SCAN.next - pos, this.maximumPacketSize);
      const bodyStart = pos + start;
      if (bodyStart + rl <= end) {
        out.push(this.bodies_.decodeBody_(first, chunk, bodyStart, bodyStart + rl));
        pos = bodyStart + rl;
      } else {
        this.beginBody_(first, rl);
        pos = this.fillBody_(chunk, bodyStart, end, out);
      }
    }
  }

  /** Completes a fixed header begun in an earlier chunk; returns the offset consumed. */
  private fillHead_(chunk: Uint8Array, end: number, out: T[]): number {
    const head = this.head_!; // headLen_ > 0: consume_ made it
    let pos = 0;
    while (pos < end && this.headLen_ < 5) {
      head[this.headLen_++] = chunk[pos++]!;
      const rl = scanVbi(head, 1, this.headLen_, SCAN);
      if (rl === VBI_NEED_MORE) continue;
      const first = head[0]!;
      checkHeader(first, rl, this.headLen_, this.maximumPacketSize);
      this.headLen_ = 0;
      if (rl === 0) {
        out.push(this.bodies_.decodeBody_(first, head, 1, 1));
        return pos;
      }
      this.beginBody_(first, rl);
      return this.fillBody_(chunk, pos, end, out);
    }
    return pos;
  }

  private beginBody_(first: number, rl: number): void {
    this.first_ = first;
    this.bodyNeed_ = rl;
    this.bodyLen_ = 0;
    this.state_ = State.Body;
  }

  /** Takes what the pending body still needs from the chunk; decodes it when complete. Returns the offset consumed. */
  private fillBody_(chunk: Uint8Array, pos: number, end: number, out: T[]): number {
    const take = Math.min(this.bodyNeed_ - this.bodyLen_, end - pos);
    if (take >= SMALL) {
      this.stage_ = undefined;
      this.parts_.push(chunk.subarray(pos, pos + take));
    } else if (take > 0) {
      this.stageBytes_(chunk, pos, take);
    }
    this.bodyLen_ += take;
    if (this.bodyLen_ === this.bodyNeed_) {
      const body = this.parts_.length === 1 ? this.parts_[0]! : this.join_();
      this.state_ = State.Header;
      this.parts_ = [];
      this.stage_ = undefined;
      this.bodyLen_ = 0;
      out.push(this.bodies_.decodeBody_(this.first_, body, 0, body.length));
    }
    return pos + take;
  }

  /** Copies a small piece into the current staging buffer, starting a new one when it is full. */
  private stageBytes_(chunk: Uint8Array, pos: number, n: number): void {
    if (this.stage_ === undefined || this.stageLen_ + n > this.stage_.length) {
      this.stage_ = alloc(Math.min(STAGE, this.bodyNeed_ - this.bodyLen_));
      this.stageLen_ = 0;
      this.parts_.push(this.stage_.subarray(0, 0));
    }
    this.stage_.set(chunk.subarray(pos, pos + n), this.stageLen_);
    this.stageLen_ += n;
    this.parts_[this.parts_.length - 1] = this.stage_.subarray(0, this.stageLen_);
  }

  /** The one copy of a split body: its pieces, joined into a buffer of its exact size. */
  private join_(): Uint8Array {
    const body = alloc(this.bodyNeed_); // every byte is written below
    let at = 0;
    for (const part of this.parts_) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  }
}
