/**
 * How the CLI writes packets as JSON and reads them back. Byte fields (payloads, passwords,
 * correlation and authentication data) become one-key objects, as in schema/examples.yaml:
 *
 *   { "utf8": "hello" }   the bytes are valid UTF-8 with no control characters but tab, CR, LF
 *   { "hex": "00ff10" }   anything else
 *
 * `encode` accepts both forms (hex may contain spaces) and plain strings where the codec takes
 * them. `userProperties` is never converted: a user property may well be named "utf8" or "hex".
 */
import type { Packet, PacketInput } from '../../generated/index.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function bytesToHex(bytes: Uint8Array, separator = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && separator) out += separator;
    out += (bytes[i] as number).toString(16).padStart(2, '0');
  }
  return out;
}

/** Parses hex written as `10 14 00 06`, `101400`, `0x10,0x14` or `10:14`; null when it is not hex. */
export function hexToBytes(text: string): Uint8Array | null {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(clean)) return null;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** The UTF-8 text of `bytes` when it is valid and printable, else undefined. */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // C0 controls but \t \n \r, DEL and C1 controls make text unreadable on a terminal.
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f)) return undefined;
  }
  return text;
}

export type BinaryJson = { utf8: string } | { hex: string };

export function binaryToJson(bytes: Uint8Array): BinaryJson {
  const text = printableText(bytes);
  return text === undefined ? { hex: bytesToHex(bytes) } : { utf8: text };
}

/** A packet (decoded, or as given to `encode`) as a JSON-ready value; strings stay strings. */
export function packetToJson(packet: Packet | PacketInput): unknown {
  return toJson(packet);
}

function toJson(value: unknown, key?: string): unknown {
  if (value instanceof Uint8Array) return binaryToJson(value);
  if (Array.isArray(value)) return value.map((v) => toJson(v));
  if (value !== null && typeof value === 'object') {
    if (key === 'userProperties') return { ...value };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v, k);
    return out;
  }
  return value;
}

export class JsonPacketError extends Error {}

/** The reverse of `packetToJson`: one-key `{utf8}` / `{hex}` objects become bytes. */
export function jsonToPacket(value: unknown): PacketInput {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JsonPacketError('a packet must be a JSON object with a "cmd" field');
  }
  return fromJson(value, '') as PacketInput;
}

function fromJson(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => fromJson(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === 'utf8') {
    if (typeof o.utf8 !== 'string') throw new JsonPacketError(`${path}.utf8 must be a string`);
    return new TextEncoder().encode(o.utf8);
  }
  if (keys.length === 1 && keys[0] === 'hex') {
    const bytes = typeof o.hex === 'string' ? hexToBytes(o.hex) : null;
    if (!bytes) throw new JsonPacketError(`${path}.hex must be a string of hex digit pairs`);
    return bytes;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = k === 'userProperties' ? o[k] : fromJson(o[k], path ? `${path}.${k}` : k);
  return out;
}

/**
 * A packet as given to the client's `packetsend` event, made ready for display: string
 * payloads become bytes, so sent and received packets print alike, and the password is hidden.
 */
export function displayPacket(packet: Packet | PacketInput): unknown {
  const p = { ...packet } as Record<string, unknown>;
  if (typeof p.payload === 'string') p.payload = new TextEncoder().encode(p.payload);
  if (p.password !== undefined) p.password = '<redacted>';
  if (p.will && typeof (p.will as { payload?: unknown }).payload === 'string') {
    const will = p.will as { payload: string };
    p.will = { ...will, payload: new TextEncoder().encode(will.payload) };
  }
  return toJson(p);
}
