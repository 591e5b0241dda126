/**
 * Reason codes (MQTT 5) and return codes (MQTT 3.1 / 3.1.1), derived from
 * schema/reason-codes.yaml: every code round-trips in every packet that may carry it and is
 * refused, on both sides, in every packet that may not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decode,
  encode,
  type PacketInput,
  type ProtocolVersion,
  type ReasonCodePacket,
  reasonCodeName,
} from '../../generated/index.js';
import type { Packet as SchemaPacket } from '../../generator/model.js';
import { model, plain } from '../helpers/examples.js';
import { baseV5, rejects, throwsEncode } from './support.js';

const V5 = { protocolVersion: 5 } as const;
const m = model();

/** Where a v5 packet carries its reason code: a scalar `reasonCode` or a list such as `granted`. */
function reasonSlot(p: SchemaPacket): { key: string; list: boolean } | undefined {
  for (const f of p.fields) {
    if (!f.versions.includes(5)) continue;
    if (f.kind === 'reasonCode') return { key: f.name, list: false };
    if (f.kind === 'list' && !Array.isArray(f.item) && f.item?.kind === 'reasonCode')
      return { key: f.name, list: true };
  }
  return undefined;
}

const carriers = m.packets.filter((p) => p.versions.includes(5) && reasonSlot(p) !== undefined);

function withCode(p: SchemaPacket, code: number, props?: object): PacketInput {
  const slot = reasonSlot(p)!;
  const base = baseV5(p.name, props) as unknown as Record<string, unknown>;
  return { ...base, [slot.key]: slot.list ? [code] : code } as unknown as PacketInput;
}

function allowedIn(packet: string): number[] {
  return m.reasonCodes.filter((r) => r.packets.includes(packet)).map((r) => r.value);
}

/** Offset of the reason code byte in `p`'s encoding (with a property, so no short form). */
function reasonOffset(p: SchemaPacket): number {
  const [a, b] = allowedIn(p.name);
  const props = { userProperties: { k: 'v' } };
  const x = encode(withCode(p, a!, props), V5);
  const y = encode(withCode(p, b!, props), V5);
  assert.equal(x.length, y.length);
  const diff = [...x.keys()].filter((i) => x[i] !== y[i]);
  assert.equal(diff.length, 1, `${p.name}: one byte differs`);
  return diff[0]!;
}

describe('MQTT 5 reason codes', () => {
  test('every packet that a reason code names carries a reason code in MQTT 5', () => {
    const names = new Set(carriers.map((p) => p.name));
    for (const r of m.reasonCodes)
      for (const packet of r.packets) assert.ok(names.has(packet), `${r.name} in ${packet}`);
  });

  for (const r of m.reasonCodes) {
    const hex = `0x${r.value.toString(16).padStart(2, '0')}`;
    describe(`${hex} ${r.name} [${r.spec}]`, () => {
      for (const name of r.packets) {
        const p = carriers.find((x) => x.name === name)!;
        test(`round-trips in ${name}, with and without properties`, () => {
          for (const props of [undefined, { reasonString: 'why' }]) {
            if (props && !m.properties.find((q) => q.key === 'reasonString')!.packets.includes(name))
              continue;
            const pkt = withCode(p, r.value, props);
            assert.deepEqual(plain(decode(encode(pkt, V5), V5)), plain(pkt));
          }
        });

        test(`has its name in the generated table of ${name}`, () => {
          assert.equal(reasonCodeName(name as ReasonCodePacket, r.value), r.name);
        });
      }
    });
  }

  for (const p of carriers) {
    const allowed = new Set(allowedIn(p.name));
    const refused = Array.from({ length: 256 }, (_, i) => i).filter((v) => !allowed.has(v));

    test(`${p.name} refuses the ${refused.length} codes it may not carry when encoding`, () => {
      for (const v of refused) throwsEncode(() => encode(withCode(p, v), V5), 'MQTT_ERR_REASON_CODE');
    });

    test(`${p.name} refuses the ${refused.length} codes it may not carry when decoding`, () => {
      const at = reasonOffset(p);
      const good = encode(withCode(p, [...allowed][0]!, { userProperties: { k: 'v' } }), V5);
      for (const v of refused) {
        const bad = Uint8Array.from(good);
        bad[at] = v;
        rejects(bad, 5, 'MQTT_ERR_REASON_CODE', 0x81);
      }
    });
  }

  test('a reason code that is not an integer from 0 to 255 is refused when encoding', () => {
    for (const v of [-1, 256, 1.5, '0']) {
      throwsEncode(
        () => encode({ cmd: 'puback', messageId: 1, reasonCode: v } as unknown as PacketInput, V5),
        'MQTT_ERR_FIELD_VALUE',
      );
    }
  });
});

describe('MQTT 3.1 and 3.1.1 return codes', () => {
  for (const v of [3, 4] as ProtocolVersion[]) {
    const opts = { protocolVersion: v };
    test(`CONNACK return codes 0 to 5 round-trip at level ${v}`, () => {
      for (let rc = 0; rc <= 5; rc++) {
        const pkt = { cmd: 'connack', sessionPresent: false, returnCode: rc } as const;
        const bytes = encode(pkt, opts);
        assert.deepEqual([...bytes], [0x20, 2, 0, rc]);
        assert.deepEqual(decode(bytes, opts), pkt);
      }
    });

    test(`CONNACK return codes 6 to 255 are refused at level ${v}`, () => {
      for (let rc = 6; rc <= 255; rc++) {
        throwsEncode(
          () => encode({ cmd: 'connack', sessionPresent: false, returnCode: rc }, opts),
          'MQTT_ERR_RETURN_CODE',
        );
        rejects(Uint8Array.from([0x20, 2, 0, rc]), v, 'MQTT_ERR_RETURN_CODE', 0x81);
      }
    });

    const grants = v === 4 ? [0, 1, 2, 0x80] : [0, 1, 2];
    test(`SUBACK return codes ${grants.join(', ')} round-trip at level ${v}`, () => {
      const pkt = { cmd: 'suback', messageId: 7, granted: grants } as const;
      const bytes = encode(pkt, opts);
      assert.deepEqual([...bytes], [0x90, 2 + grants.length, 0, 7, ...grants]);
      assert.deepEqual(decode(bytes, opts), pkt);
    });

    test(`SUBACK refuses every other return code at level ${v}`, () => {
      for (let rc = 0; rc <= 255; rc++) {
        if (grants.includes(rc)) continue;
        throwsEncode(
          () => encode({ cmd: 'suback', messageId: 7, granted: [0, rc] }, opts),
          'MQTT_ERR_RETURN_CODE',
        );
        rejects(Uint8Array.from([0x90, 4, 0, 7, 0, rc]), v, 'MQTT_ERR_RETURN_CODE', 0x81);
      }
    });
  }

  test('SUBACK Failure (0x80) is valid in 3.1.1 and not in 3.1', () => {
    assert.deepEqual(decode(Uint8Array.from([0x90, 3, 0, 1, 0x80]), { protocolVersion: 4 }), {
      cmd: 'suback',
      messageId: 1,
      granted: [0x80],
    });
    rejects(Uint8Array.from([0x90, 3, 0, 1, 0x80]), 3, 'MQTT_ERR_RETURN_CODE', 0x81);
    throwsEncode(
      () => encode({ cmd: 'suback', messageId: 1, granted: [0x80] }, { protocolVersion: 3 }),
      'MQTT_ERR_RETURN_CODE',
    );
  });
});
