/**
 * UTF-8 Encoded Strings (MQTT 5.0 §1.5.4, MQTT 3.1.1 §1.5.3): validated on both sides.
 * Short ASCII strings, the common case for topics and property names, take a byte loop;
 * anything else goes through TextEncoder / a fatal TextDecoder.
 */
import { encodeError, malformed } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const SPEC_STRING = 'MQTT 5.0 §1.5.4';

/**
 * Byte length of `s` as UTF-8, rejecting U+0000 [MQTT-1.5.4-2] and lone surrogates
 * [MQTT-1.5.4-1], which TextEncoder would silently replace with U+FFFD.
 */
export function utf8Length(s: string, what: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0)
        throw encodeError('MQTT_ERR_STRING_NULL', `${what} contains U+0000`, `${SPEC_STRING} [MQTT-1.5.4-2]`);
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
        throw encodeError(
          'MQTT_ERR_STRING_SURROGATE',
          `${what} contains a lone surrogate`,
          `${SPEC_STRING} [MQTT-1.5.4-1]`,
        );
      }
      bytes += 2; // the pair is 4 bytes for 2 UTF-16 units
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Writes `s` (already measured by utf8Length, `bytes` long) at `pos`; returns the new offset. */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, bytes: number): number {
  if (bytes === s.length) {
    // ASCII: one byte per unit, no encoder call.
    for (let i = 0; i < bytes; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + bytes;
  }
  encoder.encodeInto(s, buf.subarray(pos, pos + bytes));
  return pos + bytes;
}

/** Encodes an arbitrary string (a payload) without the string rules. */
export function encodeText(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Decodes bytes [start, end) as an MQTT UTF-8 string. Throws a Malformed Packet error for
 * ill-formed UTF-8, encoded surrogates [MQTT-1.5.4-1] or U+0000 [MQTT-1.5.4-2]; `spec`, when
 * given, names the field or property that holds the string.
 */
export function readUtf8(buf: Uint8Array, start: number, end: number, what: string, spec?: string): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0) {
      throw malformed('MQTT_ERR_STRING_NULL', `${what} contains U+0000`, `${where(spec)} [MQTT-1.5.4-2]`);
    }
    if (c >= 0x80) ascii = false;
  }
  if (ascii) {
    // A Node Buffer decodes ASCII natively; elsewhere, short ASCII is built directly, which beats a decoder call.
    const n = end - start;
    // EXPERIMENT: up to 12 characters the JS loop builds a flat string faster than a native call.
    if (n <= 12) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
    const latin1 = (buf as { latin1Slice?: (s: number, e: number) => string }).latin1Slice;
    if (latin1 !== undefined) return latin1.call(buf, start, end);
    if (n < 48) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
  }
  try {
    return decoder.decode(buf.subarray(start, end));
  } catch {
    throw malformed(
      'MQTT_ERR_STRING_UTF8',
      `${what} is not well-formed UTF-8`,
      `${where(spec)} [MQTT-1.5.4-1]`,
    );
  }
}

function where(spec: string | undefined): string {
  return spec === undefined ? SPEC_STRING : `${spec}; ${SPEC_STRING}`;
}
