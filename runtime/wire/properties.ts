/**
 * MQTT 5 properties (MQTT 5.0 §2.2.2): one table-driven reader and writer for every property
 * set. The generator emits the tables from schema/properties.yaml — which property has which
 * identifier, wire type, bounds, and which packets allow or repeat it — and thin typed wrappers
 * per packet; the algorithm lives here once, which keeps the browser bundle small.
 *
 *   Property Length (VBI) ─┬─ id (VBI) ─ value ─┬─ id ─ value ─ …
 *                          └──────── Property Length bytes ─────┘
 */
import { encodeError, type MqttDecodeError, malformed, protocolError } from './errors.js';
import type { Reader } from './reader.js';
import { topicNameProblem } from './topic.js';
import {
  readUserProperty,
  sizeUserProperties,
  type UserProperties,
  writeUserProperties,
} from './user-properties.js';
import { binaryBytes, checkBool, checkInt, stringLength } from './values.js';
import { vbiLength, writeVbi } from './vbi.js';
import { writeBinary, writeStringUnsized, writeU16, writeU32 } from './writer.js';

/** Wire types, as numbers for a fast switch. */
export const PropertyType = {
  bool: 0,
  byte: 1,
  u16: 2,
  u32: 3,
  vbi: 4,
  string: 5,
  binary: 6,
  pair: 7,
} as const;

export interface PropertyDescriptor {
  readonly id: number;
  readonly key: string;
  readonly name: string;
  readonly type: number;
  /** Bit per property set (see PropertySet.bit) that allows it. */
  readonly sets: number;
  /** Bit per property set in which it may appear more than once. */
  readonly repeat: number;
  readonly min: number;
  readonly max: number;
  /** The value is a Topic Name (Response Topic). */
  readonly topicName: boolean;
  /** Key of a property that must be present with this one. */
  readonly requires: string | undefined;
  readonly spec: string;
}

export interface PropertySet {
  /** The packet's name, for messages (WILL: the will properties of CONNECT). */
  readonly name: string;
  readonly bit: number;
}

export interface PropertyTable {
  /** Indexed by identifier. */
  readonly byId: readonly (PropertyDescriptor | undefined)[];
  /** By key, as a Map: a user's object may carry any key, `__proto__` included. */
  readonly byKey: ReadonlyMap<string, PropertyDescriptor>;
  /** Properties with a `requires`. */
  readonly requiring: readonly PropertyDescriptor[];
}

export function propertyTable(descriptors: readonly PropertyDescriptor[]): PropertyTable {
  const byId: (PropertyDescriptor | undefined)[] = [];
  const byKey = new Map<string, PropertyDescriptor>();
  for (const d of descriptors) {
    byId[d.id] = d;
    byKey.set(d.key, d);
  }
  return { byId, byKey, requiring: descriptors.filter((d) => d.requires !== undefined) };
}

const TABLE_SPEC = 'MQTT 5.0 §2.2.2.2, Table 2-4';

function refused(id: number, d: PropertyDescriptor | undefined, set: PropertySet): MqttDecodeError {
  if (d === undefined)
    return malformed(
      'MQTT_ERR_PROPERTY_UNKNOWN',
      `${set.name}: unknown property identifier ${id}`,
      TABLE_SPEC,
    );
  return protocolError(
    'MQTT_ERR_PROPERTY_NOT_ALLOWED',
    `${set.name}: ${d.name} (${id}) is not allowed in this packet`,
    TABLE_SPEC,
  );
}

function outOfRange(d: PropertyDescriptor, set: PropertySet, value: number): MqttDecodeError {
  return protocolError(
    'MQTT_ERR_PROPERTY_VALUE',
    `${set.name}: ${d.name} is ${value}, outside ${d.min}..${d.max}`,
    d.spec,
  );
}

/** Reads the Property Length and the properties of `set`; undefined when there are none. */
export function decodeProperties(
  r: Reader,
  table: PropertyTable,
  set: PropertySet,
): Record<string, unknown> | undefined {
  const len = r.vbi('Property Length');
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) r.truncated('Properties');
  const outer = r.end;
  r.end = end; // confine reads to the property block
  const props: Record<string, unknown> = {};
  let seenA = 0; // identifiers 0..31 already read
  let seenB = 0; // identifiers 32..63
  while (r.pos < end) {
    const id = r.vbi('Property Identifier');
    const d = table.byId[id];
    if (d === undefined || (d.sets & set.bit) === 0) throw refused(id, d, set);
    const repeatable = (d.repeat & set.bit) !== 0;
    if (!repeatable && d.type !== PropertyType.pair) {
      const bit = 1 << (id & 31);
      const seen = id < 32 ? seenA : seenB;
      if ((seen & bit) !== 0) {
        throw protocolError(
          'MQTT_ERR_PROPERTY_REPEATED',
          `${set.name}: ${d.name} appears more than once`,
          d.spec,
        );
      }
      if (id < 32) seenA |= bit;
      else seenB |= bit;
    }
    let value: unknown;
    switch (d.type) {
      case PropertyType.bool:
        value = r.bool(d.name, d.spec);
        break;
      case PropertyType.byte:
      case PropertyType.u16:
      case PropertyType.u32:
      case PropertyType.vbi: {
        const n =
          d.type === PropertyType.byte
            ? r.u8(d.name, d.spec)
            : d.type === PropertyType.u16
              ? r.u16(d.name, d.spec)
              : d.type === PropertyType.u32
                ? r.u32(d.name, d.spec)
                : r.vbi(d.name, d.spec);
        if (n < d.min || n > d.max) throw outOfRange(d, set, n);
        value = n;
        break;
      }
      case PropertyType.string: {
        const s = r.string(d.name, d.spec);
        if (d.topicName) {
          const problem = topicNameProblem(s);
          if (problem !== undefined) {
            throw protocolError('MQTT_ERR_TOPIC_NAME_INVALID', `${set.name}: ${d.name}: ${problem}`, d.spec);
          }
        }
        value = s;
        break;
      }
      case PropertyType.binary:
        value = r.binary(d.name, d.spec);
        break;
      default: {
        let up = props[d.key] as UserProperties | undefined;
        if (up === undefined) {
          up = {};
          props[d.key] = up;
        }
        readUserProperty(r, up, d.spec);
        continue;
      }
    }
    if (repeatable) {
      // A repeated property (Subscription Identifier in PUBLISH) becomes an array, as in mqtt-packet.
      const prior = props[d.key];
      if (prior === undefined) props[d.key] = value;
      else if (Array.isArray(prior)) prior.push(value);
      else props[d.key] = [prior, value];
    } else {
      props[d.key] = value;
    }
  }
  r.end = outer;
  for (const d of table.requiring) {
    if ((d.sets & set.bit) !== 0 && props[d.key] !== undefined && props[d.requires!] === undefined) {
      const other = table.byKey.get(d.requires!)!;
      throw protocolError(
        'MQTT_ERR_PROPERTY_REQUIRES',
        `${set.name}: ${d.name} without ${other.name}`,
        d.spec,
      );
    }
  }
  return props;
}

/** Encoded size of the properties of `set`, without the Property Length; checks every value. */
export function sizeProperties(props: object | undefined, table: PropertyTable, set: PropertySet): number {
  if (props === undefined) return 0;
  let n = 0;
  for (const key in props) {
    const value: unknown = (props as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const d = table.byKey.get(key);
    if (d === undefined || (d.sets & set.bit) === 0) {
      throw encodeError(
        'MQTT_ERR_PROPERTY_NOT_ALLOWED',
        `${set.name}: property '${key}' is not allowed in this packet`,
        TABLE_SPEC,
      );
    }
    switch (d.type) {
      case PropertyType.bool:
        checkBool(value, `${set.name}: ${d.name}`);
        n += 2;
        break;
      case PropertyType.byte:
      case PropertyType.u16:
      case PropertyType.u32:
        checkInt(value, d.min, d.max, `${set.name}: ${d.name}`, d.spec);
        n += d.type === PropertyType.byte ? 2 : d.type === PropertyType.u16 ? 3 : 5;
        break;
      case PropertyType.vbi:
        if (Array.isArray(value) && (d.repeat & set.bit) !== 0) {
          for (const v of value)
            n += 1 + vbiLength(checkInt(v, d.min, d.max, `${set.name}: ${d.name}`, d.spec));
        } else {
          n += 1 + vbiLength(checkInt(value, d.min, d.max, `${set.name}: ${d.name}`, d.spec));
        }
        break;
      case PropertyType.string:
        n += 3 + stringLength(value, `${set.name}: ${d.name}`);
        if (d.topicName) {
          const problem = topicNameProblem(value as string);
          if (problem !== undefined) {
            throw encodeError('MQTT_ERR_TOPIC_NAME_INVALID', `${set.name}: ${d.name}: ${problem}`, d.spec);
          }
        }
        break;
      case PropertyType.binary:
        n += 3 + binaryBytes(value, `${set.name}: ${d.name}`).length;
        break;
      default:
        n += sizeUserProperties(value, set.name);
    }
  }
  for (const d of table.requiring) {
    const p = props as Record<string, unknown>;
    if ((d.sets & set.bit) !== 0 && p[d.key] !== undefined && p[d.requires!] === undefined) {
      throw encodeError('MQTT_ERR_PROPERTY_REQUIRES', `${set.name}: ${d.key} requires ${d.requires}`, d.spec);
    }
  }
  return n;
}

/** Writes the Property Length `len` (from sizeProperties) and the properties. */
export function writeProperties(
  buf: Uint8Array,
  pos: number,
  props: object | undefined,
  len: number,
  table: PropertyTable,
): number {
  pos = writeVbi(buf, pos, len);
  if (props === undefined) return pos;
  for (const key in props) {
    const value: unknown = (props as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const d = table.byKey.get(key)!; // sizeProperties has checked every key
    switch (d.type) {
      case PropertyType.bool:
        buf[pos++] = d.id;
        buf[pos++] = value ? 1 : 0;
        break;
      case PropertyType.byte:
        buf[pos++] = d.id;
        buf[pos++] = value as number;
        break;
      case PropertyType.u16:
        buf[pos++] = d.id;
        pos = writeU16(buf, pos, value as number);
        break;
      case PropertyType.u32:
        buf[pos++] = d.id;
        pos = writeU32(buf, pos, value as number);
        break;
      case PropertyType.vbi:
        for (const v of Array.isArray(value) ? (value as number[]) : [value as number]) {
          buf[pos++] = d.id;
          pos = writeVbi(buf, pos, v);
        }
        break;
      case PropertyType.string:
        buf[pos++] = d.id;
        pos = writeStringUnsized(buf, pos, value as string);
        break;
      case PropertyType.binary:
        buf[pos++] = d.id;
        pos = writeBinary(buf, pos, binaryBytes(value, d.name));
        break;
      default:
        pos = writeUserProperties(buf, pos, value as UserProperties);
    }
  }
  return pos;
}
