/**
 * MQTT 5 properties, derived from schema/properties.yaml: each property round-trips in every
 * packet that allows it and is refused, on both sides, in every packet that does not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode, type PacketInput } from '../../generated/index.js';
import { PROPERTY_SETS, type Property } from '../../generator/model.js';
import { model, plain } from '../helpers/examples.js';
import {
  baseV5,
  indexOf,
  rejects,
  splitPacket,
  throwsDecode,
  throwsEncode,
  vbiBytes,
  wireProperty,
  withRawProperty,
} from './support.js';

const V5 = { protocolVersion: 5 } as const;
const properties = model().properties;
const byKey = new Map(properties.map((p) => [p.key, p]));

const TYPE_MAX = { bool: 1, byte: 255, u16: 65_535, u32: 4_294_967_295, vbi: 268_435_455 } as const;

function lower(p: Property): number {
  return p.min ?? 0;
}

function upper(p: Property): number {
  return p.max ?? TYPE_MAX[p.type as keyof typeof TYPE_MAX];
}

const bytes256 = Uint8Array.from({ length: 256 }, (_, i) => i);

/** Valid values of `p`, in the packet-object form: bounds plus a representative value. */
function validValues(p: Property): unknown[] {
  switch (p.type) {
    case 'bool':
      return [false, true];
    case 'byte':
      return [lower(p), upper(p)];
    case 'u16':
      return [lower(p), 300, upper(p)];
    case 'u32':
      return [lower(p), 70_000, upper(p)];
    case 'vbi':
      // the Variable Byte Integer length boundaries, within the property's range
      return [lower(p), 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, upper(p)].filter(
        (v, i, all) => v >= lower(p) && v <= upper(p) && all.indexOf(v) === i,
      );
    case 'string':
      // a Topic Name is at least one character [MQTT-4.7.3-1]; U+FEFF must survive [MQTT-1.5.4-3]
      return p.topicName ? ['r', 'a/b/ü/😀'] : ['', 'text/plain', 'é✓😀\uFEFF'];
    case 'binary':
      return [new Uint8Array(0), bytes256];
    case 'pair':
      return [{ a: '1' }, { a: ['1', '2'], é: '', '': 'empty name' }];
  }
}

/** Wire forms of a value (one per occurrence on the wire). */
function wireForms(p: Property, value: unknown): Uint8Array[] {
  if (p.type !== 'pair') return [wireProperty(p, value)];
  return Object.entries(value as Record<string, string | string[]>).flatMap(([name, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => wireProperty(p, [name, x])),
  );
}

/** The properties object for `p` = `value`, plus whatever `p` requires to be valid. */
function propsWith(p: Property, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.requires) out[p.requires] = validValues(byKey.get(p.requires)!)[1];
  out[p.key] = value;
  return out;
}

/** One valid wire form of `p`, for splicing. */
function someWire(p: Property): Uint8Array {
  return wireForms(p, validValues(p)[0])[0]!;
}

describe('property sets', () => {
  test('every property set in the schema has a base packet that round-trips', () => {
    for (const set of PROPERTY_SETS) {
      const pkt = baseV5(set);
      assert.deepEqual(plain(decode(encode(pkt, V5), V5)), plain(pkt), set);
    }
  });

  test('every packet field of kind properties names a known set', () => {
    for (const p of model().packets)
      for (const f of p.fields.filter((x) => x.kind === 'properties'))
        assert.ok((PROPERTY_SETS as readonly string[]).includes(f.set!), `${p.name}.${f.name}`);
  });
});

for (const p of properties) {
  const allowed = p.packets;
  const refused = PROPERTY_SETS.filter((s) => !allowed.includes(s));
  const hex = `0x${p.id.toString(16).padStart(2, '0')}`;

  describe(`${p.name} (${hex}, ${p.type}) [${p.spec}]`, () => {
    for (const set of allowed) {
      test(`round-trips in ${set} at its bounds and a representative value`, () => {
        for (const value of validValues(p)) {
          const pkt = baseV5(set, propsWith(p, value));
          const bytes = encode(pkt, V5);
          for (const w of wireForms(p, value))
            assert.ok(indexOf(bytes, w) > 0, `${set}: the wire form of ${String(value)} is in the packet`);
          assert.deepEqual(plain(decode(bytes, V5)), plain(pkt), `${set}: ${String(value)}`);
        }
      });
    }

    for (const set of refused) {
      test(`is refused in ${set} when encoding`, () => {
        const pkt = baseV5(set, { [p.key]: validValues(p)[0] });
        throwsEncode(() => encode(pkt as PacketInput, V5), 'MQTT_ERR_PROPERTY_NOT_ALLOWED');
      });

      test(`is refused in ${set} when decoding, as a Protocol Error`, () => {
        rejects(withRawProperty(set, someWire(p)), 5, 'MQTT_ERR_PROPERTY_NOT_ALLOWED', 0x82);
      });
    }

    for (const set of allowed) {
      const twice = (a: Uint8Array, b: Uint8Array) => {
        const extra = new Uint8Array(a.length + b.length);
        extra.set(a);
        extra.set(b, a.length);
        const needs = p.requires ? byKey.get(p.requires)! : undefined;
        return needs ? Uint8Array.from([...someWire(needs), ...extra]) : extra;
      };
      if (p.repeat.includes(set)) {
        test(`may repeat in ${set}`, () => {
          const values = validValues(p);
          const bytes = withRawProperty(set, twice(someWire(p), wireForms(p, values[values.length - 1])[0]!));
          const got = decode(bytes, V5) as {
            properties?: Record<string, unknown>;
            will?: { properties?: object };
          };
          const props = (set === 'WILL' ? got.will?.properties : got.properties) as Record<string, unknown>;
          if (p.type === 'pair') {
            assert.ok(props[p.key] !== undefined);
          } else {
            assert.deepEqual(props[p.key], [values[0], values[values.length - 1]]);
          }
        });
      } else {
        test(`is a Protocol Error when repeated in ${set}`, () => {
          rejects(
            withRawProperty(set, twice(someWire(p), someWire(p))),
            5,
            'MQTT_ERR_PROPERTY_REPEATED',
            0x82,
          );
        });
      }
    }

    test('names its own section in the errors of a bad value', () => {
      const set = allowed[0]!;
      const full = wireForms(p, validValues(p)[p.type === 'string' || p.type === 'binary' ? 1 : 0])[0]!;
      const cut = throwsDecode(
        () => decode(withRawProperty(set, full.subarray(0, full.length - 1)), V5),
        'MQTT_ERR_TRUNCATED',
        0x81,
      );
      assert.ok(cut.spec?.startsWith(p.spec), cut.spec);
      if (!p.repeat.includes(set)) {
        const twice = Uint8Array.from([
          ...(p.requires ? someWire(byKey.get(p.requires)!) : []),
          ...full,
          ...full,
        ]);
        const rep = throwsDecode(
          () => decode(withRawProperty(set, twice), V5),
          'MQTT_ERR_PROPERTY_REPEATED',
          0x82,
        );
        assert.equal(rep.spec, p.spec);
      }
      if (p.type === 'string' || p.type === 'pair') {
        const bad = Uint8Array.from([p.id, 0, 3, 0xed, 0xa0, 0x80, ...(p.type === 'pair' ? [0, 0] : [])]);
        const utf = throwsDecode(() => decode(withRawProperty(set, bad), V5), 'MQTT_ERR_STRING_UTF8', 0x81);
        assert.ok(utf.spec?.startsWith(p.spec) && utf.spec.endsWith('[MQTT-1.5.4-1]'), utf.spec);
      }
    });

    if (p.type !== 'pair' && p.type !== 'string' && p.type !== 'binary' && p.type !== 'bool') {
      const set = allowed[0]!;
      const below = lower(p) - 1;
      const above = upper(p) + 1;
      test(`refuses values outside ${lower(p)}..${upper(p)} when encoding`, () => {
        for (const bad of [below, above, 1.5, '1']) {
          throwsEncode(() => encode(baseV5(set, propsWith(p, bad)), V5), 'MQTT_ERR_FIELD_VALUE');
        }
      });
      if (below >= 0) {
        test(`refuses ${below}, below its minimum, when decoding`, () => {
          rejects(withRawProperty(set, wireProperty(p, below)), 5, 'MQTT_ERR_PROPERTY_VALUE', 0x82);
        });
      }
      if (above <= TYPE_MAX[p.type as keyof typeof TYPE_MAX]) {
        test(`refuses ${above}, above its maximum, when decoding`, () => {
          rejects(withRawProperty(set, wireProperty(p, above)), 5, 'MQTT_ERR_PROPERTY_VALUE', 0x82);
        });
      }
    }

    if (p.type === 'bool') {
      const set = allowed[0]!;
      test('refuses a byte other than 0 or 1 when decoding', () => {
        for (const b of [2, 0x80, 0xff])
          rejects(withRawProperty(set, wireProperty(p, b)), 5, 'MQTT_ERR_BAD_BOOLEAN', 0x82);
      });
      test('refuses a non-boolean when encoding', () => {
        throwsEncode(() => encode(baseV5(set, { [p.key]: 1 }), V5), 'MQTT_ERR_FIELD_VALUE');
      });
    }

    if (p.type === 'vbi') {
      const set = allowed[0]!;
      test('refuses a value that is not minimally encoded when decoding', () => {
        rejects(withRawProperty(set, Uint8Array.from([p.id, 0x81, 0x00])), 5, 'MQTT_ERR_MALFORMED_VBI', 0x81);
      });
    }

    if (p.topicName) {
      const set = allowed[0]!;
      test('refuses wildcards and the empty string, as a Topic Name', () => {
        for (const bad of ['a/+', '#', '']) {
          throwsEncode(() => encode(baseV5(set, { [p.key]: bad }), V5), 'MQTT_ERR_TOPIC_NAME_INVALID');
          rejects(withRawProperty(set, wireProperty(p, bad)), 5, 'MQTT_ERR_TOPIC_NAME_INVALID', 0x82);
        }
      });
    }

    if (p.requires) {
      const needs = byKey.get(p.requires)!;
      for (const set of allowed) {
        test(`is a Protocol Error without ${needs.name} in ${set}`, () => {
          throwsEncode(
            () => encode(baseV5(set, { [p.key]: validValues(p)[1] }), V5),
            'MQTT_ERR_PROPERTY_REQUIRES',
          );
          rejects(withRawProperty(set, someWire(p)), 5, 'MQTT_ERR_PROPERTY_REQUIRES', 0x82);
        });
      }
    }
  });
}

describe('property block framing', () => {
  test('refuses a Property Length that runs past the packet', () => {
    const bytes = encode(baseV5('PUBACK', { reasonString: 'x' }), V5);
    const cut = Uint8Array.from(bytes);
    cut[5] = 0x7f; // the Property Length
    rejects(cut, 5, 'MQTT_ERR_TRUNCATED', 0x81);
  });

  test('refuses a property value that runs past the Property Length', () => {
    // PUBACK, id 1, reason 0, properties (3): Reason String whose length says 5
    rejects(Uint8Array.from([0x40, 0x08, 0, 1, 0, 3, 0x1f, 0, 5, 0x61]), 5, 'MQTT_ERR_TRUNCATED', 0x81);
  });

  test('refuses an unknown property identifier as a Malformed Packet', () => {
    for (const id of [0x00, 0x04, 0x2b, 0x7f]) {
      rejects(withRawProperty('PUBLISH', Uint8Array.from([id, 0])), 5, 'MQTT_ERR_PROPERTY_UNKNOWN', 0x81);
    }
  });

  test('refuses a two-byte property identifier', () => {
    // 0x80 0x01 is identifier 128, which no property has
    rejects(
      withRawProperty('PUBLISH', Uint8Array.from([0x80, 0x01, 0])),
      5,
      'MQTT_ERR_PROPERTY_UNKNOWN',
      0x81,
    );
  });

  test('keeps user property order and repeated names', () => {
    const pkt = baseV5('PUBLISH', { userProperties: { b: ['1', '3'], a: '2' } });
    const bytes = encode(pkt, V5);
    assert.deepEqual(plain(decode(bytes, V5)), plain(pkt));
    const up = byKey.get('userProperties')!;
    const first = indexOf(bytes, wireProperty(up, ['b', '1']));
    const second = indexOf(bytes, wireProperty(up, ['b', '3']));
    const third = indexOf(bytes, wireProperty(up, ['a', '2']));
    assert.ok(first < second && second < third);
  });

  test('writes a two-byte Property Length for a 128-byte block', () => {
    // Reason String of 125 bytes: 1 + 2 + 125 = 128
    const { body } = splitPacket(encode(baseV5('PUBACK', { reasonString: 'r'.repeat(125) }), V5));
    assert.deepEqual([...body.subarray(3, 5)], vbiBytes(128));
  });
});
