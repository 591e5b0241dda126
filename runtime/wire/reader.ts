/**
 * A bounds-checked cursor over one packet's bytes. Every read past `end` is a Malformed
 * Packet error naming the field, never an out-of-bounds read.
 */
import { type MqttDecodeError, malformed, protocolError } from './errors.js';
import { readUtf8 } from './utf8.js';
import { scanVbi, VBI_NEED_MORE, VBI_NOT_MINIMAL } from './vbi.js';

const SPEC_VBI = 'MQTT 5.0 §1.5.5';

const NO_BYTES = new Uint8Array(0);
/** Where scanVbi leaves the offset after a Variable Byte Integer; read at once, so one serves all. */
const SCAN = { next: 0 };

export class Reader {
  buf: Uint8Array = NO_BYTES;
  pos = 0;
  end = 0;
  /** Packet name for error messages. */
  packet = '';

  reset(buf: Uint8Array, pos: number, end: number, packet: string): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.packet = packet;
    return this;
  }

  /** Lets go of the bytes last read: an idle connection keeps no read buffer alive. */
  clear(): void {
    this.buf = NO_BYTES;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /**
   * Every read takes the name of what it reads and, optionally, the spec reference of the
   * field or property that holds it (e.g. `MQTT 5.0 §3.3.2.3.9`), which its errors then carry.
   */
  truncated(what: string, spec = 'MQTT 5.0 §2.1.4'): never {
    throw malformed('MQTT_ERR_TRUNCATED', `${this.packet}: ${what} runs past the end of the packet`, spec);
  }

  // The errors every packet's decoder can raise, for generated/decode.ts to throw: built here
  // once, naming `packet`, rather than spelled out in each decoder.

  /** Fixed header flags other than `must` (e.g. `0b0000`). */
  reservedFlags(flags: number, must: string, spec: string): MqttDecodeError {
    return malformed(
      'MQTT_ERR_RESERVED_FLAGS',
      `${this.packet}: fixed header flags are 0b${flags.toString(2).padStart(4, '0')}, must be ${must}`,
      spec,
    );
  }

  /** Bytes left after the last field. */
  trailingBytes(spec: string): MqttDecodeError {
    return malformed(
      'MQTT_ERR_TRAILING_BYTES',
      `${this.packet}: ${this.end - this.pos} unexpected bytes at the end of the packet`,
      spec,
    );
  }

  /** An MQTT 5 reason code that this packet may not carry. */
  reasonCodeNotAllowed(code: number, spec: string): MqttDecodeError {
    return malformed(
      'MQTT_ERR_REASON_CODE',
      `${this.packet}: reason code 0x${code.toString(16)} is not allowed in this packet`,
      spec,
    );
  }

  /** A Packet Identifier of 0. */
  packetIdZero(spec: string): MqttDecodeError {
    return protocolError('MQTT_ERR_PACKET_ID_ZERO', `${this.packet}: Packet Identifier is 0`, spec);
  }

  u8(what: string, spec?: string): number {
    if (this.pos >= this.end) this.truncated(what, spec);
    return this.buf[this.pos++]!;
  }

  u16(what: string, spec?: string): number {
    const p = this.pos;
    if (p + 2 > this.end) this.truncated(what, spec);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(what: string, spec?: string): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated(what, spec);
    this.pos = p + 4;
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  vbi(what: string, spec?: string): number {
    // One byte (every property identifier, most lengths): no scan needed.
    const p = this.pos;
    if (p < this.end) {
      const b = this.buf[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    const v = scanVbi(this.buf, this.pos, this.end, SCAN);
    if (v >= 0) {
      this.pos = SCAN.next;
      return v;
    }
    if (v === VBI_NEED_MORE) this.truncated(what, spec);
    const where = spec === undefined ? SPEC_VBI : `${spec}; ${SPEC_VBI}`;
    if (v === VBI_NOT_MINIMAL) {
      throw malformed(
        'MQTT_ERR_MALFORMED_VBI',
        `${this.packet}: ${what} is not minimally encoded`,
        `${where} [MQTT-1.5.5-1]`,
      );
    }
    throw malformed('MQTT_ERR_MALFORMED_VBI', `${this.packet}: ${what} is longer than 4 bytes`, where);
  }

  /** 0 or 1 as a boolean; any other value is a Protocol Error. */
  bool(what: string, spec: string): boolean {
    const b = this.u8(what, spec);
    if (b > 1)
      throw protocolError('MQTT_ERR_BAD_BOOLEAN', `${this.packet}: ${what} is ${b}, not 0 or 1`, spec);
    return b === 1;
  }

  string(what: string, spec?: string): string {
    const len = this.u16(what, spec);
    const p = this.pos;
    if (p + len > this.end) this.truncated(what, spec);
    this.pos = p + len;
    return readUtf8(this.buf, p, p + len, `${this.packet}: ${what}`, spec);
  }

  /** Binary Data: a view into the packet bytes, not a copy. */
  binary(what: string, spec?: string): Uint8Array {
    const len = this.u16(what, spec);
    const p = this.pos;
    if (p + len > this.end) this.truncated(what, spec);
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  /** The rest of the packet: a view. */
  rest(): Uint8Array {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }
}
