/** The golden fixtures of schema/examples.yaml, with their binary fields as bytes. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PacketInput, ProtocolVersion } from '../../generated/index.js';
import { loadModel, type Model } from '../../generator/model.js';

export const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');

let cached: Model | undefined;
export function model(): Model {
  cached ??= loadModel(schemaDir);
  return cached;
}

export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function repeat(pattern: string, count: number): Uint8Array {
  const unit = hexToBytes(pattern);
  const out = new Uint8Array(unit.length * count);
  for (let i = 0; i < count; i++) out.set(unit, i * unit.length);
  return out;
}

/** Turns the YAML forms { utf8 } / { hex } / { repeat, count } into Uint8Arrays. */
function materialise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(materialise);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.utf8 === 'string') return new TextEncoder().encode(o.utf8);
    if (keys.length === 1 && typeof o.hex === 'string') return hexToBytes(o.hex);
    if (keys.length === 2 && typeof o.repeat === 'string' && typeof o.count === 'number')
      return repeat(o.repeat, o.count);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = materialise(o[k]);
    return out;
  }
  return value;
}

export interface Golden {
  name: string;
  ref: string;
  protocolVersion: ProtocolVersion;
  packet: PacketInput;
  bytes: Uint8Array;
}

export function goldens(): Golden[] {
  return model().examples.map((e) => {
    let bytes = hexToBytes(e.hex);
    if (e.payloadHex) {
      const tail = repeat(e.payloadHex.repeat, e.payloadHex.count);
      const all = new Uint8Array(bytes.length + tail.length);
      all.set(bytes);
      all.set(tail, bytes.length);
      bytes = all;
    }
    return {
      name: e.name,
      ref: [e.figure, e.spec].filter(Boolean).join(', '),
      protocolVersion: e.protocolVersion,
      packet: materialise(e.packet) as PacketInput,
      bytes,
    };
  });
}

/** Deep copy with every byte array as a plain hex string, so Buffer and Uint8Array compare equal. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${toHex(value)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty keeps a key such as "__proto__" (a User Property name) as data
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: plain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
