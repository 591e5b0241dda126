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

/** Decodes one packet body: buf[start, end) with the fixed header's first byte. */
export type BodyDecoder<T> = (first: number, buf: Uint8Array, start: number, end: number) => T;

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

export class Framer<T> {
  private state: State = State.Header;
  /** Up to 5 fixed-header bytes received so far. */
  private readonly head = new Uint8Array(5);
  private headLen = 0;
  private first = 0;
  /** The pending body: its length (the Remaining Length), the bytes received, their pieces. */
  private bodyNeed = 0;
  private bodyLen = 0;
  private parts: Uint8Array[] = [];
  private stage: Uint8Array | undefined;
  private stageLen = 0;
  private readonly scan = { next: 0 };
  private error: MqttDecodeError | undefined;

  constructor(
    private readonly decodeBody: BodyDecoder<T>,
    /** Largest whole packet accepted, fixed header included (MQTT 5.0 §3.1.2.11.4). */
    public maximumPacketSize = DEFAULT_MAXIMUM_PACKET_SIZE,
  ) {}

  /** Bytes of a partial packet currently held. */
  get buffered(): number {
    return this.state === State.Body ? this.bodyLen : this.headLen;
  }

  /** Decodes every packet `chunk` completes, in order. Throws MqttDecodeError on bad input. */
  push(chunk: Uint8Array): T[] {
    if (this.state === State.Failed) throw this.error!;
    const out: T[] = [];
    try {
      this.consume(chunk, out);
    } catch (err) {
      this.state = State.Failed;
      this.error = err instanceof MqttDecodeError ? err : malformed('MQTT_ERR_INTERNAL', String(err));
      throw this.error;
    }
    return out;
  }

  private consume(chunk: Uint8Array, out: T[]): void {
    let pos = 0;
    const end = chunk.length;
    if (this.state === State.Body) {
      pos = this.fillBody(chunk, 0, end, out);
    } else if (this.headLen > 0) {
      pos = this.fillHead(chunk, end, out);
    }
    while (pos < end) {
      // Fast path: the fixed header is inside this chunk.
      const rl = scanVbi(chunk, pos + 1, end, this.scan);
      if (rl === VBI_NEED_MORE) {
        this.head.set(chunk.subarray(pos, end));
        this.headLen = end - pos;
        return;
      }
      const first = chunk[pos]!;
      const start = checkHeader(first, rl, this.scan.next - pos, this.maximumPacketSize);
      const bodyStart = pos + start;
      if (bodyStart + rl <= end) {
        out.push(this.decodeBody(first, chunk, bodyStart, bodyStart + rl));
        pos = bodyStart + rl;
      } else {
        this.beginBody(first, rl);
        pos = this.fillBody(chunk, bodyStart, end, out);
      }
    }
  }

  /** Completes a fixed header begun in an earlier chunk; returns the offset consumed. */
  private fillHead(chunk: Uint8Array, end: number, out: T[]): number {
    let pos = 0;
    while (pos < end && this.headLen < 5) {
      this.head[this.headLen++] = chunk[pos++]!;
      const rl = scanVbi(this.head, 1, this.headLen, this.scan);
      if (rl === VBI_NEED_MORE) continue;
      const first = this.head[0]!;
      checkHeader(first, rl, this.headLen, this.maximumPacketSize);
      this.headLen = 0;
      if (rl === 0) {
        out.push(this.decodeBody(first, this.head, 1, 1));
        return pos;
      }
      this.beginBody(first, rl);
      return this.fillBody(chunk, pos, end, out);
    }
    return pos;
  }

  private beginBody(first: number, rl: number): void {
    this.first = first;
    this.bodyNeed = rl;
    this.bodyLen = 0;
    this.state = State.Body;
  }

  /** Takes what the pending body still needs from the chunk; decodes it when complete. Returns the offset consumed. */
  private fillBody(chunk: Uint8Array, pos: number, end: number, out: T[]): number {
    const take = Math.min(this.bodyNeed - this.bodyLen, end - pos);
    if (take >= SMALL) {
      this.stage = undefined;
      this.parts.push(chunk.subarray(pos, pos + take));
    } else if (take > 0) {
      this.stageBytes(chunk, pos, take);
    }
    this.bodyLen += take;
    if (this.bodyLen === this.bodyNeed) {
      const body = this.parts.length === 1 ? this.parts[0]! : this.join();
      this.state = State.Header;
      this.parts = [];
      this.stage = undefined;
      this.bodyLen = 0;
      out.push(this.decodeBody(this.first, body, 0, body.length));
    }
    return pos + take;
  }

  /** Copies a small piece into the current staging buffer, starting a new one when it is full. */
  private stageBytes(chunk: Uint8Array, pos: number, n: number): void {
    if (this.stage === undefined || this.stageLen + n > this.stage.length) {
      this.stage = alloc(Math.min(STAGE, this.bodyNeed - this.bodyLen));
      this.stageLen = 0;
      this.parts.push(this.stage.subarray(0, 0));
    }
    this.stage.set(chunk.subarray(pos, pos + n), this.stageLen);
    this.stageLen += n;
    this.parts[this.parts.length - 1] = this.stage.subarray(0, this.stageLen);
  }

  /** The one copy of a split body: its pieces, joined into a buffer of its exact size. */
  private join(): Uint8Array {
    const body = alloc(this.bodyNeed); // every byte is written below
    let at = 0;
    for (const part of this.parts) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  }
}
