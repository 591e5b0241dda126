/**
 * generated/encode.ts: one encoder per packet. Each runs a size pass that checks every value
 * and measures every string, allocates the packet once, then writes it front to back.
 */

import { Code } from './code.js';
import { packetType } from './emit-packets.js';
import { propsType, sizePropsExpr, writePropsExpr } from './emit-properties.js';
import { allowedTableName, returnTableName } from './emit-reason-codes.js';
import type { Bit, Field, Model, Packet, Version } from './model.js';
import { and, jsString, label, local, typeName, versionCond, whenCond } from './names.js';

const hexByte = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const maskOf = (b: Bit) => (0xff >> (7 - b.hi)) & (0xff << b.lo) & 0xff;
const SPEC_PACKET_ID = 'MQTT 5.0 §2.2.1 [MQTT-2.2.1-3]';

/** Access expression for a path of the input packet: will.topic → p.will!.topic. */
function access(path: string, obj = 'p'): string {
  const parts = path.split('.');
  return parts.length === 1 ? `${obj}.${path}` : `${obj}.${parts[0]}!.${parts.slice(1).join('.')}`;
}

/** Expression for a flags byte from value locals (prefixed) and presence locals. */
function flagsExpr(bits: Bit[], all: Version[], prefix: string): string {
  const parts: string[] = [];
  for (const b of bits) {
    const vc = versionCond(b.versions, all);
    let part: string | undefined;
    if (b.presence) part = `(has_${b.presence} ? ${hexByte(maskOf(b))} : 0)`;
    else if (b.reserved !== undefined)
      part = b.reserved === 0 ? undefined : hexByte((b.reserved << b.lo) & 0xff);
    else if (b.type === 'bool') part = `(${prefix}${local(b.name!)} ? ${hexByte(maskOf(b))} : 0)`;
    else part = b.lo === 0 ? `${prefix}${local(b.name!)}` : `(${prefix}${local(b.name!)} << ${b.lo})`;
    if (part === undefined) continue;
    parts.push(vc ? `(${vc} ? ${part} : 0)` : part);
  }
  return parts.length === 0 ? '0' : parts.join(' | ');
}

/** Emits the value locals of named bits, with their checks. */
function bitValues(c: Code, p: Packet, bits: Bit[], src: string, prefix: string): void {
  for (const b of bits.filter((x) => x.name)) {
    const name = prefix + local(b.name!);
    const wc = whenCond(b.when);
    const raw = access(b.name!, src);
    const what = jsString(`${p.name}: ${b.name}`);
    const value =
      b.type === 'bool'
        ? b.default === true
          ? `(${raw} ?? true) === true`
          : `${raw} === true`
        : b.name === 'rh'
          ? `checkInt(${raw} ?? 0, 0, ${b.max ?? 3}, ${what}, ${jsString(b.spec)})`
          : `checkInt(${raw}${b.max === undefined ? '' : ' ?? 0'}, 0, ${b.max ?? (1 << (b.hi - b.lo + 1)) - 1}, ${what}, ${jsString(b.spec)})`;
    const line = `const ${name} = ${wc ? `${wc} ? ${value} : ${b.type === 'bool' ? 'false' : '0'}` : value};`;
    if (b.type === 'bool') c.line(line);
    else c.check(b.spec, line);
  }
}

interface Sized {
  /** Expression of the field's encoded size. */
  size: string;
  /** Emits the write of the field. */
  write: (c: Code) => void;
}

/** Emits the checks of one value and returns its size and writer. `src` is the value expression. */
function prepare(c: Code, p: Packet, f: Field, name: string, src: string, all: Version[]): Sized {
  const what = jsString(`${p.name}: ${label(f)}`);
  const spec = jsString(f.spec);
  switch (f.kind) {
    case 'u8':
      c.line(`const ${name} = checkInt(${src}, 0, 255, ${what}, ${spec});`);
      return { size: '1', write: (w) => w.line(`buf[pos++] = ${name};`) };
    case 'u16':
      c.line(`const ${name} = checkInt(${src}, 0, 65535, ${what}, ${spec});`);
      return { size: '2', write: (w) => w.line(`pos = writeU16(buf, pos, ${name});`) };
    case 'u32':
      c.line(`const ${name} = checkInt(${src}, 0, 4294967295, ${what}, ${spec});`);
      return { size: '4', write: (w) => w.line(`pos = writeU32(buf, pos, ${name});`) };
    case 'messageId':
      c.check(
        SPEC_PACKET_ID,
        `const ${name} = checkInt(${src}, 1, 65535, ${what}, ${jsString(SPEC_PACKET_ID)});`,
      );
      return { size: '2', write: (w) => w.line(`pos = writeU16(buf, pos, ${name});`) };
    case 'string':
      c.line(`const ${name} = ${src} as string;`);
      if (f.topic === 'name') {
        c.check(
          f.spec,
          `const ${name}_len = topicNameLength(${name}, ${what}, ${f.allowEmpty === true}, ${spec});`,
        );
        return {
          size: `2 + ${name}_len`,
          write: (w) => w.line(`pos = writeString(buf, pos, ${name}, ${name}_len);`),
        };
      }
      c.line(`const ${name}_len = stringLength(${name}, ${what});`);
      if (f.topic === 'filter') {
        c.line(
          `const ${name}_problem = topicFilterProblem(${name}, v === 5); // $share/ is a Shared Subscription in MQTT 5`,
        );
        c.check(
          f.spec,
          `if (${name}_problem !== undefined) throw encodeError('MQTT_ERR_TOPIC_FILTER_INVALID', \`${p.name}: \${${name}_problem}\`, ${spec}, 0x8f);`,
        );
      }
      return {
        size: `2 + ${name}_len`,
        write: (w) => w.line(`pos = writeString(buf, pos, ${name}, ${name}_len);`),
      };
    case 'binary':
      c.line(`const ${name} = binaryBytes(${src}, ${what});`);
      return { size: `2 + ${name}.length`, write: (w) => w.line(`pos = writeBinary(buf, pos, ${name});`) };
    case 'payload':
      c.line(`const ${name} = ${src} === undefined ? EMPTY : toBytes(${src}, ${what});`);
      return { size: `${name}.length`, write: (w) => w.line(`pos = writeBytes(buf, pos, ${name});`) };
    case 'reasonCode':
      c.line(
        `const ${name} = checkInt(${src}${f.default !== undefined ? ` ?? ${f.default}` : ''}, 0, 255, ${what});`,
      );
      c.line(
        `if (${allowedTableName(p.name)}[${name}] !== 1) throw encodeError('MQTT_ERR_REASON_CODE', \`${p.name}: reason code 0x\${${name}.toString(16)} is not allowed in this packet\`, ${spec});`,
      );
      return { size: '1', write: (w) => w.line(`buf[pos++] = ${name};`) };
    case 'returnCode': {
      const table = `(v === 3 ? ${returnTableName(p.name, 3)} : ${returnTableName(p.name, 4)})`;
      c.line(`const ${name} = checkInt(${src}, 0, 255, ${what});`);
      c.line(
        `if (${table}[${name}] !== 1) throw encodeError('MQTT_ERR_RETURN_CODE', \`${p.name}: return code \${${name}} is reserved at protocol level \${v}\`, ${spec});`,
      );
      return { size: '1', write: (w) => w.line(`buf[pos++] = ${name};`) };
    }
    case 'properties':
      c.line(`const ${name} = ${src};`);
      c.line(`const ${name}_len = ${sizePropsExpr(f.set!, name)};`);
      return {
        size: `vbiLength(${name}_len) + ${name}_len`,
        write: (w) => w.line(`pos = ${writePropsExpr(name, `${name}_len`)};`),
      };
    default:
      throw new Error(`cannot encode ${f.kind} here (${all.join(',')})`);
  }
}

function emitList(c: Code, p: Packet, f: Field, all: Version[]): Sized {
  const name = local(f.name);
  const T = packetType(p, true);
  c.line(`const ${name} = p.${f.name} as ${T}['${f.name}'];`);
  c.line(
    `if (!Array.isArray(${name})) throw encodeError('MQTT_ERR_FIELD_TYPE', \`${p.name}: ${f.name} must be an array, got \${typeof ${name}}\`);`,
  );
  if (f.minItems) {
    c.check(
      f.spec,
      `if (${name}.length < ${f.minItems}) throw encodeError('MQTT_ERR_EMPTY_LIST', ${jsString(`${p.name}: ${f.name} must not be empty`)}, ${jsString(f.spec)});`,
    );
  }
  c.line(`let ${name}_len = 0;`);
  const sizeLoop = new Code();
  sizeLoop.depth = c.depth + 1;
  const writeLoop = new Code();
  writeLoop.depth = 2;
  if (Array.isArray(f.item)) {
    for (const item of f.item) {
      if (item.kind === 'flags') {
        bitValues(sizeLoop, p, item.bits ?? [], 'item', 'i_');
        sizeLoop.line(`${name}_len += 1;`);
      } else {
        const s = prepare(sizeLoop, p, item, `i_${item.name}`, `item.${item.name}`, all);
        sizeLoop.line(`${name}_len += ${s.size};`);
      }
    }
    // The write loop re-derives what it writes; the size loop has checked it all.
    for (const item of f.item) {
      if (item.kind === 'flags') {
        const bits = (item.bits ?? []).filter((b) => b.name);
        for (const b of bits) {
          const raw = `item.${b.name}`;
          writeLoop.line(`const i_${b.name} = ${b.type === 'bool' ? `${raw} === true` : `${raw} ?? 0`};`);
        }
        writeLoop.line(`buf[pos++] = ${flagsExpr(item.bits ?? [], f.versions, 'i_')};`);
      } else if (item.kind === 'string') {
        writeLoop.line(`pos = writeStringUnsized(buf, pos, item.${item.name});`);
      } else {
        throw new Error(`list item kind ${item.kind} not supported`);
      }
    }
  } else {
    const s = prepare(
      sizeLoop,
      p,
      { ...f.item!, name: `${f.name} entry`, spec: f.spec },
      'value',
      'item',
      all,
    );
    sizeLoop.line(`${name}_len += ${s.size};`);
    const w = new Code();
    w.depth = 2;
    if (f.item!.kind === 'string') w.line('pos = writeStringUnsized(buf, pos, item);');
    else w.line('buf[pos++] = item;');
    writeLoop.lines.push(...w.lines);
  }
  c.line(`for (const item of ${name}) {`);
  c.lines.push(...sizeLoop.lines);
  c.line('}');
  return {
    size: `${name}_len`,
    write: (w) => {
      w.line(`for (const item of ${name}) {`);
      for (const l of writeLoop.lines) w.line(l.slice(2));
      w.line('}');
    },
  };
}

function emitPacketEncoder(p: Packet): string {
  const c = new Code();
  const all = p.versions;
  const T = packetType(p, true);
  const parts: { cond?: string; trailing?: string; sized: Sized }[] = [];
  const level = p.fields.find((f) => f.kind === 'protocolLevel');
  if (level) {
    c.line(
      `if (p.${level.name} !== undefined) v = checkInt(p.${level.name}, 3, 5, ${jsString(`${p.name}: Protocol Level`)}) as ProtocolVersion;`,
    );
  }
  const versionGuard = versionCond(all, [3, 4, 5]);
  if (versionGuard) {
    c.line(
      `if (!(${versionGuard})) throw encodeError('MQTT_ERR_PACKET_TYPE', '${p.name} does not exist before MQTT 5', 'MQTT 5.0 §2.1.2');`,
    );
  }
  // Header bits and presence flags first: later fields depend on them.
  if (p.flags.bits) bitValues(c, p, p.flags.bits, 'p', '');
  for (const f of p.fields) {
    for (const b of (f.bits ?? []).filter((x) => x.presence))
      c.line(`const has_${b.presence} = p.${b.presence} != null;`);
  }
  const trailing: { name: string; nonDefault: string }[] = [];
  for (const f of p.fields) {
    const vc = versionCond(f.versions, all);
    const wc = whenCond(f.when);
    const cond = and(vc, wc) ?? (f.trailing ? 'true' : undefined);
    const name = local(f.name);
    if (f.kind === 'protocolName') {
      const vals = f.values!;
      c.line(
        `const ${name} = ${[3, 4].map((x) => `v === ${x} ? ${jsString(vals[x as Version]!)}`).join(' : ')} : ${jsString(vals[5]!)};`,
      );
      c.check(
        f.spec,
        `if (p.${f.name} !== undefined && p.${f.name} !== ${name}) throw encodeError('MQTT_ERR_PROTOCOL_NAME', \`${p.name}: protocol name "\${p.${f.name}}" does not match protocol level \${v}\`, ${jsString(f.spec)});`,
      );
      c.line(`const ${name}_len = ${name}.length;`);
      parts.push({
        sized: {
          size: `2 + ${name}_len`,
          write: (w) => w.line(`pos = writeString(buf, pos, ${name}, ${name}_len);`),
        },
      });
      continue;
    }
    if (f.kind === 'protocolLevel') {
      parts.push({ sized: { size: '1', write: (w) => w.line('buf[pos++] = v;') } });
      continue;
    }
    if (f.kind === 'flags') {
      bitValues(c, p, f.bits ?? [], 'p', '');
      const expr = flagsExpr(f.bits ?? [], all, '');
      parts.push({ sized: { size: '1', write: (w) => w.line(`buf[pos++] = ${expr};`) } });
      continue;
    }
    if (f.kind === 'list') {
      if (vc !== undefined) {
        // A list that exists in some versions only (SUBACK granted has one per version set).
        const inner = new Code();
        inner.depth = c.depth + 1;
        const sized = emitList(inner, p, f, all);
        const lenName = `${local(f.name)}_len_v${f.versions.join('')}`;
        c.line(`let ${lenName} = 0;`);
        c.line(`if (${vc}) {`);
        c.lines.push(...inner.lines);
        c.line(`  ${lenName} = ${sized.size};`);
        c.line('}');
        parts.push({
          cond: vc,
          sized: {
            size: lenName,
            write: (w) => {
              // Re-read the key inside the write block.
              w.line(`const ${local(f.name)} = p.${f.name}!;`);
              sized.write(w);
            },
          },
        });
        continue;
      }
      parts.push({ cond: vc, sized: emitList(c, p, f, all) });
      continue;
    }
    if (cond === undefined) {
      parts.push({ sized: prepare(c, p, f, name, access(f.name), all) });
      continue;
    }
    // Conditional field: checked only where it exists. Its locals are declared up front and
    // assigned inside the condition, so the hot path allocates nothing for it.
    const inner = new Code();
    inner.depth = c.depth + 1;
    const sized = prepare(inner, p, f, name, access(f.name), all);
    const hasLen = inner.lines.some((l) => l.includes(`const ${name}_len =`));
    c.line(`const ${name}_on = ${cond};`);
    c.line(`let ${name}!: ${localType(f)};`);
    if (hasLen) c.line(`let ${name}_len = 0;`);
    c.line(`if (${name}_on) {`);
    for (const l of inner.lines) {
      c.lines.push(
        l.replace(`const ${name} = `, `${name} = `).replace(`const ${name}_len = `, `${name}_len = `),
      );
    }
    c.line('}');
    if (f.trailing) {
      const nonDefault =
        f.kind === 'properties'
          ? `(${name}_on && ${name}_len > 0)`
          : `(${name}_on && ${name} !== ${f.default ?? 0})`;
      trailing.push({ name, nonDefault });
    }
    parts.push({
      cond: f.trailing ? `keep_${name}` : `${name}_on`,
      trailing: f.trailing ? name : undefined,
      sized,
    });
  }
  // Trailing fields: each is written if it or any after it differs from its default.
  for (let i = trailing.length - 1; i >= 0; i--) {
    const t = trailing[i]!;
    const next = trailing[i + 1];
    c.line(`const keep_${t.name} = ${t.nonDefault}${next ? ` || keep_${next.name}` : ''};`);
  }
  for (const rule of p.rules) {
    c.block(versionCond(rule.versions, all), () => {
      const decls = ruleLocals(rule.check, p);
      c.line(`{`);
      for (const d of decls) c.line(`  ${d}`);
      c.check(
        rule.spec,
        `  if (${rule.check}) throw encodeError(${jsString(rule.code)}, ${jsString(`${p.name}: ${rule.message}`)}, ${jsString(rule.spec)});`,
      );
      c.line('}');
    });
  }
  const sizeTerms = parts.map((x) => (x.cond ? `(${x.cond} ? ${x.sized.size} : 0)` : x.sized.size));
  c.line(`const size = ${sizeTerms.length ? sizeTerms.join(' + ') : '0'};`);
  const first = p.flags.bits
    ? `${hexByte(p.type << 4)} | ${flagsExpr(p.flags.bits, all, '')}`
    : hexByte((p.type << 4) | p.flags.reserved!);
  // A packet ending in its payload can leave it out of the buffer: `encode<Name>Parts` writes the
  // head and hands back the payload as given, so a large payload is never copied.
  const payload = splitPayload(p);
  c.line(
    payload
      ? `const buf = allocPacket(size, maximumPacketSize, parts ? ${local(payload.name)}.length : 0);`
      : 'const buf = allocPacket(size, maximumPacketSize);',
  );
  c.line(`buf[0] = ${first};`);
  c.line('let pos = writeVbi(buf, 1, size);');
  parts.forEach((part, i) => {
    if (payload && i === parts.length - 1) {
      c.line('if (parts) {');
      c.line(`  parts.push(buf, ${local(payload.name)});`);
      c.line('  return buf;');
      c.line('}');
    }
    if (part.cond) {
      c.block(part.cond, () => part.sized.write(c));
    } else {
      part.sized.write(c);
    }
  });
  c.line('return buf;');
  return [
    `/** ${p.name} (${Object.values(p.spec).join('; ')}). */`,
    `function encode${typeName(p.name)}(p: ${T}, v: ProtocolVersion, maximumPacketSize: number${payload ? ', parts?: Uint8Array[]' : ''}): Uint8Array {`,
    ...c.lines,
    '}',
  ].join('\n');
}

/** The packet's payload field when it is the last field and always present, else undefined. */
function splitPayload(p: Packet): Field | undefined {
  const last = p.fields.at(-1);
  if (last?.kind !== 'payload' || last.when !== undefined || last.trailing) return undefined;
  return last.versions.length === 3 ? last : undefined;
}

/** The TypeScript type of a field's checked local. */
function localType(f: Field): string {
  switch (f.kind) {
    case 'string':
      return 'string';
    case 'binary':
    case 'payload':
      return 'Uint8Array';
    case 'properties':
      return `${propsType(f.set!)} | undefined`;
    default:
      return 'number';
  }
}

/** Locals a rule's check expression refers to, read from the input packet. */
function ruleLocals(check: string, p: Packet): string[] {
  const out: string[] = [];
  for (const id of new Set(check.match(/\b[a-zA-Z_]\w*\b/g) ?? [])) {
    if (['undefined', 'length', 'topicAlias', 'true', 'false'].includes(id)) continue;
    if (id.startsWith('has_')) continue; // presence flags are locals already
    const bit = (p.flags.bits ?? []).find((b) => b.name === id);
    if (bit) continue; // header bit locals already exist
    if (p.fields.some((f) => f.bits?.some((b) => b.name === id))) continue;
    out.push(`const ${id} = p.${id};`);
  }
  return out;
}

export function emitEncode(m: Model): string {
  const out: string[] = [];
  const sets = [
    ...new Set(m.packets.flatMap((p) => p.fields.filter((f) => f.kind === 'properties').map((f) => f.set!))),
  ];
  const reasonPackets = m.packets
    .filter((p) => JSON.stringify(p.fields).includes('"reasonCode"'))
    .map((p) => allowedTableName(p.name));
  const returnTables = m.packets
    .filter((p) => JSON.stringify(p.fields).includes('"returnCode"'))
    .flatMap((p) => [returnTableName(p.name, 3), returnTableName(p.name, 4)]);
  out.push(`import {
  alloc,
  binaryBytes,
  checkInt,
  encodeError,
  sizeProperties,
  stringLength,
  toBytes,
  topicFilterProblem,
  topicNameLength,
  utf8Length,
  VBI_MAX,
  vbiLength,
  writeBinary,
  writeBytes,
  writeProperties,
  writeString,
  writeStringUnsized,
  writeU16,
  writeU32,
  writeVbi,
} from '../runtime/wire/index.js';
import type { ${m.packets.map((p) => packetType(p, true)).join(', ')}, PacketInput, ProtocolVersion } from './packets.js';
import type { ${sets
    .map((s) => propsType(s))
    .sort()
    .join(', ')} } from './properties.js';
import { PROPERTY_SETS, PROPERTY_TABLE } from './properties.js';
import { ${[...reasonPackets, ...returnTables].sort().join(', ')} } from './reason-codes.js';

const EMPTY = new Uint8Array(0);

/**
 * Allocates a packet whose Remaining Length is \`size\`, after checking both limits; without its
 * last \`tail\` bytes when the caller writes those itself.
 */
function allocPacket(size: number, maximumPacketSize: number, tail = 0): Uint8Array {
  if (size > VBI_MAX) {
    throw encodeError('MQTT_ERR_PACKET_TOO_LARGE', \`Remaining Length \${size} exceeds \${VBI_MAX}\`, 'MQTT 5.0 §2.1.4', 0x95);
  }
  const total = 1 + vbiLength(size) + size;
  if (total > maximumPacketSize) {
    throw encodeError('MQTT_ERR_PACKET_TOO_LARGE', \`packet of \${total} bytes exceeds the Maximum Packet Size of \${maximumPacketSize}\`, 'MQTT 5.0 §3.1.2.11.4', 0x95);
  }
  return alloc(total - tail);
}
`);
  for (const p of m.packets) out.push(emitPacketEncoder(p), '');
  out.push(`export interface EncodeOptions {
  /** Protocol level: 3, 4 (default) or 5. A CONNECT's own protocolVersion takes precedence. */
  protocolVersion?: ProtocolVersion;
  /** Largest packet allowed, in bytes, fixed header included (the peer's Maximum Packet Size). */
  maximumPacketSize?: number;
}

/**
 * Encodes a packet. Returns its bytes (a Buffer in Node). Throws MqttEncodeError, naming the
 * field, for any value that cannot be written as a valid packet.
 */
export function encode(packet: PacketInput, options: EncodeOptions = {}): Uint8Array {
  const v = options.protocolVersion ?? 4;
  const max = options.maximumPacketSize ?? 268_435_460;
  switch (packet?.cmd) {
${m.packets.map((p) => `    case '${p.cmd}':\n      return encode${typeName(p.name)}(packet, v, max);`).join('\n')}
    default:
      throw encodeError('MQTT_ERR_PACKET_TYPE', \`unknown packet cmd '\${String((packet as { cmd?: unknown } | undefined)?.cmd)}'\`);
  }
}

/**
 * \`encode\` for a client: the packets a server sends (${m.packets
   .filter((p) => p.direction === 'server to client')
   .map((p) => p.name)
   .join(', ')}) are refused,
 * and their encoders are left out of bundles that use only this (the browser build).
 */
export function encodeFromClient(packet: PacketInput, options: EncodeOptions = {}): Uint8Array {
  const v = options.protocolVersion ?? 4;
  const max = options.maximumPacketSize ?? 268_435_460;
  switch (packet?.cmd) {
${m.packets
  .map((p) =>
    p.direction === 'server to client'
      ? `    case '${p.cmd}':\n      throw encodeError('MQTT_ERR_PACKET_TYPE', '${p.name} is sent by servers only', 'MQTT 5.0 §2.1.2, Table 2-1');`
      : `    case '${p.cmd}':\n      return encode${typeName(p.name)}(packet, v, max);`,
  )
  .join('\n')}
    default:
      throw encodeError('MQTT_ERR_PACKET_TYPE', \`unknown packet cmd '\${String((packet as { cmd?: unknown } | undefined)?.cmd)}'\`);
  }
}
`);
  for (const p of m.packets.filter((x) => splitPayload(x))) {
    const name = typeName(p.name);
    out.push(`
/**
 * Encodes a ${p.name} as two parts: its head (fixed header to the last field before the payload)
 * and its payload, the caller's bytes as given (a string encoded as UTF-8). Writing both, in
 * order, sends exactly what \`encode\` returns, without copying a large payload into the
 * packet. The same checks as \`encode\`, Maximum Packet Size included.
 */
export function encode${name}Parts(packet: ${packetType(p, true)}, options: EncodeOptions = {}): [head: Uint8Array, payload: Uint8Array] {
  const parts: Uint8Array[] = [];
  encode${name}(packet, options.protocolVersion ?? 4, options.maximumPacketSize ?? 268_435_460, parts);
  return parts as [Uint8Array, Uint8Array];
}
`);
  }
  return out.join('\n');
}
