/**
 * generated/properties.ts: MQTT 5 property ids, one interface per property set (so a property
 * a packet does not allow is a type error), and per set a decoder, a size pass and a writer.
 */
import { type Model, PROPERTY_SETS, type Property } from './model.js';
import { hex2, jsString, typeName } from './names.js';

export function propsType(set: string): string {
  return `${typeName(set)}Properties`;
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

function decodeCase(p: Property, set: string): string[] {
  const what = jsString(p.name);
  const spec = jsString(p.spec);
  const key = p.key;
  const lines: string[] = [];
  const repeatable = p.repeat.includes(set);
  if (!repeatable) {
    const word = p.id < 32 ? 'seenA' : 'seenB';
    const bit = `0x${((1 << (p.id % 32)) >>> 0).toString(16)}`;
    lines.push(`if ((${word} & ${bit}) !== 0) throw repeated(${hex2(p.id)}, ${jsString(set)}, ${spec});`);
    lines.push(`${word} |= ${bit};`);
  }
  const rangeCheck = (v: string) => {
    const checks: string[] = [];
    if (p.min !== undefined && p.min > 0) checks.push(`${v} < ${p.min}`);
    if (p.max !== undefined) checks.push(`${v} > ${p.max}`);
    if (checks.length === 0) return;
    lines.push(
      `if (${checks.join(' || ')}) throw protocolError('MQTT_ERR_PROPERTY_VALUE', \`${set}: ${p.name} is \${${v}}, outside ${p.min ?? 0}..${upper(p)}\`, ${spec});`,
    );
  };
  switch (p.type) {
    case 'bool':
      lines.push(`props.${key} = r.bool(${what}, ${spec});`);
      break;
    case 'byte':
    case 'u16':
    case 'u32':
    case 'vbi': {
      const read = { byte: 'u8', u16: 'u16', u32: 'u32', vbi: 'vbi' }[p.type];
      lines.push(`const value = r.${read}(${what}, ${spec});`);
      rangeCheck('value');
      if (repeatable) {
        lines.push(`const prior = props.${key};`);
        lines.push(
          `props.${key} = prior === undefined ? value : Array.isArray(prior) ? (prior.push(value), prior) : [prior, value];`,
        );
      } else {
        lines.push(`props.${key} = value;`);
      }
      break;
    }
    case 'string':
      lines.push(`const value = r.string(${what}, ${spec});`);
      if (p.topicName) {
        lines.push('const problem = topicNameProblem(value);');
        lines.push(
          `if (problem !== undefined) throw protocolError('MQTT_ERR_TOPIC_NAME_INVALID', \`${set}: ${p.name}: \${problem}\`, ${spec});`,
        );
      }
      lines.push(`props.${key} = value;`);
      break;
    case 'binary':
      lines.push(`props.${key} = r.binary(${what}, ${spec});`);
      break;
    case 'pair':
      lines.push(`readUserProperty(r, (props.${key} ??= {}), ${spec});`);
      break;
  }
  return [`case ${hex2(p.id)}: {`, ...lines.map((l) => `  ${l}`), '  break;', '}'];
}

function sizeCase(p: Property, set: string): string[] {
  const what = jsString(`${set}: ${p.name}`);
  const lines: string[] = [];
  const int = (v: string) => `checkInt(${v}, ${p.min ?? 0}, ${upper(p)}, ${what}, ${jsString(p.spec)})`;
  switch (p.type) {
    case 'bool':
      lines.push(`checkBool(value, ${what});`, 'n += 2;');
      break;
    case 'byte':
      lines.push(`${int('value')};`, 'n += 2;');
      break;
    case 'u16':
      lines.push(`${int('value')};`, 'n += 3;');
      break;
    case 'u32':
      lines.push(`${int('value')};`, 'n += 5;');
      break;
    case 'vbi':
      if (p.repeat.includes(set)) {
        lines.push(
          `for (const id of Array.isArray(value) ? value : [value]) n += 1 + vbiLength(${int('id')});`,
        );
      } else {
        lines.push(`n += 1 + vbiLength(${int('value')});`);
      }
      break;
    case 'string':
      lines.push(`n += 3 + stringLength(value, ${what});`);
      if (p.topicName) {
        lines.push('const problem = topicNameProblem(value as string);');
        lines.push(
          `if (problem !== undefined) throw encodeError('MQTT_ERR_TOPIC_NAME_INVALID', \`${set}: ${p.name}: \${problem}\`, ${jsString(p.spec)});`,
        );
      }
      break;
    case 'binary':
      lines.push(`n += 3 + binaryBytes(value, ${what}).length;`);
      break;
    case 'pair':
      lines.push(`n += sizeUserProperties(value, ${jsString(set)});`);
      break;
  }
  return [`case ${jsString(p.key)}: {`, ...lines.map((l) => `  ${l}`), '  break;', '}'];
}

function writeCase(p: Property, set: string): string[] {
  const id = hex2(p.id);
  const lines: string[] = [];
  switch (p.type) {
    case 'bool':
      lines.push(`buf[pos++] = ${id};`, 'buf[pos++] = value ? 1 : 0;');
      break;
    case 'byte':
      lines.push(`buf[pos++] = ${id};`, 'buf[pos++] = value as number;');
      break;
    case 'u16':
      lines.push(`buf[pos++] = ${id};`, 'pos = writeU16(buf, pos, value as number);');
      break;
    case 'u32':
      lines.push(`buf[pos++] = ${id};`, 'pos = writeU32(buf, pos, value as number);');
      break;
    case 'vbi':
      if (p.repeat.includes(set)) {
        lines.push('for (const sid of Array.isArray(value) ? (value as number[]) : [value as number]) {');
        lines.push(`  buf[pos++] = ${id};`, '  pos = writeVbi(buf, pos, sid);', '}');
      } else {
        lines.push(`buf[pos++] = ${id};`, 'pos = writeVbi(buf, pos, value as number);');
      }
      break;
    case 'string':
      lines.push(`buf[pos++] = ${id};`, `pos = writeStringUnsized(buf, pos, value as string);`);
      break;
    case 'binary':
      lines.push(`buf[pos++] = ${id};`, `pos = writeBinary(buf, pos, binaryBytes(value, ''));`);
      break;
    case 'pair':
      lines.push('pos = writeUserProperties(buf, pos, value as UserProperties);');
      break;
  }
  return [`case ${jsString(p.key)}: {`, ...lines.map((l) => `  ${l}`), '  break;', '}'];
}

export function emitProperties(m: Model): string {
  const out: string[] = [];
  out.push(`import {
  binaryBytes,
  checkBool,
  checkInt,
  encodeError,
  type MqttDecodeError,
  malformed,
  protocolError,
  type Reader,
  readUserProperty,
  sizeUserProperties,
  stringLength,
  topicNameProblem,
  type UserProperties,
  utf8Length,
  vbiLength,
  writeBinary,
  writeString,
  writeStringUnsized,
  writeU16,
  writeU32,
  writeUserProperties,
  writeVbi,
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
  out.push(`/** What the schema says of one property. */
export interface PropertyInfo {
  readonly id: number;
  readonly name: string;
  readonly key: string;
  readonly type: ${[...new Set(m.properties.map((p) => jsString(p.type)))].join(' | ')};
  /** Packets (and WILL, the will properties) that allow it. */
  readonly packets: readonly string[];
  /** Packets in which it may appear more than once. */
  readonly repeatable: readonly string[];
  readonly spec: string;
}
`);
  out.push('/** Every MQTT 5 property, by identifier. */');
  out.push('export const propertyInfo: readonly PropertyInfo[] = [');
  for (const p of m.properties) {
    out.push(
      `  { id: ${hex2(p.id)}, name: ${jsString(p.name)}, key: ${jsString(p.key)}, type: ${jsString(p.type)}, packets: [${p.packets.map(jsString).join(', ')}], repeatable: [${p.repeat.map(jsString).join(', ')}], spec: ${jsString(p.spec)} },`,
    );
  }
  out.push('];\n');
  out.push(`const NAMES: Readonly<Record<number, string>> = { ${m.properties.map((p) => `${hex2(p.id)}: ${jsString(p.name)}`).join(', ')} };

function notAllowed(id: number, packet: string): MqttDecodeError {
  const name = NAMES[id];
  if (name === undefined) {
    return malformed('MQTT_ERR_PROPERTY_UNKNOWN', \`\${packet}: unknown property identifier \${id}\`, 'MQTT 5.0 §2.2.2.2, Table 2-4');
  }
  return protocolError('MQTT_ERR_PROPERTY_NOT_ALLOWED', \`\${packet}: \${name} (\${id}) is not allowed in this packet\`, 'MQTT 5.0 §2.2.2.2, Table 2-4');
}

function repeated(id: number, packet: string, spec: string): MqttDecodeError {
  return protocolError('MQTT_ERR_PROPERTY_REPEATED', \`\${packet}: \${NAMES[id]} appears more than once\`, spec);
}
`);
  for (const set of PROPERTY_SETS) {
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

    const seenB = props.some((p) => p.id >= 32 && !p.repeat.includes(set));
    const seenA = props.some((p) => p.id < 32 && !p.repeat.includes(set));
    out.push(
      `/** Reads the Property Length and the properties of ${where}; undefined when there are none. */`,
    );
    out.push(`export function decode${T}(r: Reader): ${T} | undefined {`);
    out.push(`  const len = r.vbi('Property Length');`);
    out.push('  if (len === 0) return undefined;');
    out.push('  const end = r.pos + len;');
    out.push(`  if (end > r.end) r.truncated('Properties');`);
    out.push('  const outer = r.end;');
    out.push('  r.end = end; // confine reads to the property block');
    out.push(`  const props: ${T} = {};`);
    if (seenA) out.push('  let seenA = 0;');
    if (seenB) out.push('  let seenB = 0;');
    out.push('  while (r.pos < end) {');
    out.push(`    const id = r.vbi('Property Identifier');`);
    out.push('    switch (id) {');
    for (const p of props) for (const l of decodeCase(p, set)) out.push(`      ${l}`);
    out.push(`      default:\n        throw notAllowed(id, ${jsString(set)});`);
    out.push('    }');
    out.push('  }');
    out.push('  r.end = outer;');
    for (const p of props.filter((q) => q.requires)) {
      out.push(
        `  if (props.${p.key} !== undefined && props.${p.requires} === undefined) throw protocolError('MQTT_ERR_PROPERTY_REQUIRES', ${jsString(`${set}: ${p.name} without ${m.properties.find((q) => q.key === p.requires)!.name}`)}, ${jsString(p.spec)});`,
      );
    }
    out.push('  return props;');
    out.push('}\n');

    out.push(
      `/** Encoded size of the properties of ${where}, without the Property Length; checks every value. */`,
    );
    out.push(`export function size${T}(props: ${T} | undefined): number {`);
    out.push('  if (props === undefined) return 0;');
    out.push('  let n = 0;');
    out.push('  for (const key in props) {');
    out.push('    const value: unknown = (props as Record<string, unknown>)[key];');
    out.push('    if (value === undefined) continue;');
    out.push('    switch (key) {');
    for (const p of props) for (const l of sizeCase(p, set)) out.push(`      ${l}`);
    out.push(
      `      default:\n        throw encodeError('MQTT_ERR_PROPERTY_NOT_ALLOWED', \`${set}: property '\${key}' is not allowed in this packet\`, 'MQTT 5.0 §2.2.2.2, Table 2-4');`,
    );
    out.push('    }');
    out.push('  }');
    for (const p of props.filter((q) => q.requires)) {
      out.push(
        `  if (props.${p.key} !== undefined && props.${p.requires} === undefined) throw encodeError('MQTT_ERR_PROPERTY_REQUIRES', ${jsString(`${set}: ${p.key} requires ${p.requires}`)}, ${jsString(p.spec)});`,
      );
    }
    out.push('  return n;');
    out.push('}\n');

    out.push(`/** Writes the Property Length \`len\` (from size${T}) and the properties. */`);
    out.push(
      `export function write${T}(buf: Uint8Array, pos: number, props: ${T} | undefined, len: number): number {`,
    );
    out.push('  pos = writeVbi(buf, pos, len);');
    out.push('  if (props === undefined) return pos;');
    out.push('  for (const key in props) {');
    out.push('    const value: unknown = (props as Record<string, unknown>)[key];');
    out.push('    if (value === undefined) continue;');
    out.push('    switch (key) {');
    for (const p of props) for (const l of writeCase(p, set)) out.push(`      ${l}`);
    out.push('    }');
    out.push('  }');
    out.push('  return pos;');
    out.push('}\n');
  }
  return out.join('\n');
}
