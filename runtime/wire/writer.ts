/**
 * Writes of fixed-size integers and length-prefixed fields into a buffer sized in advance.
 * Each returns the offset after what it wrote.
 */
import { writeUtf8 } from './utf8.js';

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
