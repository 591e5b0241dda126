/**
 * Variable Byte Integer (MQTT 5.0 §1.5.5, MQTT 3.1.1 §2.2.3).
 *
 *   byte:  | C | v6 v5 v4 v3 v2 v1 v0 |   C = more bytes follow
 *   value = b0 & 0x7f  +  (b1 & 0x7f) << 7  +  (b2 & 0x7f) << 14  +  (b3 & 0x7f) << 21
 */
export const VBI_MAX = 268_435_455;

export function vbiLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes `n` (0 ≤ n ≤ VBI_MAX, checked by the caller) at `pos`; returns the new offset. */
export function writeVbi(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Result codes of `scanVbi` other than a value ≥ 0. */
export const VBI_NEED_MORE = -1;
export const VBI_TOO_LONG = -2;
export const VBI_NOT_MINIMAL = -3;

/**
 * Reads a VBI from buf[pos, end). Returns the value and sets `scan.next` to the offset after
 * it, or returns VBI_NEED_MORE (the bytes stop mid-integer), VBI_TOO_LONG (a fifth byte) or
 * VBI_NOT_MINIMAL (a trailing zero group [MQTT-1.5.5-1]).
 */
export function scanVbi(buf: Uint8Array, pos: number, end: number, scan: { next: number }): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) return VBI_NEED_MORE;
    const b = buf[pos + i]!;
    // A shift, not `2 ** shift` (a call to pow in V8's optimized code): at most 127 << 21, well
    // within 31 bits.
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      if (b === 0 && i > 0) return VBI_NOT_MINIMAL;
      scan.next = pos + i + 1;
      return value;
    }
    shift += 7;
  }
  return VBI_TOO_LONG;
}
