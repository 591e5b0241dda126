/**
 * Checks that the golden fixtures cover the schema: every packet in every version it exists
 * in, every property in some packet that allows it, every reason code in some packet that
 * may carry it. A gap is a generator error, so coverage cannot silently erode.
 */
import { type Model, SchemaError } from './model.js';

export function verifyCoverage(m: Model): void {
  const problems: string[] = [];
  for (const p of m.packets) {
    for (const v of p.versions) {
      if (!m.examples.some((e) => e.packet.cmd === p.cmd && e.protocolVersion === v)) {
        problems.push(`no example of ${p.name} at protocol level ${v}`);
      }
    }
  }
  const propsSeen = new Set<string>();
  const reasonsSeen = new Set<string>();
  for (const e of m.examples) {
    const collect = (props: unknown) => {
      if (props && typeof props === 'object') for (const k of Object.keys(props)) propsSeen.add(k);
    };
    collect(e.packet.properties);
    collect((e.packet.will as { properties?: unknown } | undefined)?.properties);
    if (e.protocolVersion === 5) {
      const name = m.packets.find((p) => p.cmd === e.packet.cmd)!.name;
      if (typeof e.packet.reasonCode === 'number') reasonsSeen.add(`${name}/${e.packet.reasonCode}`);
      for (const g of (e.packet.granted as number[] | undefined) ?? []) reasonsSeen.add(`${name}/${g}`);
    }
  }
  for (const p of m.properties)
    if (!propsSeen.has(p.key)) problems.push(`no example uses property ${p.name}`);
  for (const r of m.reasonCodes) {
    if (!r.packets.some((packet) => reasonsSeen.has(`${packet}/${r.value}`))) {
      problems.push(`no example uses reason code ${r.name} (0x${r.value.toString(16)})`);
    }
  }
  if (problems.length > 0) {
    throw new SchemaError(
      { file: 'schema/examples.yaml', line: 1 },
      `fixture coverage:\n  ${problems.join('\n  ')}`,
    );
  }
}
