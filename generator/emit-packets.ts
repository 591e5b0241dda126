/** generated/packets.ts: the packet types, as a union discriminated on `cmd`, decoded and input forms. */

import { propsType } from './emit-properties.js';
import { groups, optionalInDecoded, optionalInInput, type Slot, slots } from './layout.js';
import type { Field, Model, Packet, Version } from './model.js';
import { pascal, typeName } from './names.js';

export function packetType(p: Packet, input: boolean): string {
  return `${typeName(p.name)}Packet${input ? 'Input' : ''}`;
}

function uintType(max: number | undefined, path: string): string {
  if (path === 'qos' || path.endsWith('.qos')) return 'QoS';
  if (max !== undefined && max <= 3) return Array.from({ length: max + 1 }, (_, i) => i).join(' | ');
  return 'number';
}

function fieldType(f: Field, p: Packet, input: boolean): string {
  const bytes = input ? 'Uint8Array | string' : 'Uint8Array';
  switch (f.kind) {
    case 'protocolName':
      return [...new Set(Object.values(f.values ?? {}))].map((v) => JSON.stringify(v)).join(' | ');
    case 'protocolLevel':
      return 'ProtocolVersion';
    case 'string':
      return 'string';
    case 'binary':
    case 'payload':
      return bytes;
    case 'properties':
      return propsType(f.set!);
    case 'list': {
      if (Array.isArray(f.item))
        return `${f.itemType ?? `${typeName(p.name)}${pascal(f.name)}Item`}${input ? 'Input' : ''}[]`;
      return f.item!.kind === 'string' ? 'string[]' : 'number[]';
    }
    default:
      return 'number';
  }
}

function slotType(s: Slot, p: Packet, input: boolean): string {
  if (s.bit) return s.bit.type === 'bool' ? 'boolean' : uintType(s.bit.max, s.path);
  return fieldType(s.field!, p, input);
}

function doc(s: Slot): string {
  const spec = s.bit?.spec ?? s.field?.spec ?? '';
  const versions = s.versions.length < 3 ? ` Protocol level ${s.versions.join(', ')} only.` : '';
  const dflt = s.bit?.default !== undefined ? ` Default ${s.bit.default} when encoding.` : '';
  return `/** ${spec}.${versions}${dflt} */`;
}

function member(s: Slot, key: string, p: Packet, all: Version[], input: boolean): string {
  const opt = input ? optionalInInput(s, all) : optionalInDecoded(s, all);
  return `  ${doc(s)}\n  ${key}${opt ? '?' : ''}: ${slotType(s, p, input)};`;
}

export function emitPackets(m: Model): string {
  const out: string[] = [];
  const sets = [
    ...new Set(m.packets.flatMap((p) => p.fields.filter((f) => f.kind === 'properties').map((f) => f.set!))),
  ];
  out.push(`import type { ${sets.map(propsType).sort().join(', ')} } from './properties.js';\n`);
  out.push('/** MQTT protocol level: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */');
  out.push('export type ProtocolVersion = 3 | 4 | 5;\n');
  out.push('/** Quality of Service level. */');
  out.push('export type QoS = 0 | 1 | 2;\n');
  for (const input of [false, true]) {
    for (const p of m.packets) {
      const T = packetType(p, input);
      const all = p.versions;
      // Nested objects (CONNECT's will) get an interface of their own.
      for (const g of groups(slots(p)).filter((x) => x.slots[0]!.path.includes('.'))) {
        out.push(`/** The ${g.key} of ${p.name}. */`);
        out.push(`export interface ${typeName(p.name)}${pascal(g.key)}${input ? 'Input' : ''} {`);
        for (const s of g.slots) out.push(member(s, s.path.split('.')[1]!, p, all, input));
        out.push('}\n');
      }
      for (const f of p.fields.filter((x) => x.kind === 'list' && Array.isArray(x.item))) {
        const itemName = `${f.itemType ?? `${typeName(p.name)}${pascal(f.name)}Item`}${input ? 'Input' : ''}`;
        out.push(`/** One entry of ${p.name} ${f.name}. ${f.spec}. */`);
        out.push(`export interface ${itemName} {`);
        for (const item of f.item as Field[]) {
          for (const s of item.kind === 'flags'
            ? (item.bits ?? [])
                .filter((b) => b.name)
                .map((b) => ({ path: b.name!, versions: b.versions, bit: b }))
            : [{ path: item.name, versions: item.versions, field: item }]) {
            out.push(member(s, s.path, p, f.versions, input));
          }
        }
        out.push('}\n');
      }
      out.push(`/** ${p.name}: ${p.description} ${Object.values(p.spec).join('; ')}. */`);
      out.push(`export interface ${T} {`);
      out.push(`  cmd: '${p.cmd}';`);
      const seen = new Set<string>();
      for (const g of groups(slots(p))) {
        if (seen.has(g.key)) continue;
        seen.add(g.key);
        if (g.slots[0]!.path.includes('.')) {
          out.push(`  /** Present when the ${g.key} flag is set. */`);
          out.push(`  ${g.key}?: ${typeName(p.name)}${pascal(g.key)}${input ? 'Input' : ''};`);
          continue;
        }
        // A key with several slots (SUBACK granted in 3.x and 5) has one type across them.
        const s = g.slots[0]!;
        const versions = [...new Set(g.slots.flatMap((x) => x.versions))];
        out.push(member({ ...s, versions }, g.key, p, all, input));
      }
      out.push('}\n');
    }
  }
  const decoded = m.packets.map((p) => packetType(p, false));
  const inputs = m.packets.map((p) => packetType(p, true));
  out.push('/** Any decoded packet, discriminated on `cmd`. */');
  out.push(`export type Packet = ${decoded.join(' | ')};\n`);
  out.push('/** Any packet the encoder accepts. */');
  out.push(`export type PacketInput = ${inputs.join(' | ')};\n`);
  out.push('/** Packet names, as in `cmd`. */');
  out.push(`export type PacketCmd = Packet['cmd'];\n`);
  out.push('/** Packet type number (fixed header bits 7-4) by `cmd`. */');
  out.push(
    `export const packetTypes: Readonly<Record<PacketCmd, number>> = { ${m.packets.map((p) => `${p.cmd}: ${p.type}`).join(', ')} };\n`,
  );
  out.push('/** Packet names by type number. */');
  out.push(
    `export const packetNames: readonly (string | undefined)[] = [${Array.from({ length: 16 }, (_, i) => {
      const p = m.packets.find((x) => x.type === i);
      return p ? JSON.stringify(p.name) : 'undefined';
    }).join(', ')}];`,
  );
  return out.join('\n');
}
