/** generated/reason-codes.ts: reason-code and return-code constants, names and the tables the codec checks. */
import type { Model, Version } from './model.js';
import { hex2, jsString } from './names.js';

export function allowedTableName(packet: string): string {
  return `REASONS_${packet}`;
}

export function returnTableName(packet: string, v: Version): string {
  return `RETURN_CODES_${packet}_V${v}`;
}

export function emitReasonCodes(m: Model): string {
  const out: string[] = [];
  out.push(`/** One entry per byte value: 1 where the value is allowed. */
function table(codes: readonly number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of codes) t[c] = 1;
  return t;
}
`);
  out.push('/** MQTT 5 reason codes (MQTT 5.0 §2.4, Table 2-6). Values below 0x80 mean success. */');
  out.push('export const ReasonCodes = {');
  for (const r of m.reasonCodes) {
    out.push(
      `  /** ${r.name} (${hex2(r.value)}): ${r.description} In ${r.packets.join(', ')}. ${r.spec}. */`,
    );
    out.push(`  ${r.const}: ${hex2(r.value)},`);
  }
  out.push('} as const;\n');

  const sets = [...new Set(m.reasonCodes.flatMap((r) => r.packets))];
  out.push(`/** Packets that carry an MQTT 5 reason code. */`);
  out.push(`export type ReasonCodePacket = ${sets.map((s) => jsString(s)).join(' | ')};\n`);
  out.push('/** The reason codes each packet may carry, by value, with their names. */');
  out.push(
    'export const reasonCodeNames: { readonly [P in ReasonCodePacket]: Readonly<Record<number, string>> } = {',
  );
  for (const s of sets) {
    const codes = m.reasonCodes.filter((r) => r.packets.includes(s));
    out.push(`  ${s}: { ${codes.map((r) => `${hex2(r.value)}: ${jsString(r.name)}`).join(', ')} },`);
  }
  out.push('};\n');
  out.push(`/** The name of \`code\` in \`packet\`, or undefined when that packet may not carry it. */
export function reasonCodeName(packet: ReasonCodePacket, code: number): string | undefined {
  return reasonCodeNames[packet][code];
}
`);
  for (const s of sets) {
    const codes = m.reasonCodes.filter((r) => r.packets.includes(s)).map((r) => hex2(r.value));
    out.push(`/** @internal Reason codes allowed in ${s}. */`);
    out.push(`export const ${allowedTableName(s)} = table([${codes.join(', ')}]);`);
  }
  out.push('');

  for (const packet of ['CONNACK', 'SUBACK'] as const) {
    const codes = m.returnCodes.filter((r) => r.packet === packet);
    const pascal = packet === 'CONNACK' ? 'Connack' : 'Suback';
    out.push(`/** MQTT 3.1 / 3.1.1 ${packet} return codes. */`);
    out.push(`export const ${pascal}ReturnCodes = {`);
    for (const r of codes) {
      out.push(
        `  /** ${r.name} (MQTT ${r.versions.map((v) => (v === 3 ? '3.1' : '3.1.1')).join(', ')}). ${r.spec}. */`,
      );
      out.push(`  ${r.const}: ${hex2(r.value)},`);
    }
    out.push('} as const;\n');
    out.push(`/** Names of the ${packet} return codes by value. */`);
    out.push(
      `export const ${pascal[0]!.toLowerCase()}${pascal.slice(1)}ReturnCodeNames: Readonly<Record<number, string>> = { ${codes
        .map((r) => `${hex2(r.value)}: ${jsString(r.name)}`)
        .join(', ')} };\n`,
    );
    for (const v of [3, 4] as const) {
      const allowed = codes.filter((r) => r.versions.includes(v)).map((r) => hex2(r.value));
      out.push(`/** @internal ${packet} return codes allowed at protocol level ${v}. */`);
      out.push(`export const ${returnTableName(packet, v)} = table([${allowed.join(', ')}]);`);
    }
    out.push('');
  }
  return out.join('\n');
}
