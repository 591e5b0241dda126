/**
 * generated/decode.ts: one decoder per packet, straight-line code from the schema's field
 * list, and the `decode` / `Decoder` entry points.
 */

import { Code } from './code.js';
import { packetType } from './emit-packets.js';
import { decodePropsExpr, propsType } from './emit-properties.js';
import { allowedTableName, returnTableName } from './emit-reason-codes.js';
import { groups, slots } from './layout.js';
import type { Bit, Field, Model, Packet, Version } from './model.js';
import { and, jsString, label, local, pascal, typeName, versionCond, whenCond } from './names.js';

const bin = (n: number) => `0b${n.toString(2).padStart(4, '0')}`;
const mask = (b: Bit) => (0xff >> (7 - b.hi)) & (0xff << b.lo) & 0xff;
const hexByte = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const SPEC_PACKET_ID = 'MQTT 5.0 §2.2.1 [MQTT-2.2.1-3]';

function tsTypeOf(f: Field, p: Packet): string {
  switch (f.kind) {
    case 'string':
    case 'protocolName':
      return 'string';
    case 'binary':
    case 'payload':
      return 'Uint8Array';
    case 'properties':
      return propsType(f.set!);
    case 'list':
      return Array.isArray(f.item)
        ? `${f.itemType ?? `${typeName(p.name)}${pascal(f.name)}Item`}[]`
        : f.item!.kind === 'string'
          ? 'string[]'
          : 'number[]';
    default:
      return 'number';
  }
}

/** Emits the checks and extraction of the bits of byte `src`, into locals prefixed `prefix`. */
function emitBits(
  e: Code,
  p: Packet,
  bits: Bit[],
  src: string,
  what: string,
  all: Version[],
  prefix: string,
): void {
  for (const b of bits.filter((x) => x.presence)) {
    e.line(`const has_${b.presence} = (${src} & ${hexByte(mask(b))}) !== 0;`);
  }
  for (const b of bits.filter((x) => x.reserved !== undefined)) {
    e.block(versionCond(b.versions, all), () => {
      e.check(
        b.spec,
        `if ((${src} & ${hexByte(mask(b))}) !== ${hexByte((b.reserved! << b.lo) & 0xff)}) throw malformed('MQTT_ERR_RESERVED_BITS', ${jsString(`${p.name}: reserved bits ${b.hi}-${b.lo} of the ${what} are set`)}, ${jsString(b.spec)});`,
      );
    });
  }
  for (const b of bits.filter((x) => x.name)) {
    const name = prefix + local(b.name!);
    const vc = versionCond(b.versions, all);
    const wc = whenCond(b.when);
    const value =
      b.type === 'bool'
        ? `(${src} & ${hexByte(mask(b))}) !== 0`
        : `(${src} >> ${b.lo}) & ${(1 << (b.hi - b.lo + 1)) - 1}`;
    const type = b.type === 'bool' ? 'boolean' : 'number';
    if (vc === undefined && wc === undefined) {
      e.line(`const ${name} = ${value};`);
    } else {
      e.line(`let ${name}: ${type} | undefined;`);
      e.block(vc, () => {
        if (wc !== undefined) {
          e.check(
            b.spec,
            `if (!${wc} && (${src} & ${hexByte(mask(b))}) !== 0) throw malformed('MQTT_ERR_FLAG_WITHOUT_PRESENCE', ${jsString(`${p.name}: ${b.name} is set without the ${b.when} flag`)}, ${jsString(b.spec)});`,
          );
          e.line(`if (${wc}) ${name} = ${value};`);
        } else {
          e.line(`${name} = ${value};`);
        }
      });
    }
    if (b.max !== undefined) {
      const fail = b.reason === 'protocol' ? 'protocolError' : 'malformed';
      e.check(
        b.spec,
        `if (${name}! > ${b.max}) throw ${fail}(${jsString(b.code ?? 'MQTT_ERR_BAD_QOS')}, \`${p.name}: ${b.name} is \${${name}}, above ${b.max}\`, ${jsString(b.spec)});`,
      );
    }
  }
}

/** Reads one bare value (list item or field) into expression form; emits checks. Returns the expression variable. */
function emitRead(e: Code, p: Packet, f: Field, target: string, declare: string, all: Version[]): void {
  const what = jsString(label(f));
  const spec = jsString(f.spec);
  switch (f.kind) {
    case 'u8':
      e.line(`${declare}${target} = r.u8(${what});`);
      break;
    case 'u16':
      e.line(`${declare}${target} = r.u16(${what});`);
      break;
    case 'u32':
      e.line(`${declare}${target} = r.u32(${what});`);
      break;
    case 'messageId':
      e.line(`${declare}${target} = r.u16('Packet Identifier');`);
      e.check(SPEC_PACKET_ID, `if (${target} === 0) throw r.packetIdZero(${jsString(SPEC_PACKET_ID)});`);
      break;
    case 'string':
      e.line(`${declare}${target} = r.string(${what});`);
      if (f.topic === 'name') {
        e.line(`const ${target}_problem = topicNameProblem(${target}${f.allowEmpty ? ', true' : ''});`);
        e.check(
          f.spec,
          `if (${target}_problem !== undefined) throw new MqttDecodeError(\`${p.name}: \${${target}_problem}\`, { code: 'MQTT_ERR_TOPIC_NAME_INVALID', reasonCode: 0x90, spec: ${spec} });`,
        );
      } else if (f.topic === 'filter') {
        e.line(
          `const problem = topicFilterProblem(${target}, v === 5); // $share/ is a Shared Subscription in MQTT 5`,
        );
        e.check(
          f.spec,
          `if (problem !== undefined) throw new MqttDecodeError(\`${p.name}: \${problem}\`, { code: 'MQTT_ERR_TOPIC_FILTER_INVALID', reasonCode: 0x8f, spec: ${spec} });`,
        );
      }
      break;
    case 'binary':
      e.line(`${declare}${target} = r.binary(${what});`);
      break;
    case 'payload':
      e.line(`${declare}${target} = r.rest();`);
      break;
    case 'reasonCode':
      e.line(`${declare}${target} = r.u8('Reason Code');`);
      e.check(
        f.spec,
        `if (${allowedTableName(p.name)}[${target}] !== 1) throw r.reasonCodeNotAllowed(${target}, ${spec});`,
      );
      break;
    case 'returnCode': {
      const vs = all.filter((v) => v !== 5);
      e.line(`${declare}${target} = r.u8('Return Code');`);
      const table =
        vs.length === 1
          ? returnTableName(p.name, vs[0]!)
          : `(v === 3 ? ${returnTableName(p.name, 3)} : ${returnTableName(p.name, 4)})`;
      e.check(
        f.spec,
        `if (${table}[${target}] !== 1) throw malformed('MQTT_ERR_RETURN_CODE', \`${p.name}: return code \${${target}} is reserved\`, ${spec});`,
      );
      break;
    }
    case 'properties':
      e.line(`${declare}${target} = ${decodePropsExpr(f.set!)};`);
      break;
    default:
      throw new Error(`cannot read ${f.kind}`);
  }
}

/** Object literal text for the slots present in version set `vs`. */
function literal(entries: { key: string; expr: string; versions: Version[] }[], vs: Version[]): string {
  return `{ ${entries
    .filter((x) => vs.every((v) => x.versions.includes(v)))
    .map((x) => (x.key === x.expr ? x.key : `${x.key}: ${x.expr}`))
    .join(', ')} }`;
}

/** Picks the literal per group of versions that share the same keys. */
function variants(entries: { key: string; expr: string; versions: Version[] }[], all: Version[]): string {
  const byShape = new Map<string, Version[]>();
  for (const v of all) {
    const shape = entries
      .filter((x) => x.versions.includes(v))
      .map((x) => x.key)
      .join(',');
    byShape.set(shape, [...(byShape.get(shape) ?? []), v]);
  }
  const shapes = [...byShape.values()];
  if (shapes.length === 1) return literal(entries, shapes[0]!);
  let expr = literal(entries, shapes[shapes.length - 1]!);
  for (const vs of shapes.slice(0, -1).reverse())
    expr = `${versionCond(vs, all)} ? ${literal(entries, vs)} : ${expr}`;
  return expr;
}

function emitList(e: Code, p: Packet, f: Field, all: Version[]): void {
  const name = local(f.name);
  e.line(`const ${name}: ${tsTypeOf(f, p)} = [];`);
  if (f.minItems) {
    e.check(
      f.spec,
      `if (r.pos === r.end) throw protocolError('MQTT_ERR_EMPTY_LIST', ${jsString(`${p.name}: the ${f.name} list is empty`)}, ${jsString(f.spec)});`,
    );
  }
  e.line('while (r.pos < r.end) {');
  if (Array.isArray(f.item)) {
    const entries: { key: string; expr: string; versions: Version[] }[] = [];
    for (const item of f.item) {
      if (item.kind === 'flags') {
        e.line(`  const i_${item.name} = r.u8(${jsString(label(item))});`);
        const inner = new Code();
        emitBits(inner, p, item.bits ?? [], `i_${item.name}`, label(item), f.versions, 'i_');
        for (const l of inner.lines) e.line(`  ${l.slice(2)}`);
        for (const b of (item.bits ?? []).filter((x) => x.name)) {
          const vc = versionCond(b.versions, f.versions);
          entries.push({
            key: b.name!,
            expr: `i_${b.name}${vc ? '!' : ''}${b.name === 'qos' ? ' as QoS' : b.type === 'uint' ? ' as 0 | 1 | 2' : ''}`,
            versions: b.versions,
          });
        }
      } else {
        const inner = new Code();
        emitRead(inner, p, item, `i_${item.name}`, 'const ', f.versions);
        for (const l of inner.lines) e.line(`  ${l.slice(2)}`);
        entries.push({ key: item.name, expr: `i_${item.name}`, versions: item.versions });
      }
    }
    e.line(`  ${name}.push(${variants(entries, f.versions)});`);
  } else {
    const inner = new Code();
    emitRead(inner, p, { ...f.item!, name: `${f.name} entry`, spec: f.spec }, 'item', 'const ', all);
    for (const l of inner.lines) e.line(`  ${l.slice(2)}`);
    e.line(`  ${name}.push(item);`);
  }
  e.line('}');
}

function emitPacketDecoder(p: Packet): string {
  const e = new Code();
  const all = p.versions;
  const T = packetType(p, false);
  const flags = p.flags;
  if (flags.bits) {
    emitBits(e, p, flags.bits, 'flags', 'fixed header', all, '');
  } else {
    const alt = flags.v3?.filter((x) => x !== flags.reserved) ?? [];
    const cond =
      alt.length > 0
        ? `flags !== ${bin(flags.reserved!)} && !(v === 3 && (${alt.map((a) => `flags === ${bin(a)}`).join(' || ')}))`
        : `flags !== ${bin(flags.reserved!)}`;
    e.check(
      flags.spec,
      `if (${cond}) throw r.reservedFlags(flags, '${bin(flags.reserved!)}', ${jsString(flags.spec)});`,
    );
  }
  let consumesRest = false;
  for (const f of p.fields) {
    const vc = versionCond(f.versions, all);
    const wc = whenCond(f.when);
    const name = local(f.name);
    consumesRest = f.kind === 'payload' || f.kind === 'list';
    if (f.kind === 'flags') {
      e.line(`const ${name} = r.u8(${jsString(label(f))});`);
      emitBits(e, p, f.bits ?? [], name, label(f), all, '');
      continue;
    }
    if (f.kind === 'protocolName') {
      e.line(`const ${name} = r.string('Protocol Name');`);
      continue;
    }
    if (f.kind === 'protocolLevel') {
      const name0 = p.fields.find((x) => x.kind === 'protocolName')!;
      e.line(`const ${name} = r.u8('Protocol Level');`);
      e.check(f.spec, `if (${name} !== 3 && ${name} !== 4 && ${name} !== 5) {`);
      e.line(
        `  throw new MqttDecodeError(\`${p.name}: unsupported protocol level \${${name}}\`, { code: 'MQTT_ERR_PROTOCOL_VERSION', reasonCode: 0x84, spec: ${jsString(f.spec)} });`,
      );
      e.line('}');
      e.line(`v = ${name}; // CONNECT carries its own protocol level`);
      const names = name0.values!;
      e.line(
        `const expectedName = ${[3, 4].map((v) => `v === ${v} ? ${jsString(names[v as Version]!)}`).join(' : ')} : ${jsString(names[5]!)};`,
      );
      e.check(
        name0.spec,
        `if (${local(name0.name)} !== expectedName) throw protocolError('MQTT_ERR_PROTOCOL_NAME', \`${p.name}: protocol name "\${${local(name0.name)}}" does not match level \${v}\`, ${jsString(name0.spec)});`,
      );
      continue;
    }
    if (f.kind === 'list') {
      // Lists fill the rest of the packet; one per version set.
      e.block(vc, () => emitList(e, p, f, all));
      continue;
    }
    const trailingDefault = f.trailing && f.default !== undefined;
    if (vc === undefined && wc === undefined && !f.trailing) {
      emitRead(e, p, f, name, 'const ', all);
      continue;
    }
    e.line(`let ${name}: ${tsTypeOf(f, p)} | undefined;`);
    const cond = and(vc, wc);
    e.block(cond, () => {
      if (trailingDefault) e.line(`${name} = ${f.default};`);
      e.block(f.trailing ? 'r.pos < r.end' : undefined, () => emitRead(e, p, f, name, '', all));
    });
  }
  if (!consumesRest) {
    e.line(`if (r.pos !== r.end) throw r.trailingBytes(${jsString(p.spec[5] ?? p.spec[4]!)});`);
  }
  for (const rule of p.rules) {
    e.block(versionCond(rule.versions, all), () => {
      e.check(
        rule.spec,
        `if (${rule.check}) throw ${rule.reason === 'malformed' ? 'malformed' : 'protocolError'}(${jsString(rule.code)}, ${jsString(`${p.name}: ${rule.message}`)}, ${jsString(rule.spec)});`,
      );
    });
  }
  // Assemble the object: fixed keys by version shape, then the conditional ones.
  const entries: { key: string; expr: string; versions: Version[] }[] = [
    { key: 'cmd', expr: `'${p.cmd}'`, versions: all },
  ];
  const tail: string[] = [];
  const listDone = new Set<string>();
  for (const g of groups(slots(p))) {
    const s0 = g.slots[0]!;
    if (s0.path.includes('.')) {
      const parts = g.slots
        .filter((s) => s.field?.kind !== 'properties')
        .map((s) => {
          const k = s.path.split('.')[1]!;
          const cast = s.bit && s.bit.type === 'uint' ? ' as QoS' : '';
          return `${k}: ${local(s.path)}!${cast}`;
        });
      tail.push(`if (${whenCond(s0.when)}) {`);
      tail.push(`  const ${g.key}: ${T}['${g.key}'] = { ${parts.join(', ')} };`);
      for (const s of g.slots.filter((x) => x.field?.kind === 'properties')) {
        tail.push(`  if (${local(s.path)} !== undefined) ${g.key}.properties = ${local(s.path)};`);
      }
      tail.push(`  pkt.${g.key} = ${g.key};`);
      tail.push('}');
      continue;
    }
    for (const s of g.slots) {
      const key = s.path;
      const name = local(s.path);
      if (s.field?.kind === 'properties' || s.when !== undefined) {
        tail.push(`if (${name} !== undefined) pkt.${key} = ${name};`);
        continue;
      }
      if (s.field?.kind === 'list') {
        if (listDone.has(key)) {
          entries.find((x) => x.key === key)!.versions.push(...s.versions);
          continue;
        }
        listDone.add(key);
        entries.push({ key, expr: key, versions: [...s.versions] });
        continue;
      }
      const partial = s.versions.length !== all.length || (s.field?.trailing ?? false);
      let expr = name + (partial ? '!' : '');
      if (s.bit?.type === 'uint') expr += ' as QoS';
      if (s.field?.kind === 'protocolName') expr = `${name} as ${T}['protocolId']`;
      if (s.field?.kind === 'protocolLevel') expr = `${name} as ProtocolVersion`;
      entries.push({ key, expr, versions: s.versions });
    }
  }
  // Lists declared per version (SUBACK granted) are visible only inside their blocks; hoist them.
  const body = e.lines.join('\n');
  const lists = p.fields.filter((f) => f.kind === 'list' && versionCond(f.versions, all) !== undefined);
  let text = body;
  for (const f of lists) {
    const decl = `const ${local(f.name)}: ${tsTypeOf(f, p)} = [];`;
    text = text.split(decl).join(`${local(f.name)} = [];`);
  }
  const hoisted = [...new Set(lists.map((f) => `  let ${local(f.name)}: ${tsTypeOf(f, p)} = [];`))];
  return [
    `/** ${p.name} (${Object.values(p.spec).join('; ')}). */`,
    `function decode${typeName(p.name)}(r: Reader, flags: number, v: number): ${T} {`,
    ...hoisted,
    text,
    `  const pkt: ${T} = ${variants(entries, all)};`,
    ...tail.map((l) => `  ${l}`),
    '  return pkt;',
    '}',
  ].join('\n');
}

export function emitDecode(m: Model): string {
  const out: string[] = [];
  const reasonPackets = m.packets
    .filter((p) => JSON.stringify(p.fields).includes('"reasonCode"'))
    .map((p) => allowedTableName(p.name));
  const returnTables = m.packets
    .filter((p) => JSON.stringify(p.fields).includes('"returnCode"'))
    .flatMap((p) => [returnTableName(p.name, 3), returnTableName(p.name, 4)]);
  const sets = [
    ...new Set(m.packets.flatMap((p) => p.fields.filter((f) => f.kind === 'properties').map((f) => f.set!))),
  ];
  out.push(`import {
  type BodyDecoder,
  decodeProperties,
  Framer,
  frameOne,
  MqttDecodeError,
  malformed,
  protocolError,
  Reader,
  topicFilterProblem,
  topicNameProblem,
} from '../runtime/wire/index.js';
import type { ${m.packets.map((p) => packetType(p, false)).join(', ')}, Packet, ProtocolVersion, QoS, Subscription } from './packets.js';
import { PROPERTY_SETS, PROPERTY_TABLE } from './properties.js';
import type { ${sets
    .map((s) => propsType(s))
    .sort()
    .join(', ')} } from './properties.js';
import { ${[...reasonPackets, ...returnTables].sort().join(', ')} } from './reason-codes.js';
`);
  for (const p of m.packets) out.push(emitPacketDecoder(p), '');
  const cases = (fromServer: boolean) =>
    m.packets
      .map((p) => {
        if (fromServer && p.direction === 'client to server') {
          return `    case ${p.type}:\n      throw protocolError('MQTT_ERR_PACKET_TYPE', '${p.name} is sent by clients only', 'MQTT 5.0 §2.1.2, Table 2-1');`;
        }
        const vc = versionCond(p.versions, [3, 4, 5]);
        const guard = vc
          ? `\n      if (!(${vc})) throw malformed('MQTT_ERR_PACKET_TYPE', 'packet type ${p.type} (${p.name}) does not exist before MQTT 5', 'MQTT 5.0 §2.1.2');`
          : '';
        return `    case ${p.type}:${guard}\n      r.packet = '${p.name}';\n      return decode${typeName(p.name)}(r, flags, v);`;
      })
      .join('\n');
  const reserved = `    default:
      throw malformed('MQTT_ERR_PACKET_TYPE', \`packet type \${first >>> 4} is reserved\`, 'MQTT 5.0 §2.1.2, Table 2-1');`;
  out.push(`/** Decodes one packet body, buf[start, end), whose fixed header began with \`first\`. */
export function decodeBody(r: Reader, first: number, v: ProtocolVersion): Packet {
  const flags = first & 0x0f;
  switch (first >>> 4) {
${cases(false)}
${reserved}
  }
}

/**
 * \`decodeBody\` for a client: the packets only clients send (${m.packets
   .filter((p) => p.direction === 'client to server')
   .map((p) => p.name)
   .join(', ')}) are a
 * Protocol Error, and their decoders are left out of bundles that use only this.
 */
export function decodeFromServer(r: Reader, first: number, v: ProtocolVersion): Packet {
  const flags = first & 0x0f;
  switch (first >>> 4) {
${cases(true)}
${reserved}
  }
}

export interface DecodeOptions {
  /** Protocol level of the connection: 3, 4 (default) or 5. A CONNECT sets its own. */
  protocolVersion?: ProtocolVersion;
  /** Largest packet accepted, in bytes, fixed header included (MQTT 5 Maximum Packet Size). */
  maximumPacketSize?: number;
}

/** Decodes exactly one complete packet. Throws MqttDecodeError for bad or incomplete bytes. */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Packet {
  const start = frameOne(bytes, options.maximumPacketSize);
  const r = new Reader().reset(bytes, start, bytes.length, '');
  return decodeBody(r, bytes[0]!, options.protocolVersion ?? 4);
}

/**
 * A streaming decoder (Decoder and ClientDecoder are the two kinds): \`push\` takes chunks of
 * any size, split anywhere, and returns the packets each chunk completes, in order. After a CONNECT, the decoder switches to that
 * CONNECT's protocol level (what a server needs). Once \`push\` has thrown, the stream is
 * unusable and every later call throws the same error.
 *
 * Byte fields of decoded packets are views of the pushed chunks, and a packet still
 * incomplete is held as views of its chunks until its last byte arrives (it is copied
 * once then): do not reuse a chunk's memory after pushing it. A Remaining Length above
 * \`maximumPacketSize\` is refused from the fixed header, before any body is held.
 */
export class PacketDecoder implements BodyDecoder<Packet> {
  protocolVersion: ProtocolVersion;
  private readonly reader_ = new Reader();
  private readonly framer_: Framer<Packet>;
  private readonly body_: typeof decodeBody;

  /** \`body\` decodes the packet bodies: \`decodeBody\` (Decoder) or \`decodeFromServer\` (ClientDecoder). */
  constructor(options: DecodeOptions, body: typeof decodeBody) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.body_ = body;
    this.framer_ = new Framer(this, options.maximumPacketSize);
  }

  /** For the Framer. */
  decodeBody_(first: number, buf: Uint8Array, start: number, end: number): Packet {
    const packet = this.body_(this.reader_.reset(buf, start, end, ''), first, this.protocolVersion);
    if (packet.cmd === 'connect') this.protocolVersion = packet.protocolVersion;
    return packet;
  }

  /** Largest packet accepted, fixed header included. */
  get maximumPacketSize(): number {
    return this.framer_.maximumPacketSize;
  }

  set maximumPacketSize(n: number) {
    this.framer_.maximumPacketSize = n;
  }

  /** Bytes of an incomplete packet held between chunks. */
  get buffered(): number {
    return this.framer_.buffered;
  }

  push(chunk: Uint8Array): Packet[] {
    const packets = this.framer_.push(chunk);
    this.reader_.clear();
    return packets;
  }
}

/** The streaming decoder of every packet, in both directions (a broker's, a tool's). */
export class Decoder extends PacketDecoder {
  constructor(options: DecodeOptions = {}) {
    super(options, decodeBody);
  }
}

/**
 * The streaming decoder of a client: what a server sends. A packet only clients send is a
 * Protocol Error (\`MQTT_ERR_PACKET_TYPE\`, reason code 0x82), and the decoders of those packets
 * are left out of bundles that use only this (the browser build).
 */
export class ClientDecoder extends PacketDecoder {
  constructor(options: DecodeOptions = {}) {
    super(options, decodeFromServer);
  }
}
`);
  return out.join('\n');
}
