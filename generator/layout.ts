/**
 * Derived views of a packet's layout that both the type emitter and the codec emitters use:
 * which keys a packet object has, in which versions, and under which conditions.
 */
import type { Bit, Field, Packet, Version } from './model.js';

/** A value-carrying slot of the packet object: a field or a named bit. */
export interface Slot {
  /** Path in the packet object. */
  path: string;
  versions: Version[];
  when?: string;
  field?: Field;
  bit?: Bit;
}

/** Every named value of a packet, in wire order: header bits first. */
export function slots(p: Packet): Slot[] {
  const out: Slot[] = [];
  for (const b of p.flags.bits ?? [])
    if (b.name) out.push({ path: b.name, versions: b.versions, when: b.when, bit: b });
  for (const f of p.fields) out.push(...fieldSlots(f));
  return out;
}

export function fieldSlots(f: Field): Slot[] {
  if (f.kind === 'flags') {
    return (f.bits ?? [])
      .filter((b) => b.name)
      .map((b) => ({ path: b.name!, versions: b.versions, when: b.when, bit: b }));
  }
  return [{ path: f.name, versions: f.versions, when: f.when, field: f }];
}

/** Whether the decoded object may lack this slot. */
export function optionalInDecoded(s: Slot, p: Packet | Version[]): boolean {
  const all = Array.isArray(p) ? p : p.versions;
  if (s.versions.length !== all.length) return true;
  if (s.when !== undefined && !isNestedUnder(s)) return true;
  return s.field?.kind === 'properties';
}

/** will.qos is conditional on `will`, but inside the will object it is always there. */
function isNestedUnder(s: Slot): boolean {
  return s.path.includes('.') && s.when === s.path.split('.')[0];
}

/** Whether an encoder input may leave this slot out (it has a default). */
export function optionalInInput(s: Slot, p: Packet | Version[]): boolean {
  if (optionalInDecoded(s, p)) return true;
  if (s.bit) return s.bit.type === 'bool' || s.path === 'rh';
  const k = s.field!.kind;
  return s.field!.trailing || k === 'protocolName' || k === 'protocolLevel' || k === 'payload';
}

/** Groups slots by first path segment: top-level keys in order, nested ones under their parent. */
export function groups(list: Slot[]): { key: string; slots: Slot[] }[] {
  const out: { key: string; slots: Slot[] }[] = [];
  for (const s of list) {
    const key = s.path.split('.')[0]!;
    const g = out.find((x) => x.key === key);
    if (g) g.slots.push(s);
    else out.push({ key, slots: [s] });
  }
  return out;
}

/** The presence flags a packet declares (CONNECT: username, password, will). */
export function presences(p: Packet): string[] {
  return p.fields.flatMap((f) => (f.bits ?? []).filter((b) => b.presence).map((b) => b.presence!));
}
