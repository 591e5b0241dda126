/**
 * Helpers shared by the codec tests: error assertions, one minimal valid MQTT 5 packet per
 * property set, an independent encoder for single property values, and byte surgery on
 * encoded packets (splicing into a property block, rebuilding the fixed header).
 */
import assert from 'node:assert/strict';
import {
  Decoder,
  decode,
  encode,
  isMqttError,
  MqttDecodeError,
  MqttEncodeError,
  type PacketInput,
  type ProtocolVersion,
} from '../../generated/index.js';
import type { Property } from '../../generator/model.js';
import { concat } from '../helpers/examples.js';

const utf8 = new TextEncoder();

/** Runs `fn` and checks that it throws an MqttDecodeError with this code and reason code. */
export function throwsDecode(
  fn: () => unknown,
  code: string,
  reasonCode: number | undefined,
): MqttDecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(caught instanceof MqttDecodeError, `expected an MqttDecodeError, got ${String(caught)}`);
  assert.equal(caught.code, code, String(caught));
  assert.equal(caught.reasonCode, reasonCode, String(caught));
  return caught;
}

/** Runs `fn` and checks that it throws an MqttEncodeError with this code (and reason code). */
export function throwsEncode(fn: () => unknown, code: string, reasonCode?: number): MqttEncodeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(caught instanceof MqttEncodeError, `expected an MqttEncodeError, got ${String(caught)}`);
  assert.equal(caught.code, code, String(caught));
  assert.equal(caught.reasonCode, reasonCode, String(caught));
  return caught;
}

/**
 * Checks that `bytes` is rejected with this code and reason code by `decode` and by a
 * streaming Decoder, whole and fed one byte at a time.
 */
export function rejects(
  bytes: Uint8Array,
  protocolVersion: ProtocolVersion,
  code: string,
  reasonCode: number | undefined,
): void {
  const opts = { protocolVersion };
  throwsDecode(() => decode(bytes, opts), code, reasonCode);
  throwsDecode(() => new Decoder(opts).push(bytes), code, reasonCode);
  const d = new Decoder(opts);
  throwsDecode(
    () => {
      for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1));
    },
    code,
    reasonCode,
  );
}

/** True for an error the codec may throw on bad input: typed, branded, not an internal failure. */
export function isTypedDecodeError(err: unknown): boolean {
  return isMqttError(err) && err instanceof MqttDecodeError && err.code !== 'MQTT_ERR_INTERNAL';
}

/** A minimal valid MQTT 5 packet whose property block is `set`'s (WILL: the will properties). */
export function baseV5(set: string, properties?: object): PacketInput {
  const props = properties === undefined ? {} : { properties };
  switch (set) {
    case 'CONNECT':
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepalive: 0,
        clientId: 'c',
        ...props,
      };
    case 'WILL':
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepalive: 0,
        clientId: 'c',
        will: { topic: 'w', payload: utf8.encode('p'), qos: 0, retain: false, ...props },
      };
    case 'CONNACK':
      return { cmd: 'connack', sessionPresent: false, reasonCode: 0, ...props };
    case 'PUBLISH':
      return {
        cmd: 'publish',
        topic: 't',
        payload: utf8.encode('x'),
        qos: 1,
        dup: false,
        retain: false,
        messageId: 1,
        ...props,
      };
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      return { cmd: set.toLowerCase() as 'puback', messageId: 1, reasonCode: 0, ...props };
    case 'SUBSCRIBE':
      return {
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'a', qos: 0, nl: false, rap: false, rh: 0 }],
        ...props,
      };
    case 'SUBACK':
      return { cmd: 'suback', messageId: 1, granted: [0], ...props };
    case 'UNSUBSCRIBE':
      return { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a'], ...props };
    case 'UNSUBACK':
      return { cmd: 'unsuback', messageId: 1, granted: [0], ...props };
    case 'DISCONNECT':
      return { cmd: 'disconnect', reasonCode: 0, ...props };
    case 'AUTH':
      return { cmd: 'auth', reasonCode: 0, ...props };
    default:
      throw new Error(`no base packet for property set ${set}`);
  }
}

export function vbiBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function str(s: string): number[] {
  const b = utf8.encode(s);
  return [...u16(b.length), ...b];
}

/**
 * The wire form of one property (identifier and value), written here from MQTT 5.0 §1.5 and
 * §2.2.2.2 independently of the codec. For pair, `value` is [name, value].
 */
export function wireProperty(p: Property, value: unknown): Uint8Array {
  const out: number[] = [p.id];
  switch (p.type) {
    case 'bool':
      out.push(value === true ? 1 : value === false ? 0 : (value as number));
      break;
    case 'byte':
      out.push(value as number);
      break;
    case 'u16':
      out.push(...u16(value as number));
      break;
    case 'u32': {
      const n = value as number;
      out.push((n / 0x1000000) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
      break;
    }
    case 'vbi':
      out.push(...vbiBytes(value as number));
      break;
    case 'string':
      out.push(...str(value as string));
      break;
    case 'binary': {
      const b = value as Uint8Array;
      out.push(...u16(b.length), ...b);
      break;
    }
    case 'pair': {
      const [name, v] = value as [string, string];
      out.push(...str(name), ...str(v));
      break;
    }
  }
  return Uint8Array.from(out);
}

/** Splits an encoded packet into its first byte and its body (after the Remaining Length). */
export function splitPacket(bytes: Uint8Array): { first: number; body: Uint8Array } {
  let i = 1;
  while (bytes[i]! & 0x80) i++;
  return { first: bytes[0]!, body: bytes.subarray(i + 1) };
}

/** A packet with this first byte and body, and a correct Remaining Length. */
export function packet(first: number, body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  return concat(Uint8Array.from([first, ...vbiBytes(b.length)]), b);
}

/** Index of the first occurrence of `needle` in `hay`, or -1. */
export function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The user property the splice helpers look for: name `name`, value "v". */
export function marker(name: string): Uint8Array {
  return Uint8Array.from([0x26, ...str(name), ...str('v')]);
}

/**
 * Inserts `extra` into the property block that holds `marker` as its only property (so its
 * Property Length is one byte, just before the marker), and fixes the Property Length and
 * the Remaining Length.
 */
export function spliceAfterMarker(bytes: Uint8Array, mark: Uint8Array, extra: Uint8Array): Uint8Array {
  const { first, body } = splitPacket(bytes);
  const at = indexOf(body, mark);
  assert.ok(at > 0, 'marker not found');
  assert.equal(body[at - 1], mark.length, 'the marker is not the only property');
  const newLen = vbiBytes(mark.length + extra.length);
  const out = concat(
    body.subarray(0, at - 1),
    Uint8Array.from(newLen),
    mark,
    extra,
    body.subarray(at + mark.length),
  );
  return packet(first, out);
}

/** Encodes `set`'s base packet with a marker user property, then splices `extra` into its block. */
export function withRawProperty(set: string, extra: Uint8Array): Uint8Array {
  const mark = marker(set === 'WILL' ? 'will' : 'mark');
  const name = set === 'WILL' ? 'will' : 'mark';
  const base = encode(baseV5(set, { userProperties: { [name]: 'v' } }), { protocolVersion: 5 });
  return spliceAfterMarker(base, mark, extra);
}
