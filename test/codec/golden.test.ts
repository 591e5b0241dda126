import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, encodePublishParts, isMqttError } from '../../generated/index.js';
import { concat, goldens, plain, toHex } from '../helpers/examples.js';

describe('golden fixtures (schema/examples.yaml)', () => {
  for (const g of goldens()) {
    describe(`${g.name} [${g.ref}]`, () => {
      const opts = { protocolVersion: g.protocolVersion };

      test('encodes to exactly the fixture bytes', () => {
        assert.equal(toHex(encode(g.packet, opts)), toHex(g.bytes));
      });

      if (g.packet.cmd === 'publish') {
        test('encodes as head and payload parts that join to exactly the fixture bytes', () => {
          const packet = g.packet as Extract<typeof g.packet, { cmd: 'publish' }>;
          const [head, payload] = encodePublishParts(packet, opts);
          assert.equal(toHex(concat(head, payload)), toHex(g.bytes));
          // A byte payload is handed back as given, not copied.
          if (packet.payload instanceof Uint8Array) assert.equal(payload, packet.payload);
        });
      }

      test('decodes the fixture bytes to the packet object', () => {
        assert.deepEqual(plain(decode(g.bytes, opts)), plain(g.packet));
      });

      test('rejects a trailing byte after the packet, reading nothing past it', () => {
        assert.throws(
          () => decode(concat(g.bytes, new Uint8Array([0xc0])), opts),
          (e: unknown) => isMqttError(e) && e.code === 'MQTT_ERR_TRAILING_BYTES',
        );
      });

      test('decodes the packet split at every byte boundary', () => {
        const step = g.bytes.length > 4096 ? 509 : 1; // large payloads: a prime stride keeps it quick
        for (let i = 1; i < g.bytes.length; i += step) {
          const d = new Decoder(opts);
          const got = [...d.push(g.bytes.subarray(0, i)), ...d.push(g.bytes.subarray(i))];
          assert.equal(got.length, 1, `split at ${i}`);
          assert.deepEqual(plain(got[0]), plain(g.packet), `split at ${i}`);
        }
      });

      test('decodes the packet fed one byte at a time, twice in a row', () => {
        if (g.bytes.length > 4096) return;
        const d = new Decoder(opts);
        const got = [];
        for (const chunk of [g.bytes, g.bytes])
          for (let i = 0; i < chunk.length; i++) got.push(...d.push(chunk.subarray(i, i + 1)));
        assert.equal(got.length, 2);
        assert.deepEqual(plain(got[1]), plain(g.packet));
      });
    });
  }
});

describe('encodePublishParts', () => {
  test('applies the Maximum Packet Size to the whole packet, payload included', () => {
    const packet = { cmd: 'publish', topic: 't', payload: new Uint8Array(100), qos: 0 } as const;
    assert.equal(encode(packet, { maximumPacketSize: 105 }).length, 105);
    assert.equal(encodePublishParts(packet, { maximumPacketSize: 105 })[0].length, 5);
    for (const encodeIt of [encode, encodePublishParts]) {
      assert.throws(
        () => encodeIt(packet, { maximumPacketSize: 104 }),
        (e: unknown) => isMqttError(e) && e.code === 'MQTT_ERR_PACKET_TOO_LARGE' && e.reasonCode === 0x95,
      );
    }
  });

  test('encodes a string payload as UTF-8', () => {
    const [, payload] = encodePublishParts({ cmd: 'publish', topic: 't', payload: 'hé', qos: 0 });
    assert.deepEqual([...payload], [0x68, 0xc3, 0xa9]);
  });
});
