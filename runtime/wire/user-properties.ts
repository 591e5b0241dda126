/**
 * User Property (MQTT 5.0 §3.1.2.11.8): UTF-8 string pairs that may repeat and keep their
 * order. Exposed as mqtt-packet does: an object whose value is a string, or an array of
 * strings when a name repeats.
 */
import { encodeError } from './errors.js';
import type { Reader } from './reader.js';
import { stringLength } from './values.js';
import { writeStringUnsized } from './writer.js';

export type UserProperties = Record<string, string | string[]>;

const ID = 0x26;

/** Total encoded bytes of every pair, property identifiers included. */
export function sizeUserProperties(up: unknown, packet: string): number {
  if (typeof up !== 'object' || up === null || Array.isArray(up)) {
    throw encodeError(
      'MQTT_ERR_FIELD_TYPE',
      `${packet}: userProperties must be an object of name to string or string[]`,
    );
  }
  let n = 0;
  for (const name in up) {
    const value = (up as UserProperties)[name];
    if (value === undefined) continue;
    const nameLen = stringLength(name, `${packet}: User Property name`);
    if (Array.isArray(value)) {
      for (const v of value) n += 5 + nameLen + stringLength(v, `${packet}: User Property "${name}"`);
    } else {
      n += 5 + nameLen + stringLength(value, `${packet}: User Property "${name}"`);
    }
  }
  return n;
}

export function writeUserProperties(buf: Uint8Array, pos: number, up: UserProperties): number {
  for (const name in up) {
    const value = up[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      buf[pos++] = ID;
      pos = writeStringUnsized(buf, pos, name);
      pos = writeStringUnsized(buf, pos, value);
      continue;
    }
    for (const v of value) {
      buf[pos++] = ID;
      pos = writeStringUnsized(buf, pos, name);
      pos = writeStringUnsized(buf, pos, v);
    }
  }
  return pos;
}

/** Reads one pair into `target`, turning a repeated name into an array. */
export function readUserProperty(r: Reader, target: UserProperties, spec?: string): void {
  const name = r.string('User Property name', spec);
  const value = r.string('User Property value', spec);
  if (!Object.hasOwn(target, name)) {
    // "__proto__" must be stored as data, not set the prototype: defineProperty for that name only.
    if (name === '__proto__') {
      Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
    } else {
      target[name] = value;
    }
    return;
  }
  const prior = target[name]!;
  if (typeof prior === 'string') target[name] = [prior, value];
  else prior.push(value);
}
