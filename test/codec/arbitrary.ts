/**
 * Random valid packets for the property-based and differential tests, drawn from the schema
 * model: which packets exist in which version, which properties a packet allows, which
 * reason codes it may carry. Each generated object is in exactly the form `decode` returns
 * (docs/packet-shapes.md), so a round trip must give it back unchanged.
 */
import { encode, type Packet, type ProtocolVersion } from '../../generated/index.js';
import type { Property } from '../../generator/model.js';
import { model } from '../helpers/examples.js';
import { splitPacket } from './support.js';

/** mulberry32: a tiny, fast, seedable PRNG (public domain, Tommy Ettinger). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
  /** A small length, usually short, sometimes longer. */
  length(max: number): number {
    return this.bool(0.8) ? this.int(0, Math.min(max, 12)) : this.int(0, max);
  }
}

/**
 * The seed of a run: CODEC_SEED to replay one, otherwise a fresh one. Each test file prints it
 * so that a failure can be replayed.
 */
export function runSeed(): number {
  const env = process.env.CODEC_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** CODEC_ITERATIONS, or the CI default. `npm run fuzz` sets a much larger value. */
export function iterations(ciDefault: number): number {
  const env = Number(process.env.CODEC_ITERATIONS);
  return Number.isInteger(env) && env > 0 ? env : ciDefault;
}

// Code points by UTF-8 length, none of them U+0000 or a surrogate; U+FEFF included on purpose.
const ONE = 'abcxyzABCXYZ0189 -_.:/$%&!~\u0001\u001f\u007f';
const TWO = ['é', 'ü', 'ß', 'ñ', 'ø', 'Ω', 'ж', '\u0080', '\u07ff'];
const THREE = ['✓', '€', '中', '文', '\uFEFF', '\u0800', '\uFFFD', '\uD7FF', '\uE000', '\uFFFF'];
const FOUR = ['😀', '𝄞', '🀄', '\u{10000}', '\u{10FFFF}'];

export function text(rng: Rng, maxChars: number, exclude = ''): string {
  const n = rng.length(maxChars);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.float();
    let c: string;
    if (r < 0.6) c = ONE[rng.int(0, ONE.length - 1)]!;
    else if (r < 0.75) c = rng.pick(TWO);
    else if (r < 0.9) c = rng.pick(THREE);
    else c = rng.pick(FOUR);
    if (!exclude.includes(c)) s += c;
  }
  return s;
}

/** A Topic Name: at least one character, no wildcards [MQTT-4.7.3-1, MQTT-3.3.2-2]. */
export function topicName(rng: Rng): string {
  const s = text(rng, 20, '+#');
  return s.length > 0 ? s : rng.pick(['a', '/', 'é', '😀', 'a/b']);
}

/** A valid Topic Filter: levels, some of them `+`, perhaps a final `#`. */
export function topicFilter(rng: Rng): string {
  const levels: string[] = [];
  const n = rng.int(1, 4);
  for (let i = 0; i < n; i++) levels.push(rng.bool(0.2) ? '+' : text(rng, 6, '+#/'));
  if (rng.bool(0.2)) levels.push('#');
  const f = levels.join('/') || '#';
  // a Shared Subscription in MQTT 5, an ordinary filter before it
  return rng.bool(0.1) ? `$share/${text(rng, 5, '+#/') || 'g'}/${f}` : f;
}

const m = model();

/** The packets of the schema that exist at level `v`, as cmd names. */
export function cmdsAt(v: ProtocolVersion): string[] {
  return m.packets.filter((p) => p.versions.includes(v)).map((p) => p.cmd);
}

/** Reason codes `packet` may carry in MQTT 5. */
export function reasonCodesOf(packet: string): number[] {
  return m.reasonCodes.filter((r) => r.packets.includes(packet)).map((r) => r.value);
}

const TYPE_MAX = { bool: 1, byte: 255, u16: 65_535, u32: 4_294_967_295, vbi: 268_435_455 } as const;

function intValue(rng: Rng, p: Property): number {
  const lo = p.min ?? 0;
  const hi = p.max ?? TYPE_MAX[p.type as keyof typeof TYPE_MAX];
  const r = rng.float();
  if (r < 0.15) return lo;
  if (r < 0.3) return hi;
  if (r < 0.6) return Math.min(hi, lo + rng.int(0, 200));
  // the VBI length boundaries matter for Subscription Identifier
  if (r < 0.75) return Math.min(hi, Math.max(lo, rng.pick([127, 128, 16_383, 16_384, 2_097_151, 2_097_152])));
  return lo + Math.floor(rng.float() * (hi - lo + 1));
}

function userProperties(rng: Rng): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // names repeat on purpose; a few are keys an object literal would treat specially
  const names = Array.from({ length: rng.int(1, 3) }, () =>
    rng.bool(0.05) ? rng.pick(['__proto__', 'constructor', 'hasOwnProperty']) : text(rng, 6),
  );
  for (let i = rng.int(1, 5); i > 0; i--) {
    const name = rng.pick(names);
    const value = text(rng, 8);
    const prior = Object.hasOwn(out, name) ? out[name] : undefined;
    if (prior === undefined)
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else if (typeof prior === 'string') out[name] = [prior, value];
    else prior.push(value);
  }
  return out;
}

function propertyValue(rng: Rng, p: Property, set: string): unknown {
  switch (p.type) {
    case 'bool':
      return rng.bool();
    case 'byte':
    case 'u16':
    case 'u32':
      return intValue(rng, p);
    case 'vbi':
      // repeatable (PUBLISH Subscription Identifier): one value, or an array of two or more
      if (p.repeat.includes(set) && rng.bool(0.4))
        return Array.from({ length: rng.int(2, 4) }, () => intValue(rng, p));
      return intValue(rng, p);
    case 'string':
      return p.topicName ? topicName(rng) : text(rng, 16);
    case 'binary':
      return rng.bytes(rng.length(40));
    case 'pair':
      return userProperties(rng);
  }
}

/** Random properties allowed in `set`, or undefined (never an empty object). */
export function properties(rng: Rng, set: string, density = 0.35): Record<string, unknown> | undefined {
  if (rng.bool(0.3)) return undefined;
  const out: Record<string, unknown> = {};
  const allowed = m.properties.filter((p) => p.packets.includes(set));
  for (const p of allowed) if (rng.bool(density)) out[p.key] = propertyValue(rng, p, set);
  for (const p of allowed) {
    if (p.requires && out[p.key] !== undefined && out[p.requires] === undefined) {
      out[p.requires] = propertyValue(rng, m.properties.find((q) => q.key === p.requires)!, set);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function withProps<T extends object>(pkt: T, props: Record<string, unknown> | undefined): T {
  return props === undefined ? pkt : { ...pkt, properties: props };
}

function qos(rng: Rng): 0 | 1 | 2 {
  return rng.int(0, 2) as 0 | 1 | 2;
}

function messageId(rng: Rng): number {
  return rng.bool(0.2) ? rng.pick([1, 65_535]) : rng.int(1, 65_535);
}

function list<T>(rng: Rng, item: () => T, max = 5): T[] {
  return Array.from({ length: rng.int(1, max) }, item);
}

/** Payload lengths that put a packet's Remaining Length on a Variable Byte Integer boundary. */
const RL_TARGETS = [127, 128, 16_383, 16_384];

function publish(rng: Rng, v: ProtocolVersion): Packet {
  const q = qos(rng);
  let props = v === 5 ? properties(rng, 'PUBLISH') : undefined;
  let topic = topicName(rng);
  if (v === 5 && rng.bool(0.1)) {
    // an empty Topic Name is valid with a Topic Alias (MQTT 5.0 §3.3.2.3.4)
    topic = '';
    props = { ...props, topicAlias: rng.int(1, 65_535) };
  }
  const pkt: Record<string, unknown> = {
    cmd: 'publish',
    topic,
    payload: new Uint8Array(0),
    qos: q,
    dup: q > 0 && rng.bool(0.3),
    retain: rng.bool(0.3),
  };
  if (q > 0) pkt.messageId = messageId(rng);
  if (props) pkt.properties = props;
  const r = rng.float();
  if (r < 0.15) {
    const rest = splitPacket(encode(pkt as unknown as Packet, { protocolVersion: v })).body.length;
    pkt.payload = rng.bytes(Math.max(0, rng.pick(RL_TARGETS) - rest));
  } else {
    pkt.payload = rng.bytes(r < 0.9 ? rng.length(64) : rng.int(0, 5000));
  }
  return pkt as unknown as Packet;
}

function connect(rng: Rng, v: ProtocolVersion): Packet {
  const clientId = v === 3 ? text(rng, 10) || 'c' : text(rng, 12);
  const pkt: Record<string, unknown> = {
    cmd: 'connect',
    protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: v,
    // an empty Client Identifier requires Clean Session in 3.1.1 [MQTT-3.1.3-7]
    clean: clientId.length === 0 && v === 4 ? true : rng.bool(),
    keepalive: rng.bool(0.2) ? rng.pick([0, 65_535]) : rng.int(0, 65_535),
    clientId,
  };
  if (rng.bool(0.5)) {
    const will: Record<string, unknown> = {
      retain: rng.bool(),
      qos: qos(rng),
      topic: topicName(rng),
      payload: rng.bytes(rng.length(40)),
    };
    const wp = v === 5 ? properties(rng, 'WILL') : undefined;
    if (wp) will.properties = wp;
    pkt.will = will;
  }
  const props = v === 5 ? properties(rng, 'CONNECT') : undefined;
  if (props) pkt.properties = props;
  const hasUser = rng.bool(0.5);
  if (hasUser) pkt.username = text(rng, 10);
  // before MQTT 5 a password requires a user name [MQTT-3.1.2-22]
  if ((hasUser || v === 5) && rng.bool(0.5)) pkt.password = rng.bytes(rng.length(20));
  return pkt as unknown as Packet;
}

/** A random valid packet of `cmd` at level `v`, in the exact form `decode` returns. */
export function arbitraryPacket(rng: Rng, v: ProtocolVersion, cmd: string): Packet {
  const set = cmd.toUpperCase();
  switch (cmd) {
    case 'connect':
      return connect(rng, v);
    case 'connack':
      return (
        v === 5
          ? withProps(
              { cmd, sessionPresent: rng.bool(), reasonCode: rng.pick(reasonCodesOf(set)) },
              properties(rng, set),
            )
          : { cmd, sessionPresent: v === 4 && rng.bool(), returnCode: rng.int(0, 5) }
      ) as Packet;
    case 'publish':
      return publish(rng, v);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return (
        v === 5
          ? withProps(
              { cmd, messageId: messageId(rng), reasonCode: rng.pick(reasonCodesOf(set)) },
              properties(rng, set),
            )
          : { cmd, messageId: messageId(rng) }
      ) as Packet;
    case 'subscribe':
      return withProps(
        {
          cmd,
          messageId: messageId(rng),
          subscriptions: list(rng, () =>
            v === 5
              ? { topic: topicFilter(rng), qos: qos(rng), nl: rng.bool(), rap: rng.bool(), rh: qos(rng) }
              : { topic: topicFilter(rng), qos: qos(rng) },
          ),
        },
        v === 5 ? properties(rng, set) : undefined,
      ) as Packet;
    case 'suback': {
      const codes = v === 5 ? reasonCodesOf(set) : v === 4 ? [0, 1, 2, 0x80] : [0, 1, 2];
      return withProps(
        { cmd, messageId: messageId(rng), granted: list(rng, () => rng.pick(codes), 8) },
        v === 5 ? properties(rng, set) : undefined,
      ) as Packet;
    }
    case 'unsubscribe':
      return withProps(
        { cmd, messageId: messageId(rng), unsubscriptions: list(rng, () => topicFilter(rng)) },
        v === 5 ? properties(rng, set) : undefined,
      ) as Packet;
    case 'unsuback':
      return (
        v === 5
          ? withProps(
              { cmd, messageId: messageId(rng), granted: list(rng, () => rng.pick(reasonCodesOf(set)), 8) },
              properties(rng, set),
            )
          : { cmd, messageId: messageId(rng) }
      ) as Packet;
    case 'pingreq':
    case 'pingresp':
      return { cmd } as Packet;
    case 'disconnect':
    case 'auth':
      return (
        v === 5 ? withProps({ cmd, reasonCode: rng.pick(reasonCodesOf(set)) }, properties(rng, set)) : { cmd }
      ) as Packet;
    default:
      throw new Error(`no generator for ${cmd}`);
  }
}
