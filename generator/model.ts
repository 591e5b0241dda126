/**
 * Reads schema/*.yaml into a typed, validated model. Every schema mistake is a
 * SchemaError naming the file and line; nothing downstream re-checks the YAML.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type YAMLMap, type Node as YamlNode } from 'yaml';

export type Version = 3 | 4 | 5;
export const ALL_VERSIONS: readonly Version[] = [3, 4, 5];

export const PROPERTY_TYPES = ['bool', 'byte', 'u16', 'u32', 'vbi', 'string', 'binary', 'pair'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const FIELD_KINDS = [
  'u8',
  'u16',
  'u32',
  'messageId',
  'string',
  'binary',
  'payload',
  'flags',
  'reasonCode',
  'returnCode',
  'properties',
  'list',
  'protocolName',
  'protocolLevel',
] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

/** Property sets: the packets plus WILL, the will properties inside CONNECT. */
export const PROPERTY_SETS = [
  'CONNECT',
  'WILL',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'DISCONNECT',
  'AUTH',
] as const;

export interface Where {
  file: string;
  line: number;
}

export class SchemaError extends Error {
  constructor(where: Where, message: string) {
    super(`${where.file}:${where.line}: ${message}`);
    this.name = 'SchemaError';
  }
}

export interface Property {
  where: Where;
  id: number;
  name: string;
  key: string;
  type: PropertyType;
  packets: string[];
  repeat: string[];
  min?: number;
  max?: number;
  requires?: string;
  topicName: boolean;
  default?: number | boolean;
  spec: string;
  description: string;
}

export interface ReasonCode {
  where: Where;
  value: number;
  name: string;
  const: string;
  packets: string[];
  spec: string;
  description: string;
}

export interface ReturnCode {
  where: Where;
  packet: 'CONNACK' | 'SUBACK';
  value: number;
  name: string;
  const: string;
  versions: Version[];
  spec: string;
  description?: string;
}

export interface Bit {
  where: Where;
  hi: number;
  lo: number;
  name?: string;
  type: 'bool' | 'uint';
  presence?: string;
  reserved?: number;
  max?: number;
  /** The error a value above `max` raises: its code and whether it is a Protocol Error. */
  code?: string;
  reason?: 'protocol' | 'malformed';
  /** A bool's value when the encoder's input leaves it out (otherwise false). */
  default?: boolean;
  when?: string;
  versions: Version[];
  spec: string;
}

export interface Field {
  where: Where;
  /** Path in the packet object (`will.topic`); empty for a bare list item. */
  name: string;
  kind: FieldKind;
  versions: Version[];
  when?: string;
  trailing: boolean;
  default?: number;
  section: 'variableHeader' | 'payload';
  spec: string;
  topic?: 'name' | 'filter';
  /** A Topic Name that may be empty (an MQTT 5 PUBLISH with a Topic Alias); rules check it. */
  allowEmpty: boolean;
  set?: string;
  values?: Partial<Record<Version, string>>;
  bits?: Bit[];
  /** list: the item's fields (object items) or one unnamed field (bare items). */
  item?: Field[] | Field;
  /** list of objects: the name of the item type (e.g. Subscription). */
  itemType?: string;
  minItems?: number;
}

export interface Rule {
  where: Where;
  check: string;
  versions: Version[];
  code: string;
  message: string;
  spec: string;
  reason: 'protocol' | 'malformed';
}

export interface Packet {
  where: Where;
  name: string;
  type: number;
  cmd: string;
  versions: Version[];
  direction: string;
  spec: Partial<Record<Version, string>>;
  description: string;
  flags: { reserved?: number; v3?: number[]; bits?: Bit[]; spec: string };
  fields: Field[];
  rules: Rule[];
}

export interface Example {
  where: Where;
  name: string;
  figure?: string;
  spec: string;
  protocolVersion: Version;
  /** The packet object with binary fields still in their YAML form ({ utf8 } / { hex } / { repeat, count }). */
  packet: Record<string, unknown>;
  hex: string;
  payloadHex?: { repeat: string; count: number };
}

export interface DataType {
  where: Where;
  name: string;
  title: string;
  spec: string;
  description: string;
  min?: number;
  max?: number;
  maxBytes?: number;
  rules: string[];
}

export interface TopicRule {
  where: Where;
  id: string;
  rule: string;
  spec: string;
}

export interface Model {
  files: string[];
  packets: Packet[];
  properties: Property[];
  reasonCodes: ReasonCode[];
  returnCodes: ReturnCode[];
  examples: Example[];
  types: DataType[];
  topics: TopicRule[];
}

/** A YAML file with line lookup for the nodes it holds. */
class Source {
  readonly lines = new LineCounter();
  readonly root: unknown;
  readonly doc;
  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, keepSourceTokens: false });
    if (this.doc.errors.length > 0) {
      const e = this.doc.errors[0]!;
      throw new SchemaError({ file, line: e.linePos?.[0]?.line ?? 1 }, e.message);
    }
    this.root = this.doc.contents;
  }
  where(node: unknown): Where {
    const range = (node as YamlNode | undefined)?.range;
    return { file: this.file, line: range ? this.lines.linePos(range[0]).line : 1 };
  }
}

/** A checked view of one YAML mapping: every key must be read, and unknown keys are errors. */
class Obj {
  private readonly used = new Set<string>();
  readonly where: Where;
  constructor(
    private readonly src: Source,
    private readonly node: YAMLMap,
  ) {
    this.where = src.where(node);
  }
  static of(src: Source, node: unknown, what: string): Obj {
    if (!isMap(node)) throw new SchemaError(src.where(node), `${what} must be a mapping`);
    return new Obj(src, node);
  }
  private raw(key: string): unknown {
    this.used.add(key);
    return this.node.get(key, true);
  }
  has(key: string): boolean {
    return this.node.has(key);
  }
  fail(message: string, key?: string): never {
    const node = key ? this.node.get(key, true) : this.node;
    throw new SchemaError(this.src.where(node ?? this.node), message);
  }
  private js(key: string): unknown {
    const n = this.raw(key);
    return n === undefined ? undefined : ((n as { toJSON(): unknown }).toJSON?.() ?? n);
  }
  str(key: string): string;
  str(key: string, optional: true): string | undefined;
  str(key: string, optional?: true): string | undefined {
    const v = this.js(key);
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0) this.fail(`'${key}' must be a non-empty string`, key);
    return v;
  }
  num(key: string): number;
  num(key: string, optional: true): number | undefined;
  num(key: string, optional?: true): number | undefined {
    const v = this.js(key);
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`'${key}' must be an integer`, key);
    return v;
  }
  bool(key: string): boolean | undefined {
    const v = this.js(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(`'${key}' must be true or false`, key);
    return v;
  }
  value(key: string): unknown {
    return this.js(key);
  }
  strings(key: string, optional?: true): string[] {
    const v = this.js(key);
    if (v === undefined && optional) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
      this.fail(`'${key}' must be a list of strings`, key);
    return v as string[];
  }
  versions(key: string, fallback: Version[]): Version[] {
    const v = this.js(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => x !== 3 && x !== 4 && x !== 5)) {
      this.fail(`'${key}' must be a list of protocol levels 3, 4, 5`, key);
    }
    for (const x of v as Version[])
      if (!fallback.includes(x)) this.fail(`version ${x} is not one of ${fallback}`, key);
    return v as Version[];
  }
  objects(key: string, what: string): Obj[] {
    const n = this.raw(key);
    if (n === undefined) return [];
    if (!isSeq(n)) this.fail(`'${key}' must be a list`, key);
    return n.items.map((item) => Obj.of(this.src, item, what));
  }
  child(key: string, what: string): Obj | undefined {
    const n = this.raw(key);
    return n === undefined ? undefined : Obj.of(this.src, n, what);
  }
  node_(key: string): unknown {
    return this.raw(key);
  }
  /** Call once all keys were read: unknown keys are schema errors. */
  done(): void {
    for (const pair of this.node.items) {
      const k = String((pair.key as { value?: unknown })?.value ?? pair.key);
      if (!this.used.has(k)) throw new SchemaError(this.src.where(pair.key), `unknown key '${k}'`);
    }
  }
}

function load(dir: string, name: string): Source {
  const path = join(dir, name);
  return new Source(relative(process.cwd(), path) || path, readFileSync(path, 'utf8'));
}

function topList(src: Source, key: string): Obj[] {
  const top = Obj.of(src, src.root, 'the file');
  const list = top.objects(key, key);
  top.done();
  return list;
}

function readProperties(src: Source): Property[] {
  return topList(src, 'properties').map((o) => {
    const type = o.str('type') as PropertyType;
    if (!PROPERTY_TYPES.includes(type)) o.fail(`unknown property type '${type}'`, 'type');
    const p: Property = {
      where: o.where,
      id: o.num('id'),
      name: o.str('name'),
      key: o.str('key'),
      type,
      packets: o.strings('packets'),
      repeat: o.strings('repeat', true),
      min: o.num('min', true),
      max: o.num('max', true),
      requires: o.str('requires', true),
      topicName: o.bool('topicName') ?? false,
      default: o.value('default') as number | boolean | undefined,
      spec: o.str('spec'),
      description: o.str('description'),
    };
    for (const s of [...p.packets, ...p.repeat]) {
      if (!(PROPERTY_SETS as readonly string[]).includes(s)) o.fail(`unknown packet '${s}'`, 'packets');
    }
    for (const s of p.repeat)
      if (!p.packets.includes(s)) o.fail(`repeat lists '${s}', which does not allow it`);
    if (p.id < 1 || p.id > 127) o.fail('property ids must fit one VBI byte (1..127)', 'id');
    o.done();
    return p;
  });
}

function readReasonCodes(src: Source): { reasonCodes: ReasonCode[]; returnCodes: ReturnCode[] } {
  const top = Obj.of(src, src.root, 'the file');
  const reasonCodes = top.objects('reasonCodes', 'reason code').map((o) => {
    const r: ReasonCode = {
      where: o.where,
      value: o.num('value'),
      name: o.str('name'),
      const: o.str('const'),
      packets: o.strings('packets'),
      spec: o.str('spec'),
      description: o.str('description'),
    };
    for (const s of r.packets)
      if (!(PROPERTY_SETS as readonly string[]).includes(s)) o.fail(`unknown packet '${s}'`);
    if (r.value < 0 || r.value > 255) o.fail('a reason code is one byte', 'value');
    o.done();
    return r;
  });
  const returnCodes: ReturnCode[] = [];
  const rc = top.child('returnCodes', 'returnCodes');
  for (const packet of ['CONNACK', 'SUBACK'] as const) {
    for (const o of rc?.objects(packet, 'return code') ?? []) {
      returnCodes.push({
        where: o.where,
        packet,
        value: o.num('value'),
        name: o.str('name'),
        const: o.str('const'),
        versions: o.versions('versions', [3, 4]),
        spec: o.str('spec'),
        description: o.str('description', true),
      });
      o.done();
    }
  }
  rc?.done();
  top.done();
  return { reasonCodes, returnCodes };
}

function readBits(o: Obj, key: string, versions: Version[]): Bit[] {
  return o.objects(key, 'bit').map((b) => {
    const range = b.value('bits') as number[] | undefined;
    const bit = b.num('bit', true);
    if ((range === undefined) === (bit === undefined))
      b.fail("a bit entry has exactly one of 'bit' and 'bits'");
    const [hi, lo] = range ?? [bit!, bit!];
    if (hi === undefined || lo === undefined || hi < lo || hi > 7 || lo < 0)
      b.fail("'bits' is [high, low] within 7..0");
    const type = (b.str('type', true) ?? 'uint') as 'bool' | 'uint';
    const out: Bit = {
      where: b.where,
      hi,
      lo,
      name: b.str('name', true),
      type,
      presence: b.str('presence', true),
      reserved: b.num('reserved', true),
      max: b.num('max', true),
      code: b.str('code', true),
      reason: b.str('reason', true) as Bit['reason'],
      default: b.bool('default'),
      when: b.str('when', true),
      versions: b.versions('versions', versions),
      spec: b.str('spec'),
    };
    if (out.reason !== undefined && out.reason !== 'protocol' && out.reason !== 'malformed')
      b.fail("'reason' is protocol or malformed", 'reason');
    if ((out.code !== undefined || out.reason !== undefined) && out.max === undefined)
      b.fail("'code' and 'reason' describe the error of 'max'");
    if (out.default !== undefined && type !== 'bool') b.fail("'default' applies to a bool", 'default');
    const roles = [out.name, out.presence, out.reserved].filter((x) => x !== undefined).length;
    if (roles !== 1) b.fail("a bit entry has exactly one of 'name', 'presence' and 'reserved'");
    if (type === 'bool' && hi !== lo) b.fail('a bool is a single bit');
    b.done();
    return out;
  });
}

function readField(o: Obj, versions: Version[], bare: boolean): Field {
  const kind = o.str('kind') as FieldKind;
  if (!FIELD_KINDS.includes(kind)) o.fail(`unknown field kind '${kind}'`, 'kind');
  const name = bare ? '' : o.str('name');
  const fieldVersions = o.versions('versions', versions);
  const f: Field = {
    where: o.where,
    name,
    kind,
    versions: fieldVersions,
    when: o.str('when', true),
    trailing: o.bool('trailing') ?? false,
    default: o.num('default', true),
    section: (o.str('section', true) ?? 'variableHeader') as Field['section'],
    spec: bare ? (o.str('spec', true) ?? '') : o.str('spec'),
    topic: o.str('topic', true) as Field['topic'],
    allowEmpty: o.bool('allowEmpty') ?? false,
    set: o.str('set', true),
    minItems: o.num('minItems', true),
    itemType: o.str('itemType', true),
  };
  if (f.topic !== undefined && f.topic !== 'name' && f.topic !== 'filter')
    o.fail("'topic' is name or filter", 'topic');
  if (f.allowEmpty && f.topic !== 'name') o.fail("'allowEmpty' applies to a Topic Name", 'allowEmpty');
  if (f.section !== 'variableHeader' && f.section !== 'payload')
    o.fail("'section' is variableHeader or payload");
  if (kind === 'protocolName') {
    const values = o.value('values');
    if (typeof values !== 'object' || values === null) o.fail("protocolName needs 'values'", 'values');
    f.values = values as Field['values'];
  }
  if (kind === 'flags') f.bits = readBits(o, 'bits', fieldVersions);
  if (kind === 'properties') {
    if (!f.set || !(PROPERTY_SETS as readonly string[]).includes(f.set))
      o.fail(`unknown property set '${f.set}'`, 'set');
  }
  if (kind === 'list') {
    const item = o.node_('item');
    if (isSeq(item)) {
      f.item = o.objects('item', 'item field').map((i) => readField(i, fieldVersions, false));
    } else {
      f.item = readField(Obj.of(o['src' as never], item, 'item'), fieldVersions, true);
    }
  }
  o.done();
  return f;
}

function readPackets(src: Source): Packet[] {
  return topList(src, 'packets').map((o) => {
    const versions = o.versions('versions', [...ALL_VERSIONS]);
    const flagsObj = o.child('flags', 'flags');
    if (!flagsObj) throw new SchemaError(o.where, "a packet needs 'flags'");
    const flags = {
      reserved: flagsObj.num('reserved', true),
      v3: flagsObj.value('v3') as number[] | undefined,
      bits: flagsObj.has('bits') ? readBits(flagsObj, 'bits', versions) : undefined,
      spec: flagsObj.str('spec'),
    };
    if ((flags.reserved === undefined) === (flags.bits === undefined))
      flagsObj.fail("flags has 'reserved' or 'bits'");
    flagsObj.done();
    const specObj = o.value('spec') as Partial<Record<Version, string>>;
    const p: Packet = {
      where: o.where,
      name: o.str('name'),
      type: o.num('type'),
      cmd: o.str('cmd'),
      versions,
      direction: o.str('direction'),
      spec: specObj,
      description: o.str('description'),
      flags,
      fields: o.objects('fields', 'field').map((f) => readField(f, versions, false)),
      rules: o.objects('rules', 'rule').map((r) => {
        const rule: Rule = {
          where: r.where,
          check: r.str('check'),
          versions: r.versions('versions', versions),
          code: r.str('code'),
          message: r.str('message'),
          spec: r.str('spec'),
          reason: (r.str('reason', true) ?? 'protocol') as Rule['reason'],
        };
        r.done();
        return rule;
      }),
    };
    for (const v of versions) if (!specObj?.[v]) o.fail(`'spec' needs an entry for version ${v}`, 'spec');
    o.done();
    return p;
  });
}

function readExamples(src: Source): Example[] {
  return topList(src, 'examples').map((o) => {
    const packetNode = o.node_('packet');
    if (!isMap(packetNode)) throw new SchemaError(o.where, "'packet' must be a mapping");
    const e: Example = {
      where: o.where,
      name: o.str('name'),
      figure: o.str('figure', true),
      spec: o.str('spec'),
      protocolVersion: o.num('protocolVersion') as Version,
      packet: packetNode.toJSON() as Record<string, unknown>,
      hex: o.str('hex'),
      payloadHex: o.value('payloadHex') as Example['payloadHex'],
    };
    if (![3, 4, 5].includes(e.protocolVersion)) o.fail('protocolVersion is 3, 4 or 5');
    if (!/^[0-9a-fA-F\s]*$/.test(e.hex)) o.fail("'hex' holds hex digits and spaces only", 'hex');
    o.done();
    return e;
  });
}

function readTypes(src: Source): { types: DataType[]; topics: TopicRule[] } {
  const top = Obj.of(src, src.root, 'the file');
  const types = top.objects('types', 'type').map((o) => {
    const t: DataType = {
      where: o.where,
      name: o.str('name'),
      title: o.str('title'),
      spec: o.str('spec'),
      description: o.str('description'),
      min: o.num('min', true),
      max: o.num('max', true),
      maxBytes: o.num('maxBytes', true),
      rules: o.strings('rules', true),
    };
    o.done();
    return t;
  });
  const topics = top.objects('topics', 'topic rule').map((o) => {
    const t: TopicRule = { where: o.where, id: o.str('id'), rule: o.str('rule'), spec: o.str('spec') };
    o.done();
    return t;
  });
  top.done();
  return { types, topics };
}

export const SCHEMA_FILES = [
  'packets.yaml',
  'properties.yaml',
  'reason-codes.yaml',
  'types.yaml',
  'examples.yaml',
] as const;

export function loadModel(dir: string): Model {
  const [packets, properties, reasons, types, examples] = SCHEMA_FILES.map((f) => load(dir, f)) as [
    Source,
    Source,
    Source,
    Source,
    Source,
  ];
  const model: Model = {
    files: SCHEMA_FILES.map((f) => `schema/${f}`),
    packets: readPackets(packets),
    properties: readProperties(properties),
    ...readReasonCodes(reasons),
    ...readTypes(types),
    examples: readExamples(examples),
  };
  validate(model);
  return model;
}

function unique<T>(items: T[], key: (t: T) => string, what: string, where: (t: T) => Where): void {
  const seen = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const prior = seen.get(k);
    if (prior)
      throw new SchemaError(where(item), `duplicate ${what} '${k}' (first at line ${where(prior).line})`);
    seen.set(k, item);
  }
}

/** Cross-file checks: ids, names, references between files. */
function validate(m: Model): void {
  unique(
    m.packets,
    (p) => p.name,
    'packet',
    (p) => p.where,
  );
  unique(
    m.packets,
    (p) => String(p.type),
    'packet type',
    (p) => p.where,
  );
  unique(
    m.packets,
    (p) => p.cmd,
    'cmd',
    (p) => p.where,
  );
  unique(
    m.properties,
    (p) => String(p.id),
    'property id',
    (p) => p.where,
  );
  unique(
    m.properties,
    (p) => p.key,
    'property key',
    (p) => p.where,
  );
  unique(
    m.reasonCodes,
    (r) => r.const,
    'reason code const',
    (r) => r.where,
  );
  for (const set of new Set(m.reasonCodes.flatMap((r) => r.packets))) {
    unique(
      m.reasonCodes.filter((r) => r.packets.includes(set)),
      (r) => String(r.value),
      `reason code value in ${set}`,
      (r) => r.where,
    );
  }
  unique(
    m.returnCodes,
    (r) => `${r.packet}/${r.value}`,
    'return code',
    (r) => r.where,
  );
  unique(
    m.examples,
    (e) => e.name,
    'example name',
    (e) => e.where,
  );
  const keys = new Set(m.properties.map((p) => p.key));
  for (const p of m.properties) {
    if (p.requires && !keys.has(p.requires))
      throw new SchemaError(p.where, `requires unknown property '${p.requires}'`);
  }
  const cmds = new Set(m.packets.map((p) => p.cmd));
  for (const e of m.examples) {
    if (!cmds.has(String(e.packet.cmd)))
      throw new SchemaError(e.where, `unknown cmd '${String(e.packet.cmd)}'`);
  }
  for (const p of m.packets) {
    const presences = new Set<string>();
    const walk = (fields: Field[]) => {
      for (const f of fields) {
        for (const b of f.bits ?? []) if (b.presence) presences.add(b.presence);
        if (f.when && f.when !== 'qos>0' && !presences.has(f.when)) {
          throw new SchemaError(f.where, `'when: ${f.when}' names no presence flag declared before it`);
        }
        if (f.kind === 'properties' && !m.properties.some((q) => q.packets.includes(f.set!))) {
          throw new SchemaError(f.where, `no property allows set '${f.set}'`);
        }
        if (Array.isArray(f.item)) walk(f.item);
      }
    };
    walk(p.fields);
  }
}
