/**
 * generated/properties.ts: MQTT 5 property ids, one interface per property set (so a property
 * a packet does not allow is a type error), and per set a decoder, a size pass and a writer.
 */
import { type Model, PROPERTY_SETS, type Property } from './model.js';
import { hex2, jsString, typeName } from './names.js';

export function propsType(set: string): string {
  return `${typeName(set)}Properties`;
}

// The generated encoders and decoders call the table-driven codec directly, with the set, rather
// than through each set's exported wrapper: in a bundle, 42 small wrappers cost 0.25 KB gzipped.
const setArg = (set: string) =>
  `PROPERTY_SETS[${PROPERTY_SETS.indexOf(set as (typeof PROPERTY_SETS)[number])}]!`;

/** Expression reading the Property Length and the properties of `set` with Reader `r`. */
export function decodePropsExpr(set: string): string {
  return `decodeProperties(r, PROPERTY_TABLE, ${setArg(set)}) as ${propsType(set)} | undefined`;
}

/** Expression of the encoded size of the properties `value` of `set`, which checks them. */
export function sizePropsExpr(set: string, value: string): string {
  return `sizeProperties(${value}, PROPERTY_TABLE, ${setArg(set)})`;
}

/** Expression writing the Property Length `len` and the properties `value` at `pos` of `buf`. */
export function writePropsExpr(value: string, len: string): string {
  return `writeProperties(buf, pos, ${value}, ${len}, PROPERTY_TABLE)`;
}

function tsType(p: Property, set: string): string {
  switch (p.type) {
    case 'bool':
      return 'boolean';
    case 'string':
      return 'string';
    case 'binary':
      return 'Uint8Array';
    case 'pair':
      return 'UserProperties';
    default:
      return p.repeat.includes(set) ? 'number | number[]' : 'number';
  }
}

function upper(p: Property): number {
  if (p.max !== undefined) return p.max;
  switch (p.type) {
    case 'byte':
      return 255;
    case 'u16':
      return 65_535;
    case 'u32':
      return 4_294_967_295;
    default:
      return 268_435_455;
  }
}

export function emitProperties(m: Model): string {
  const out: string[] = [];
  out.push(`import {
  decodeProperties,
  type PropertyDescriptor,
  type PropertySet,
  propertyTable,
  type Reader,
  sizeProperties,
  type UserProperties,
  writeProperties,
} from '../runtime/wire/index.js';

export type { UserProperties } from '../runtime/wire/index.js';
`);
  out.push('/** MQTT 5 property identifiers (MQTT 5.0 §2.2.2.2, Table 2-4). */');
  out.push('export const PropertyIds = {');
  for (const p of m.properties) {
    out.push(`  /** ${p.name}: ${p.description} ${p.spec}. */`);
    out.push(`  ${p.name.replace(/[^A-Za-z]/g, '')}: ${hex2(p.id)},`);
  }
  out.push('} as const;\n');

  const bit = (set: string) => 1 << PROPERTY_SETS.indexOf(set as (typeof PROPERTY_SETS)[number]);
  const mask = (sets: string[]) => `0x${sets.reduce((a, s) => a | bit(s), 0).toString(16)}`;
  out.push('/** Property sets: the packets with properties, and WILL (the will properties of CONNECT). */');
  out.push('/** @internal For generated/encode.ts and decode.ts. */');
  out.push('export const PROPERTY_SETS: readonly PropertySet[] = [');
  for (const set of PROPERTY_SETS) out.push(`  { name: ${jsString(set)}, bit: ${hex2(bit(set))} },`);
  out.push('];\n');
  const types = ['bool', 'byte', 'u16', 'u32', 'vbi', 'string', 'binary', 'pair'];
  out.push(`const TYPE_NAMES = [${types.map(jsString).join(', ')}] as const;\n`);
  out.push(
    '/** The properties of the schema, as the table-driven codec (runtime/wire/properties.ts) reads them. */',
  );
  out.push('const DESCRIPTORS: readonly PropertyDescriptor[] = [');
  for (const p of m.properties) {
    const fields = [
      `id: ${hex2(p.id)}`,
      `key: ${jsString(p.key)}`,
      `name: ${jsString(p.name)}`,
      `type: ${types.indexOf(p.type)}`,
      `sets: ${mask(p.packets)}`,
      `repeat: ${mask(p.repeat)}`,
      `min: ${p.min ?? 0}`,
      `max: ${upper(p)}`,
      `topicName: ${p.topicName}`,
      `requires: ${p.requires === undefined ? 'undefined' : jsString(p.requires)}`,
      `spec: ${jsString(p.spec)}`,
    ];
    out.push(`  { ${fields.join(', ')} },`);
  }
  out.push('];\n');
  // Pure: a bundle that uses neither (the browser client does not read propertyInfo) drops them.
  out.push('/** @internal For generated/encode.ts and decode.ts. */');
  out.push('export const PROPERTY_TABLE = /* @__PURE__ */ propertyTable(DESCRIPTORS);\n');
  out.push(`/** What the schema says of one property. */
export interface PropertyInfo {
  readonly id: number;
  readonly name: string;
  readonly key: string;
  readonly type: (typeof TYPE_NAMES)[number];
  /** Packets (and WILL, the will properties) that allow it. */
  readonly packets: readonly string[];
  /** Packets in which it may appear more than once. */
  readonly repeatable: readonly string[];
  readonly spec: string;
}

/** Every MQTT 5 property, by identifier. */
export const propertyInfo: readonly PropertyInfo[] = /* @__PURE__ */ DESCRIPTORS.map((d) => ({
  id: d.id,
  name: d.name,
  key: d.key,
  type: TYPE_NAMES[d.type]!,
  packets: PROPERTY_SETS.filter((s) => (d.sets & s.bit) !== 0).map((s) => s.name),
  repeatable: PROPERTY_SETS.filter((s) => (d.repeat & s.bit) !== 0).map((s) => s.name),
  spec: d.spec,
}));
`);
  PROPERTY_SETS.forEach((set, index) => {
    const props = m.properties.filter((p) => p.packets.includes(set)).sort((a, b) => a.id - b.id);
    const T = propsType(set);
    const where = set === 'WILL' ? 'the Will Properties of CONNECT' : set;
    out.push(`/** MQTT 5 properties of ${where}. */`);
    out.push(`export interface ${T} {`);
    for (const p of props) {
      out.push(`  /** ${p.name} (${hex2(p.id)}): ${p.description} ${p.spec}. */`);
      out.push(`  ${p.key}?: ${tsType(p, set)};`);
    }
    out.push('}\n');
    out.push(
      `/** Reads the Property Length and the properties of ${where}; undefined when there are none. */`,
    );
    out.push(
      `export const decode${T} = (r: Reader): ${T} | undefined => decodeProperties(r, PROPERTY_TABLE, PROPERTY_SETS[${index}]!) as ${T} | undefined;\n`,
    );
    out.push(
      `/** Encoded size of the properties of ${where}, without the Property Length; checks every value. */`,
    );
    out.push(
      `export const size${T} = (props: ${T} | undefined): number => sizeProperties(props, PROPERTY_TABLE, PROPERTY_SETS[${index}]!);\n`,
    );
    out.push(`/** Writes the Property Length \`len\` (from size${T}) and the properties. */`);
    out.push(
      `export const write${T} = (buf: Uint8Array, pos: number, props: ${T} | undefined, len: number): number =>`,
    );
    out.push('  writeProperties(buf, pos, props, len, PROPERTY_TABLE);\n');
  });
  return out.join('\n');
}
