/**
 * Writes of fixed-size integers and length-prefixed fields into a buffer sized in advance.
 * Each returns the offset after what it wrote.
 */
import { writeUtf8 } from './utf8.js';

const encoder = new TextEncoder();

export function writeU16(buf: Uint8Array, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2;
}

export function writeU32(buf: Uint8Array, pos: number, n: number): number {
  buf[pos] = n >>> 24;
  buf[pos + 1] = (n >>> 16) & 0xff;
  buf[pos + 2] = (n >>> 8) & 0xff;
  buf[pos + 3] = n & 0xff;
  return pos + 4;
}

/** A UTF-8 string whose byte length the size pass already computed. */
export function writeString(buf: Uint8Array, pos: number, s: string, bytes: number): number {
  buf[pos] = bytes >>> 8;
  buf[pos + 1] = bytes & 0xff;
  return writeUtf8(buf, pos + 2, s, bytes);
}

export function writeBinary(buf: Uint8Array, pos: number, data: Uint8Array): number {
  const n = data.length;
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  buf.set(data, pos + 2);
  return pos + 2 + n;
}

export function writeBytes(buf: Uint8Array, pos: number, data: Uint8Array): number {
  buf.set(data, pos);
  return pos + data.length;
}

/**
 * A UTF-8 string the size pass has validated and counted, written without counting it again:
 * ASCII is copied unit by unit, the rest handed to TextEncoder; the length is patched in after.
 */
export function writeStringUnsized(buf: Uint8Array, pos: number, s: string): number {
  const start = pos + 2;
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[start + i] = c;
  }
  let end = start + i;
  if (i < n) end += encoder.encodeInto(s.slice(i), buf.subarray(end)).written;
  const len = end - start;
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  return end;
}
