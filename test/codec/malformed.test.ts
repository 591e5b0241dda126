/**
 * The bad-input catalogue of issue 2: every condition the codec must refuse, with the code
 * and the MQTT 5 reason code it refuses it with, on the decoding and the encoding side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, type PacketInput, type ProtocolVersion } from '../../generated/index.js';
import { concat, goldens, hexToBytes, model, plain } from '../helpers/examples.js';
import {
  baseV5,
  packet,
  rejects,
  splitPacket,
  throwsDecode,
  throwsEncode,
  withRawProperty,
} from './support.js';

const VERSIONS: ProtocolVersion[] = [3, 4, 5];
const utf8 = new TextEncoder();
const bytes = (hex: string) => hexToBytes(hex);
const str = (s: string | Uint8Array) => {
  const b = typeof s === 'string' ? utf8.encode(s) : s;
  return [b.length >> 8, b.length & 0xff, ...b];
};
/** A QoS 0 PUBLISH whose topic is the raw bytes `topic`. */
const publishRaw = (topic: Uint8Array | string, v: ProtocolVersion = 4) =>
  packet(0x30, [...str(topic), ...(v === 5 ? [0] : []), 0x78]);

/** The first golden fixture of each packet type at each protocol level. */
function onePerType(): { name: string; v: ProtocolVersion; type: number; bytes: Uint8Array }[] {
  const seen = new Set<string>();
  const out = [];
  for (const g of goldens()) {
    const type = g.bytes[0]! >> 4;
    const key = `${type}/${g.protocolVersion}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: g.name, v: g.protocolVersion, type, bytes: g.bytes });
  }
  return out;
}

describe('fixed header', () => {
  test('refuses a Remaining Length longer than four bytes', () => {
    for (const v of VERSIONS) {
      rejects(bytes('30 ff ff ff ff 01'), v, 'MQTT_ERR_MALFORMED_VBI', 0x81);
      rejects(bytes('c0 80 80 80 80 00'), v, 'MQTT_ERR_MALFORMED_VBI', 0x81);
    }
  });

  test('refuses a Remaining Length that is not minimally encoded [MQTT-1.5.5-1]', () => {
    for (const hex of ['30 80 00', 'c0 80 00', '30 ff 80 00', '30 80 80 80 00']) {
      rejects(bytes(hex), 4, 'MQTT_ERR_MALFORMED_VBI', 0x81);
    }
  });

  test('refuses packet type 0', () => {
    for (const v of VERSIONS) {
      rejects(bytes('00 00'), v, 'MQTT_ERR_PACKET_TYPE', 0x81);
      rejects(bytes('0f 02 00 01'), v, 'MQTT_ERR_PACKET_TYPE', 0x81);
    }
  });

  test('refuses AUTH before MQTT 5', () => {
    for (const v of [3, 4] as ProtocolVersion[]) {
      rejects(bytes('f0 00'), v, 'MQTT_ERR_PACKET_TYPE', 0x81);
      rejects(bytes('f0 02 18 00'), v, 'MQTT_ERR_PACKET_TYPE', 0x81);
      throwsEncode(
        () => encode({ cmd: 'auth', reasonCode: 0 }, { protocolVersion: v }),
        'MQTT_ERR_PACKET_TYPE',
      );
    }
  });

  for (const g of onePerType().filter((x) => x.type !== 3)) {
    const allowed = [6, 8, 10].includes(g.type) ? [0b0010, ...(g.v === 3 ? [0b1010] : [])] : [0b0000];
    test(`refuses reserved flag bits in ${g.name} (level ${g.v})`, () => {
      for (let nibble = 0; nibble < 16; nibble++) {
        const b = Uint8Array.from(g.bytes);
        b[0] = (g.type << 4) | nibble;
        if (allowed.includes(nibble)) decode(b, { protocolVersion: g.v });
        else rejects(b, g.v, 'MQTT_ERR_RESERVED_FLAGS', 0x81);
      }
    });
  }

  test('accepts PUBREL, SUBSCRIBE and UNSUBSCRIBE with DUP set in MQTT 3.1 only', () => {
    for (const g of onePerType().filter((x) => [6, 8, 10].includes(x.type))) {
      const b = Uint8Array.from(g.bytes);
      b[0] = (g.type << 4) | 0b1010;
      if (g.v === 3)
        assert.deepEqual(
          plain(decode(b, { protocolVersion: 3 })),
          plain(decode(g.bytes, { protocolVersion: 3 })),
        );
      else rejects(b, g.v, 'MQTT_ERR_RESERVED_FLAGS', 0x81);
    }
  });
});

describe('Maximum Packet Size', () => {
  test('refuses a Remaining Length over the limit from the fixed header alone', () => {
    const d = new Decoder({ protocolVersion: 4, maximumPacketSize: 100 });
    // 30 65: Remaining Length 101, so 103 bytes in all
    throwsDecode(() => d.push(bytes('30 65')), 'MQTT_ERR_PACKET_TOO_LARGE', 0x95);
    assert.ok(d.buffered <= 5);
  });

  test('refuses an oversize packet whose header arrives one byte at a time, before any body', () => {
    const d = new Decoder({ protocolVersion: 5, maximumPacketSize: 1000 });
    assert.deepEqual(d.push(bytes('30')), []);
    assert.deepEqual(d.push(bytes('ff')), []);
    assert.deepEqual(d.push(bytes('ff')), []);
    assert.equal(d.buffered, 3);
    throwsDecode(() => d.push(bytes('7f')), 'MQTT_ERR_PACKET_TOO_LARGE', 0x95);
    assert.ok(d.buffered <= 5);
  });

  test('accepts a packet exactly at the limit and refuses one byte more', () => {
    const pkt = {
      cmd: 'publish',
      topic: 'a',
      payload: new Uint8Array(10),
      qos: 0,
      dup: false,
      retain: false,
    } as const;
    const b = encode(pkt, { protocolVersion: 4 });
    const max = b.length;
    assert.equal(new Decoder({ maximumPacketSize: max }).push(b).length, 1);
    assert.equal(decode(b, { maximumPacketSize: max }).cmd, 'publish');
    throwsDecode(
      () => new Decoder({ maximumPacketSize: max - 1 }).push(b),
      'MQTT_ERR_PACKET_TOO_LARGE',
      0x95,
    );
    throwsDecode(() => decode(b, { maximumPacketSize: max - 1 }), 'MQTT_ERR_PACKET_TOO_LARGE', 0x95);
    encode(pkt, { maximumPacketSize: max });
    throwsEncode(() => encode(pkt, { maximumPacketSize: max - 1 }), 'MQTT_ERR_PACKET_TOO_LARGE', 0x95);
  });
});

describe('truncated fields', () => {
  // Cut each fixture's body short and fix the Remaining Length. A cut at a field boundary can
  // leave a valid shorter packet (a PUBLISH payload, a list, an MQTT 5 short form); a cut
  // inside a field must be a Malformed Packet.
  const perType = new Map<string, boolean>();
  for (const g of goldens()) {
    const { first, body } = splitPacket(g.bytes);
    const key = `${g.bytes[0]! >> 4}/${g.protocolVersion}`;
    if (body.length === 0) continue;
    if (!perType.has(key)) perType.set(key, false);
    test(`${g.name}: every shorter body decodes or is refused with a typed error`, () => {
      const step = body.length > 600 ? 97 : 1;
      for (let cut = 0; cut < body.length; cut += step) {
        const b = packet(first, body.subarray(0, cut));
        try {
          decode(b, { protocolVersion: g.protocolVersion });
        } catch (err) {
          const e = throwsDecode(
            () => {
              throw err;
            },
            (err as { code: string }).code,
            (err as { reasonCode: number }).reasonCode,
          );
          if (e.code === 'MQTT_ERR_TRUNCATED') {
            assert.equal(e.reasonCode, 0x81);
            perType.set(key, true);
          }
        }
      }
    });
  }

  test('every packet type with a body has a cut that is refused as truncated', () => {
    const missing = [...perType].filter(([, hit]) => !hit).map(([k]) => k);
    assert.deepEqual(missing, []);
  });

  test('refuses a field cut in the middle, in every packet type', () => {
    const cases: [string, ProtocolVersion, string][] = [
      ['CONNECT client id', 4, '10 0d 00 04 4d 51 54 54 04 02 00 3c 00 05 61'],
      ['CONNECT protocol name', 4, '10 03 00 04 4d'],
      ['CONNACK return code', 4, '20 01 00'],
      ['CONNACK properties', 5, '20 03 00 00 05'],
      ['PUBLISH topic', 4, '30 03 00 05 61'],
      ['PUBLISH packet id', 4, '32 06 00 03 61 2f 62 00'],
      ['PUBACK packet id', 4, '40 01 00'],
      ['PUBREC packet id', 4, '50 01 00'],
      ['PUBREL packet id', 4, '62 01 00'],
      ['PUBCOMP packet id', 4, '70 01 00'],
      ['PUBACK properties', 5, '40 04 00 01 10 05'],
      ['SUBSCRIBE options', 4, '82 05 00 01 00 01 61'],
      ['SUBSCRIBE topic', 5, '82 06 00 01 00 00 05 61'],
      ['SUBACK packet id', 4, '90 01 00'],
      ['UNSUBSCRIBE topic', 4, 'a2 05 00 01 00 05 61'],
      ['UNSUBACK packet id', 4, 'b0 01 00'],
      ['UNSUBACK properties', 5, 'b0 04 00 01 03 1f'],
      ['DISCONNECT properties', 5, 'e0 02 00 05'],
      ['AUTH properties', 5, 'f0 03 18 02 15'],
    ];
    for (const [what, v, hex] of cases) {
      assert.doesNotThrow(() => rejects(bytes(hex), v, 'MQTT_ERR_TRUNCATED', 0x81), what);
    }
  });

  test('refuses bytes after the last field of a fixed-size packet', () => {
    rejects(bytes('40 03 00 01 00'), 4, 'MQTT_ERR_TRAILING_BYTES', 0x81);
    rejects(bytes('c0 01 00'), 4, 'MQTT_ERR_TRAILING_BYTES', 0x81);
    rejects(bytes('20 03 00 00 00'), 4, 'MQTT_ERR_TRAILING_BYTES', 0x81);
    rejects(bytes('e0 01 00'), 4, 'MQTT_ERR_TRAILING_BYTES', 0x81);
  });
});

describe('UTF-8 Encoded Strings', () => {
  const bad: [string, string][] = [
    ['a lone continuation byte', '80'],
    ['an invalid byte', 'ff'],
    ['a truncated sequence', '61 c3'],
    ['an overlong encoding of "/"', 'c0 af'],
    ['an overlong encoding of U+0000', 'c0 80'],
    ['an encoded high surrogate U+D800', 'ed a0 80'],
    ['an encoded low surrogate U+DFFF', 'ed bf bf'],
    ['a surrogate pair encoded as two sequences', 'ed a0 bd ed b8 80'],
    ['a code point above U+10FFFF', 'f4 90 80 80'],
  ];
  for (const [what, hex] of bad) {
    test(`refuses ${what} in a short and in a long string [MQTT-1.5.4-1]`, () => {
      for (const v of VERSIONS) {
        rejects(publishRaw(bytes(hex), v), v, 'MQTT_ERR_STRING_UTF8', 0x81);
        rejects(
          publishRaw(concat(utf8.encode('x'.repeat(60)), bytes(hex)), v),
          v,
          'MQTT_ERR_STRING_UTF8',
          0x81,
        );
      }
    });
  }

  test('refuses U+0000 in a string [MQTT-1.5.4-2]', () => {
    for (const v of VERSIONS) {
      rejects(publishRaw(bytes('61 00 62'), v), v, 'MQTT_ERR_STRING_NULL', 0x81);
      rejects(
        publishRaw(concat(utf8.encode('é'.repeat(40)), bytes('00')), v),
        v,
        'MQTT_ERR_STRING_NULL',
        0x81,
      );
    }
    // in a client identifier, a user property name and a user property value
    rejects(packet(0x10, [...str('MQTT'), 4, 2, 0, 0, ...str(bytes('00'))]), 4, 'MQTT_ERR_STRING_NULL', 0x81);
    rejects(
      withRawProperty('PUBLISH', Uint8Array.from([0x26, ...str(bytes('00')), ...str('v')])),
      5,
      'MQTT_ERR_STRING_NULL',
      0x81,
    );
    rejects(
      withRawProperty('PUBLISH', Uint8Array.from([0x26, ...str('n'), ...str(bytes('61 00'))])),
      5,
      'MQTT_ERR_STRING_NULL',
      0x81,
    );
  });

  test('refuses invalid UTF-8 in a property string', () => {
    rejects(
      withRawProperty('PUBLISH', Uint8Array.from([0x03, ...str(bytes('ed a0 80'))])),
      5,
      'MQTT_ERR_STRING_UTF8',
      0x81,
    );
  });

  test('keeps U+FEFF wherever it occurs and never strips it [MQTT-1.5.4-3]', () => {
    for (const topic of ['\uFEFFa', 'a\uFEFF', '\uFEFF']) {
      const pkt = {
        cmd: 'publish',
        topic,
        payload: utf8.encode('x'),
        qos: 0,
        dup: false,
        retain: false,
      } as const;
      const b = encode(pkt, { protocolVersion: 4 });
      assert.deepEqual(plain(decode(b, { protocolVersion: 4 })), plain(pkt));
      assert.deepEqual(plain(new Decoder().push(b)[0]), plain(pkt));
    }
    const decoded = decode(publishRaw(bytes('ef bb bf 61')), { protocolVersion: 4 });
    assert.equal(decoded.cmd === 'publish' && decoded.topic, '\uFEFFa');
  });

  test('refuses lone surrogates when encoding [MQTT-1.5.4-1]', () => {
    for (const s of ['\uD800', 'a\uDBFFb', '\uDC00', 'x\uDFFF', '\uDC00\uD800']) {
      throwsEncode(
        () => encode({ cmd: 'publish', topic: s, payload: '', qos: 0 }, { protocolVersion: 4 }),
        'MQTT_ERR_STRING_SURROGATE',
      );
      throwsEncode(
        () => encode({ cmd: 'connect', keepalive: 0, clientId: s }, { protocolVersion: 4 }),
        'MQTT_ERR_STRING_SURROGATE',
      );
      throwsEncode(
        () => encode(baseV5('PUBACK', { reasonString: s }), { protocolVersion: 5 }),
        'MQTT_ERR_STRING_SURROGATE',
      );
      throwsEncode(
        () => encode(baseV5('PUBACK', { userProperties: { [s]: 'v' } }), { protocolVersion: 5 }),
        'MQTT_ERR_STRING_SURROGATE',
      );
      throwsEncode(
        () => encode(baseV5('PUBACK', { userProperties: { n: [s] } }), { protocolVersion: 5 }),
        'MQTT_ERR_STRING_SURROGATE',
      );
    }
  });

  test('refuses U+0000 when encoding [MQTT-1.5.4-2]', () => {
    throwsEncode(
      () => encode({ cmd: 'publish', topic: 'a\u0000', payload: '', qos: 0 }),
      'MQTT_ERR_STRING_NULL',
    );
    throwsEncode(
      () => encode({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['\u0000'] }),
      'MQTT_ERR_STRING_NULL',
    );
  });

  test('refuses strings over 65,535 bytes when encoding, counting UTF-8 bytes', () => {
    const ok = (topic: string) => encode({ cmd: 'publish', topic, payload: '', qos: 0 });
    ok('a'.repeat(65_535));
    ok(`${'é'.repeat(32_767)}a`);
    for (const topic of ['a'.repeat(65_536), 'é'.repeat(32_768), '😀'.repeat(16_384)]) {
      throwsEncode(() => ok(topic), 'MQTT_ERR_STRING_TOO_LONG');
    }
    throwsEncode(
      () => encode(baseV5('PUBACK', { reasonString: 'r'.repeat(65_536) }), { protocolVersion: 5 }),
      'MQTT_ERR_STRING_TOO_LONG',
    );
  });

  test('refuses binary data over 65,535 bytes when encoding', () => {
    const big = new Uint8Array(65_536);
    throwsEncode(
      () => encode({ cmd: 'connect', keepalive: 0, clientId: 'c', username: 'u', password: big }),
      'MQTT_ERR_BINARY_TOO_LONG',
    );
    throwsEncode(
      () =>
        encode({
          cmd: 'connect',
          keepalive: 0,
          clientId: 'c',
          will: { topic: 't', payload: big, qos: 0, retain: false },
        }),
      'MQTT_ERR_BINARY_TOO_LONG',
    );
    throwsEncode(
      () => encode(baseV5('PUBLISH', { correlationData: big }), { protocolVersion: 5 }),
      'MQTT_ERR_BINARY_TOO_LONG',
    );
  });
});

describe('PUBLISH', () => {
  test('refuses QoS 3 [MQTT-3.3.1-4]', () => {
    for (const v of VERSIONS)
      for (const first of [0x36, 0x37, 0x3e, 0x3f])
        rejects(packet(first, [0, 1, 0x61, 0, 1, ...(v === 5 ? [0] : [])]), v, 'MQTT_ERR_BAD_QOS', 0x81);
    throwsEncode(
      () => encode({ cmd: 'publish', topic: 'a', payload: '', qos: 3 as 0, messageId: 1 }),
      'MQTT_ERR_FIELD_VALUE',
    );
  });

  test('refuses DUP in a QoS 0 PUBLISH [MQTT-3.3.1-2]', () => {
    for (const v of VERSIONS)
      rejects(packet(0x38, [0, 1, 0x61, ...(v === 5 ? [0] : [])]), v, 'MQTT_ERR_DUP_QOS0', 0x82);
    throwsEncode(
      () => encode({ cmd: 'publish', topic: 'a', payload: '', qos: 0, dup: true }),
      'MQTT_ERR_DUP_QOS0',
    );
  });

  test('refuses wildcards in the Topic Name [MQTT-3.3.2-2]', () => {
    for (const v of VERSIONS) {
      for (const topic of ['a/+', '+', '#', 'a/#', 'a+b', 'a#b']) {
        rejects(publishRaw(topic, v), v, 'MQTT_ERR_TOPIC_NAME_INVALID', 0x90);
        throwsEncode(
          () => encode({ cmd: 'publish', topic, payload: '', qos: 0 }, { protocolVersion: v }),
          'MQTT_ERR_TOPIC_NAME_INVALID',
          0x90,
        );
      }
    }
  });

  test('refuses an empty Topic Name, except with a Topic Alias in MQTT 5', () => {
    for (const v of [3, 4] as ProtocolVersion[]) rejects(publishRaw('', v), v, 'MQTT_ERR_EMPTY_TOPIC', 0x82);
    rejects(publishRaw('', 5), 5, 'MQTT_ERR_EMPTY_TOPIC', 0x82);
    const aliased = {
      cmd: 'publish',
      topic: '',
      payload: utf8.encode('x'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 3 },
    } as const;
    assert.deepEqual(
      plain(decode(encode(aliased, { protocolVersion: 5 }), { protocolVersion: 5 })),
      plain(aliased),
    );
    throwsEncode(
      () => encode({ cmd: 'publish', topic: '', payload: '', qos: 0 }, { protocolVersion: 5 }),
      'MQTT_ERR_EMPTY_TOPIC',
    );
  });
});

describe('packet identifiers', () => {
  test('refuses Packet Identifier 0 in every packet that has one [MQTT-2.2.1-3]', () => {
    const cases: [string, number[], ProtocolVersion[]][] = [
      ['PUBLISH QoS 1', [0x32, 5, 0, 1, 0x61, 0, 0], [3, 4]],
      ['PUBLISH QoS 2', [0x34, 6, 0, 1, 0x61, 0, 0, 0], [5]],
      ['PUBACK', [0x40, 2, 0, 0], [3, 4, 5]],
      ['PUBREC', [0x50, 2, 0, 0], [3, 4, 5]],
      ['PUBREL', [0x62, 2, 0, 0], [3, 4, 5]],
      ['PUBCOMP', [0x70, 2, 0, 0], [3, 4, 5]],
      ['SUBSCRIBE', [0x82, 6, 0, 0, 0, 1, 0x61, 0], [3, 4]],
      ['SUBACK', [0x90, 3, 0, 0, 0], [3, 4]],
      ['UNSUBSCRIBE', [0xa2, 5, 0, 0, 0, 1, 0x61], [3, 4]],
      ['UNSUBACK', [0xb0, 2, 0, 0], [3, 4]],
    ];
    for (const [what, b, versions] of cases)
      for (const v of versions)
        assert.doesNotThrow(
          () => rejects(Uint8Array.from(b), v, 'MQTT_ERR_PACKET_ID_ZERO', 0x82),
          `${what} v${v}`,
        );
  });

  test('refuses a messageId of 0, 70000, a fraction or none when encoding', () => {
    for (const messageId of [0, 70_000, 65_536, 1.5, -1, undefined, '1']) {
      for (const pkt of [
        { cmd: 'publish', topic: 'a', payload: '', qos: 1, messageId },
        { cmd: 'puback', messageId },
        { cmd: 'pubrel', messageId },
        { cmd: 'subscribe', messageId, subscriptions: [{ topic: 'a', qos: 0 }] },
        { cmd: 'unsuback', messageId },
      ]) {
        throwsEncode(() => encode(pkt as PacketInput, { protocolVersion: 4 }), 'MQTT_ERR_FIELD_VALUE');
      }
    }
  });
});

describe('SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK', () => {
  test('refuses an empty subscription list [MQTT-3.8.3-2]', () => {
    rejects(bytes('82 02 00 01'), 4, 'MQTT_ERR_EMPTY_LIST', 0x82);
    rejects(bytes('82 02 00 01'), 3, 'MQTT_ERR_EMPTY_LIST', 0x82);
    rejects(bytes('82 03 00 01 00'), 5, 'MQTT_ERR_EMPTY_LIST', 0x82);
    throwsEncode(() => encode({ cmd: 'subscribe', messageId: 1, subscriptions: [] }), 'MQTT_ERR_EMPTY_LIST');
  });

  test('refuses an empty unsubscribe list [MQTT-3.10.3-2]', () => {
    rejects(bytes('a2 02 00 01'), 4, 'MQTT_ERR_EMPTY_LIST', 0x82);
    rejects(bytes('a2 03 00 01 00'), 5, 'MQTT_ERR_EMPTY_LIST', 0x82);
    throwsEncode(
      () => encode({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: [] }),
      'MQTT_ERR_EMPTY_LIST',
    );
  });

  test('refuses an empty SUBACK or MQTT 5 UNSUBACK reason code list', () => {
    rejects(bytes('90 02 00 01'), 4, 'MQTT_ERR_EMPTY_LIST', 0x82);
    rejects(bytes('90 03 00 01 00'), 5, 'MQTT_ERR_EMPTY_LIST', 0x82);
    rejects(bytes('b0 03 00 01 00'), 5, 'MQTT_ERR_EMPTY_LIST', 0x82);
  });

  test('refuses invalid topic filters [MQTT-4.7.1-1, MQTT-4.7.1-2, MQTT-4.7.3-1]', () => {
    for (const filter of ['', 'a/#/b', '#/a', 'a#', 'a/b#', 'a+', '+a', 'a/+b/c', '++', '##']) {
      for (const v of VERSIONS) {
        const p5 = v === 5 ? [0] : [];
        rejects(packet(0x82, [0, 1, ...p5, ...str(filter), 0]), v, 'MQTT_ERR_TOPIC_FILTER_INVALID', 0x8f);
        rejects(packet(0xa2, [0, 1, ...p5, ...str(filter)]), v, 'MQTT_ERR_TOPIC_FILTER_INVALID', 0x8f);
        throwsEncode(
          () =>
            encode(
              { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] },
              { protocolVersion: v },
            ),
          'MQTT_ERR_TOPIC_FILTER_INVALID',
          0x8f,
        );
        throwsEncode(
          () =>
            encode(
              { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['ok', filter] },
              { protocolVersion: v },
            ),
          'MQTT_ERR_TOPIC_FILTER_INVALID',
          0x8f,
        );
      }
    }
  });

  test('accepts valid filters with wildcards', () => {
    for (const filter of ['#', '+', '/', 'a//b', '+/+', 'a/+/#', '/#', '$SYS/#', 'sport/tennis/+']) {
      const pkt: PacketInput = { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] };
      assert.deepEqual(decode(encode(pkt), {}), pkt);
    }
  });

  test('refuses malformed Shared Subscriptions in MQTT 5 [MQTT-4.8.2-1, MQTT-4.8.2-2]', () => {
    for (const filter of [
      '$share//x',
      '$share/g',
      '$share/g/',
      '$share/a+/x',
      '$share/#/x',
      '$share/g/a#',
      '$share/',
    ]) {
      rejects(packet(0x82, [0, 1, 0, ...str(filter), 0]), 5, 'MQTT_ERR_TOPIC_FILTER_INVALID', 0x8f);
      rejects(packet(0xa2, [0, 1, 0, ...str(filter)]), 5, 'MQTT_ERR_TOPIC_FILTER_INVALID', 0x8f);
      throwsEncode(
        () =>
          encode(
            { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] },
            { protocolVersion: 5 },
          ),
        'MQTT_ERR_TOPIC_FILTER_INVALID',
        0x8f,
      );
      throwsEncode(
        () => encode({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: [filter] }, { protocolVersion: 5 }),
        'MQTT_ERR_TOPIC_FILTER_INVALID',
        0x8f,
      );
    }
  });

  test('accepts Shared Subscriptions in MQTT 5, and $share/ as a plain filter before it', () => {
    for (const filter of ['$share/g/x', '$share/g/#', '$share/g/+/a', '$share/é/a//b', '$share/g//']) {
      const pkt: PacketInput = { cmd: 'unsubscribe', messageId: 1, unsubscriptions: [filter] };
      assert.deepEqual(decode(encode(pkt, { protocolVersion: 5 }), { protocolVersion: 5 }), pkt);
    }
    for (const filter of ['$share//x', '$share/g', '$share/g/', '$share/']) {
      for (const v of [3, 4] as ProtocolVersion[]) {
        const pkt: PacketInput = { cmd: 'unsubscribe', messageId: 1, unsubscriptions: [filter] };
        assert.deepEqual(decode(encode(pkt, { protocolVersion: v }), { protocolVersion: v }), pkt);
      }
    }
  });

  test('refuses reserved subscription option bits', () => {
    for (const v of [3, 4] as ProtocolVersion[]) {
      for (const opt of [0x04, 0x08, 0x10, 0x80, 0xfc])
        rejects(packet(0x82, [0, 1, ...str('a'), opt]), v, 'MQTT_ERR_RESERVED_BITS', 0x81);
    }
    for (const opt of [0x40, 0x80, 0xc0])
      rejects(packet(0x82, [0, 1, 0, ...str('a'), opt]), 5, 'MQTT_ERR_RESERVED_BITS', 0x81);
  });

  test('refuses subscription QoS 3 and Retain Handling 3', () => {
    for (const v of [3, 4] as ProtocolVersion[])
      rejects(packet(0x82, [0, 1, ...str('a'), 3]), v, 'MQTT_ERR_BAD_QOS', 0x81);
    rejects(packet(0x82, [0, 1, 0, ...str('a'), 3]), 5, 'MQTT_ERR_BAD_QOS', 0x81);
    rejects(packet(0x82, [0, 1, 0, ...str('a'), 0x30]), 5, 'MQTT_ERR_BAD_RETAIN_HANDLING', 0x82);
    throwsEncode(
      () => encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 3 as 0 }] }),
      'MQTT_ERR_FIELD_VALUE',
    );
    throwsEncode(
      () =>
        encode(
          { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0, rh: 3 as 0 }] },
          { protocolVersion: 5 },
        ),
      'MQTT_ERR_FIELD_VALUE',
    );
  });
});

describe('CONNECT', () => {
  const connect = (name: string, level: number, flags = 2, rest: number[] = [0, 0]) =>
    packet(0x10, [...str(name), level, flags, 0, 60, ...(level === 5 ? [0] : []), ...rest]);

  test('refuses a protocol name that does not match the level', () => {
    for (const [name, level] of [
      ['MQTT', 3],
      ['MQIsdp', 4],
      ['MQIsdp', 5],
      ['mqtt', 4],
      ['MQTTX', 5],
    ] as const) {
      for (const v of VERSIONS) rejects(connect(name, level), v, 'MQTT_ERR_PROTOCOL_NAME', 0x82);
    }
    throwsEncode(
      () => encode({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 4, keepalive: 0, clientId: 'c' }),
      'MQTT_ERR_PROTOCOL_NAME',
    );
  });

  test('refuses an unknown protocol level with Unsupported Protocol Version', () => {
    for (const level of [0, 1, 2, 6, 0x83, 0x84, 0xff])
      rejects(connect('MQTT', level), 4, 'MQTT_ERR_PROTOCOL_VERSION', 0x84);
    throwsEncode(
      () => encode({ cmd: 'connect', protocolVersion: 6 as 5, keepalive: 0, clientId: 'c' }),
      'MQTT_ERR_FIELD_VALUE',
    );
  });

  test('takes the protocol level from the packet, whatever the decoder was told', () => {
    for (const v of VERSIONS) {
      const got = decode(connect('MQTT', 5, 2, [0, 1, 0x61]), { protocolVersion: v });
      assert.equal(got.cmd === 'connect' && got.protocolVersion, 5);
    }
  });

  test('refuses the reserved connect flag bit 0 [MQTT-3.1.2-3]', () => {
    for (const level of [3, 4, 5])
      rejects(connect(level === 3 ? 'MQIsdp' : 'MQTT', level, 0x03), 4, 'MQTT_ERR_RESERVED_BITS', 0x81);
  });

  test('refuses Will QoS or Will Retain without the Will Flag [MQTT-3.1.2-11]', () => {
    for (const flags of [0x08, 0x10, 0x18, 0x20, 0x2a])
      rejects(connect('MQTT', 4, flags), 4, 'MQTT_ERR_FLAG_WITHOUT_PRESENCE', 0x81);
  });

  test('refuses Will QoS 3 [MQTT-3.1.2-12]', () => {
    rejects(connect('MQTT', 4, 0x1e, [0, 0, ...str('t'), 0, 0]), 4, 'MQTT_ERR_BAD_QOS', 0x81);
    throwsEncode(
      () =>
        encode({
          cmd: 'connect',
          keepalive: 0,
          clientId: 'c',
          will: { topic: 't', payload: '', qos: 3 as 0, retain: false },
        }),
      'MQTT_ERR_FIELD_VALUE',
    );
  });

  test('refuses wildcards and the empty string in the Will Topic', () => {
    for (const topic of ['a/#', '+', '']) {
      rejects(connect('MQTT', 4, 0x06, [0, 0, ...str(topic), 0, 0]), 4, 'MQTT_ERR_TOPIC_NAME_INVALID', 0x90);
      throwsEncode(
        () =>
          encode({
            cmd: 'connect',
            keepalive: 0,
            clientId: 'c',
            will: { topic, payload: '', qos: 0, retain: false },
          }),
        'MQTT_ERR_TOPIC_NAME_INVALID',
        0x90,
      );
    }
  });

  test('refuses a password without a user name before MQTT 5 and accepts it in MQTT 5', () => {
    rejects(connect('MQTT', 4, 0x42, [0, 0, ...str('pw')]), 4, 'MQTT_ERR_PASSWORD_WITHOUT_USERNAME', 0x82);
    rejects(
      connect('MQIsdp', 3, 0x42, [0, 1, 0x61, ...str('pw')]),
      3,
      'MQTT_ERR_PASSWORD_WITHOUT_USERNAME',
      0x82,
    );
    for (const v of [3, 4] as ProtocolVersion[]) {
      throwsEncode(
        () => encode({ cmd: 'connect', keepalive: 0, clientId: 'c', password: 'pw' }, { protocolVersion: v }),
        'MQTT_ERR_PASSWORD_WITHOUT_USERNAME',
      );
    }
    const v5 = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 0,
      clientId: 'c',
      password: utf8.encode('pw'),
    } as const;
    assert.deepEqual(plain(decode(encode(v5), { protocolVersion: 5 })), plain(v5));
  });

  test('accepts an empty user name with a password', () => {
    for (const v of VERSIONS) {
      const pkt = {
        cmd: 'connect',
        protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: v,
        clean: true,
        keepalive: 0,
        clientId: 'c',
        username: '',
        password: utf8.encode('pw'),
      } as const;
      assert.deepEqual(plain(decode(encode(pkt), { protocolVersion: v })), plain(pkt));
    }
  });

  test('writes Clean Session when clean is left out, as mqtt-packet does', () => {
    const b = encode({ cmd: 'connect', keepalive: 0, clientId: '' }, { protocolVersion: 4 });
    const got = decode(b, { protocolVersion: 4 });
    assert.equal(got.cmd === 'connect' && got.clean, true);
    const off = decode(encode({ cmd: 'connect', keepalive: 0, clientId: 'c', clean: false }), {});
    assert.equal(off.cmd === 'connect' && off.clean, false);
  });

  test('refuses an empty client identifier without Clean Session in 3.1.1 [MQTT-3.1.3-7]', () => {
    rejects(connect('MQTT', 4, 0x00, [0, 0]), 4, 'MQTT_ERR_EMPTY_CLIENT_ID', 0x82);
    throwsEncode(
      () => encode({ cmd: 'connect', keepalive: 0, clientId: '', clean: false }),
      'MQTT_ERR_EMPTY_CLIENT_ID',
    );
  });

  test('refuses reserved CONNACK acknowledge flag bits [MQTT-3.2.2-1]', () => {
    for (const flags of [0x02, 0x80, 0xfe]) {
      rejects(Uint8Array.from([0x20, 2, flags, 0]), 4, 'MQTT_ERR_RESERVED_BITS', 0x81);
      rejects(Uint8Array.from([0x20, 3, flags, 0, 0]), 5, 'MQTT_ERR_RESERVED_BITS', 0x81);
    }
  });
});

describe('MQTT 5 properties and reason codes (details in properties.test.ts, reason-codes.test.ts)', () => {
  test('refuses a property the packet does not allow', () => {
    rejects(
      withRawProperty('PUBACK', Uint8Array.from([0x23, 0, 1])),
      5,
      'MQTT_ERR_PROPERTY_NOT_ALLOWED',
      0x82,
    );
    throwsEncode(
      () => encode(baseV5('PUBACK', { topicAlias: 1 }), { protocolVersion: 5 }),
      'MQTT_ERR_PROPERTY_NOT_ALLOWED',
    );
  });

  test('refuses a repeated property that may not repeat', () => {
    rejects(
      withRawProperty('PUBACK', Uint8Array.from([0x1f, 0, 0, 0x1f, 0, 0])),
      5,
      'MQTT_ERR_PROPERTY_REPEATED',
      0x82,
    );
  });

  test('refuses a reason code the packet does not allow', () => {
    rejects(bytes('40 03 00 01 92'), 5, 'MQTT_ERR_REASON_CODE', 0x81);
    throwsEncode(
      () => encode({ cmd: 'puback', messageId: 1, reasonCode: 0x92 }, { protocolVersion: 5 }),
      'MQTT_ERR_REASON_CODE',
    );
  });
});

describe('encoder input', () => {
  test('refuses values of the wrong type', () => {
    const v4 = { protocolVersion: 4 } as const;
    const cases: [unknown, string][] = [
      [{ cmd: 'publish', topic: 42, payload: '', qos: 0 }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'publish', topic: 'a', payload: 42, qos: 0 }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'publish', topic: 'a', payload: '', qos: '1', messageId: 1 }, 'MQTT_ERR_FIELD_VALUE'],
      [{ cmd: 'connect', keepalive: '60', clientId: 'c' }, 'MQTT_ERR_FIELD_VALUE'],
      [{ cmd: 'connect', keepalive: 70_000, clientId: 'c' }, 'MQTT_ERR_FIELD_VALUE'],
      [{ cmd: 'connect', keepalive: 0, clientId: 7 }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'connect', keepalive: 0, clientId: 'c', username: 7 }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'connect', keepalive: 0, clientId: 'c', username: 'u', password: 7 }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 1, qos: 0 }] }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'subscribe', messageId: 1, subscriptions: 'a' }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'unsubscribe', messageId: 1, unsubscriptions: [1] }, 'MQTT_ERR_FIELD_TYPE'],
      [{ cmd: 'suback', messageId: 1, granted: ['0'] }, 'MQTT_ERR_FIELD_VALUE'],
    ];
    for (const [pkt, code] of cases) throwsEncode(() => encode(pkt as PacketInput, v4), code);
    throwsEncode(
      () => encode(baseV5('PUBLISH', { userProperties: ['a'] }), { protocolVersion: 5 }),
      'MQTT_ERR_FIELD_TYPE',
    );
    throwsEncode(
      () => encode(baseV5('PUBLISH', { userProperties: { a: 1 } }), { protocolVersion: 5 }),
      'MQTT_ERR_FIELD_TYPE',
    );
    throwsEncode(
      () => encode(baseV5('PUBLISH', { contentType: 1 }), { protocolVersion: 5 }),
      'MQTT_ERR_FIELD_TYPE',
    );
    throwsEncode(
      () => encode(baseV5('PUBLISH', { correlationData: 1 }), { protocolVersion: 5 }),
      'MQTT_ERR_FIELD_TYPE',
    );
  });

  test('refuses an unknown cmd or a value that is not a packet', () => {
    for (const pkt of [{ cmd: 'nope' }, { cmd: 'Publish' }, {}, null, undefined, 'publish', 3]) {
      throwsEncode(() => encode(pkt as unknown as PacketInput), 'MQTT_ERR_PACKET_TYPE');
    }
  });

  test('refuses a packet over maximumPacketSize with Packet too large', () => {
    throwsEncode(
      () => encode({ cmd: 'pingreq' }, { maximumPacketSize: 1 }),
      'MQTT_ERR_PACKET_TOO_LARGE',
      0x95,
    );
    throwsEncode(
      () =>
        encode(
          { cmd: 'publish', topic: 'a', payload: new Uint8Array(200), qos: 0 },
          { maximumPacketSize: 200 },
        ),
      'MQTT_ERR_PACKET_TOO_LARGE',
      0x95,
    );
  });
});

describe('Decoder after an error', () => {
  test('keeps throwing the same error, whatever is pushed next', () => {
    const d = new Decoder({ protocolVersion: 4 });
    assert.equal(d.push(bytes('c0 00')).length, 1);
    const first = throwsDecode(() => d.push(bytes('36 00')), 'MQTT_ERR_BAD_QOS', 0x81);
    for (const next of [bytes('c0 00'), new Uint8Array(0), bytes('30 03 00 01 61')]) {
      assert.throws(
        () => d.push(next),
        (e: unknown) => e === first,
      );
    }
  });

  test('throws for a chunk with good packets before a bad one (the caller closes the connection)', () => {
    const d = new Decoder({ protocolVersion: 4 });
    throwsDecode(() => d.push(bytes('c0 00 c0 00 00 00')), 'MQTT_ERR_PACKET_TYPE', 0x81);
  });

  test('every fixture is accepted again by a fresh Decoder after another one failed', () => {
    const bad = new Decoder();
    throwsDecode(() => bad.push(bytes('00 00')), 'MQTT_ERR_PACKET_TYPE', 0x81);
    for (const g of goldens().slice(0, 5)) {
      assert.equal(new Decoder({ protocolVersion: g.protocolVersion }).push(g.bytes).length, 1);
    }
  });
});

test('the catalogue covers every packet type of the schema', () => {
  const types = new Set(onePerType().map((x) => x.type));
  for (const p of model().packets) assert.ok(types.has(p.type), p.name);
});
