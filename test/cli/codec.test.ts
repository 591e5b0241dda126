/**
 * `mqtt decode` and `mqtt encode` on every golden fixture of schema/examples.yaml, run through the
 * real launcher: one child process per command and protocol version, each fixture on its own line.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Golden, goldens, plain, toHex } from '../helpers/examples.js';
import { killAll, lines, run } from './support.js';

after(killAll);

/** A packet as the fixture writes it, with binary fields as { hex } (the CLI's input form). */
function fixtureJson(value: unknown, key?: string): unknown {
  if (value instanceof Uint8Array) return { hex: toHex(value) };
  if (Array.isArray(value)) return value.map((v) => fixtureJson(v));
  if (value !== null && typeof value === 'object') {
    if (key === 'userProperties') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fixtureJson(v, k)]));
  }
  return value;
}

/** The CLI's JSON output in the form of `plain()`: { utf8 } and { hex } as `bytes:…`. */
function cliJsonToPlain(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => cliJsonToPlain(v));
  if (value !== null && typeof value === 'object') {
    if (key === 'userProperties') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.utf8 === 'string')
      return `bytes:${toHex(new TextEncoder().encode(o.utf8))}`;
    if (keys.length === 1 && typeof o.hex === 'string') return `bytes:${toHex(Buffer.from(o.hex, 'hex'))}`;
    return Object.fromEntries(keys.map((k) => [k, cliJsonToPlain(o[k], k)]));
  }
  return value;
}

const byVersion = new Map<number, Golden[]>();
for (const g of goldens()) byVersion.set(g.protocolVersion, [...(byVersion.get(g.protocolVersion) ?? []), g]);

describe('mqtt encode and decode on the golden fixtures', { concurrency: true }, () => {
  for (const [version, fixtures] of byVersion) {
    test(`encode writes the fixture bytes of all ${fixtures.length} MQTT level ${version} examples`, async () => {
      const input = fixtures.map((g) => JSON.stringify(fixtureJson(g.packet))).join('\n');
      const result = await run(['encode', '-V', String(version), '-'], { input });
      assert.equal(result.code, 0, result.stderr);
      const got = lines(result);
      assert.deepEqual(
        fixtures.map((g, i) => ({ name: g.name, hex: got[i] })),
        fixtures.map((g) => ({ name: g.name, hex: Buffer.from(g.bytes).toString('hex') })),
      );
    });

    test(`decode prints the fixture packets of all ${fixtures.length} MQTT level ${version} examples`, async () => {
      // All fixtures one after another, as a capture would hold them.
      const input = fixtures.map((g) => toHex(g.bytes)).join('\n');
      const result = await run(['decode', '--compact', '-V', String(version), '-'], { input });
      assert.equal(result.code, 0, result.stderr);
      const got = lines(result);
      assert.deepEqual(
        fixtures.map((g, i) => ({ name: g.name, packet: got[i] && cliJsonToPlain(JSON.parse(got[i])) })),
        fixtures.map((g) => ({ name: g.name, packet: plain(g.packet) })),
      );
    });
  }

  test('decode takes hex split across arguments and prints indented JSON', async () => {
    const result = await run(['decode', 'c0', '00']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), '{\n  "cmd": "pingreq"\n}\n');
  });

  test('decode --raw reads the bytes themselves from stdin', async () => {
    const result = await run(['decode', '--raw', '-c', '-'], { input: Buffer.from([0xd0, 0x00]) });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result), ['{"cmd":"pingresp"}']);
  });

  test('decode exits 1 with the code, reason code and spec reference of a bad Remaining Length', async () => {
    const result = await run(['decode', '30 ff ff ff ff 01']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad packet at byte 0/);
    assert.match(result.stderr, /code: +MQTT_ERR_MALFORMED_VBI/);
    assert.match(result.stderr, /reason code: 0x81 \(Malformed Packet\)/);
    assert.match(result.stderr, /spec: +MQTT 5\.0 §/);
  });

  test('decode prints the packets before a truncated one and names its offset', async () => {
    const result = await run(['decode', '-c', 'c0 00 62 02 00']);
    assert.equal(result.code, 1);
    assert.deepEqual(lines(result), ['{"cmd":"pingreq"}']);
    assert.match(result.stderr, /bad packet at byte 2/);
    assert.match(result.stderr, /code: +MQTT_ERR_TRUNCATED/);
  });

  test('decode rejects text that is not hex with exit code 2', async () => {
    const result = await run(['decode', 'xyz']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^mqtt decode: the input is not hex/);
    assert.match(result.stderr, /Usage: mqtt decode/);
  });

  test('encode exits 1 with the codec error for a wildcard in a PUBLISH topic', async () => {
    const result = await run(['encode', '{"cmd":"publish","topic":"a/#","qos":0,"payload":"x"}']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /code: +MQTT_ERR_TOPIC_NAME_INVALID/);
    assert.match(result.stderr, /reason code: 0x90/);
    assert.match(result.stderr, /MQTT-3\.3\.2-2/);
  });

  test('encode output decodes back to the same packet', async () => {
    const packet = {
      cmd: 'publish',
      topic: 'a/b',
      payload: { hex: '00ff' },
      qos: 1,
      dup: false,
      retain: true,
      messageId: 7,
      properties: { userProperties: { utf8: 'not bytes' }, correlationData: { utf8: 'id-1' } },
    };
    const encoded = await run(['encode', '-V', '5', JSON.stringify(packet)]);
    assert.equal(encoded.code, 0, encoded.stderr);
    const decoded = await run(['decode', '-V', '5', '-c', '-'], { input: encoded.stdout });
    assert.equal(decoded.code, 0, decoded.stderr);
    assert.deepEqual(JSON.parse(lines(decoded)[0]!), packet);
  });
});
