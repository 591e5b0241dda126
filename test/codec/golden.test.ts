import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, isMqttError } from '../../generated/index.js';
import { concat, goldens, plain, toHex } from '../helpers/examples.js';

describe('golden fixtures (schema/examples.yaml)', () => {
  for (const g of goldens()) {
    describe(`${g.name} [${g.ref}]`, () => {
      const opts = { protocolVersion: g.protocolVersion };

      test('encodes to exactly the fixture bytes', () => {
        assert.equal(toHex(encode(g.packet, opts)), toHex(g.bytes));
      });

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
