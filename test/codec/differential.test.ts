/**
 * Differential tests against mqtt-packet 9 (an independent implementation, dev dependency):
 * random valid packets encoded by us decode in mqtt-packet's parser to an equal object, and
 * mqtt-packet's `generate` output decodes in ours to an equal object. Seeded like
 * random.test.ts (CODEC_SEED, CODEC_ITERATIONS).
 *
 * mqtt-packet's known deviations from the spec (/work/shared/reference/mqtt-tables.md §3, §4
 * and the notes in schema/examples.yaml) are left out case by case in `deviation` below.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { decode, encode, type Packet, type ProtocolVersion } from '../../generated/index.js';
import { plain, toHex } from '../helpers/examples.js';
import { arbitraryPacket, cmdsAt, iterations, Rng, runSeed } from './arbitrary.js';

const SEED = runSeed();
const N = iterations(40);
const VERSIONS: ProtocolVersion[] = [3, 4, 5];

console.log(`# differential.test.ts: CODEC_SEED=${SEED} CODEC_ITERATIONS=${N}`);

function rngFor(name: string): Rng {
  let h = SEED ^ 0x85ebca6b;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return new Rng(h >>> 0);
}

type Direction = 'ours-to-theirs' | 'theirs-to-ours';

/**
 * Why mqtt-packet cannot take part in this case, or undefined. Each reason is a documented
 * deviation of mqtt-packet 9.0.2 from MQTT 5.0, where we follow the spec.
 */
function deviation(p: Packet, v: ProtocolVersion, direction: Direction): string | undefined {
  const q = p as unknown as Record<string, unknown>;
  // AUTH short form: MQTT 5.0 §3.15.2.1 lets an AUTH with reason 0 and no properties have a
  // Remaining Length of 0 (f0 00), which we write; mqtt-packet's parser refuses it ("Invalid
  // auth reason code").
  if (direction === 'ours-to-theirs' && p.cmd === 'auth' && q.reasonCode === 0 && q.properties === undefined)
    return 'AUTH short form';
  // DISCONNECT 0x8C (Bad authentication method): listed for DISCONNECT in Table 2-6 but not in
  // Table 3-10; we accept it, mqtt-packet's parser refuses it ("Invalid disconnect reason code").
  if (direction === 'ours-to-theirs' && p.cmd === 'disconnect' && q.reasonCode === 0x8c)
    return 'DISCONNECT 0x8C';
  // A password without a user name is allowed in MQTT 5 (§3.1.2.9); mqtt-packet's generate
  // refuses it in every version ("Username is required to use password").
  if (
    direction === 'theirs-to-ours' &&
    p.cmd === 'connect' &&
    q.password !== undefined &&
    q.username === undefined
  )
    return 'v5 password without user name';
  // An empty Client Identifier without Clean Start: MQTT 5.0 §3.1.3.1 dropped 3.1.1's rule
  // [MQTT-3.1.3-7] (the server assigns an identifier), and we apply it at level 4 only;
  // mqtt-packet's generate applies it at level 5 too ("clientId must be given if
  // cleanSession set to 0").
  if (
    direction === 'theirs-to-ours' &&
    p.cmd === 'connect' &&
    v === 5 &&
    q.clientId === '' &&
    q.clean === false
  )
    return 'v5 empty client identifier without Clean Start';
  // A repeated User Property whose first value is the empty string: mqtt-packet's parser tests
  // the value it holds for truthiness, so '' is overwritten by the next value with that name
  // (26 00 01 6b 00 00 26 00 01 6b 00 01 76 parses as { k: 'v' }, not { k: ['', 'v'] }).
  if (
    direction === 'ours-to-theirs' &&
    [q.properties, (q.will as Record<string, unknown> | undefined)?.properties].some(emptyFirstRepeat)
  )
    return 'repeated User Property with an empty first value';
  // Not excluded, because they do not change the decoded object:
  // - non-shortest v5 acks: mqtt-packet's generate writes a 00 Property Length after a
  //   reason code (40 04 00 01 10 00 for 40 03 00 01 10) and always writes DISCONNECT's and
  //   AUTH's reason code and Property Length (e0 02 00 00 for e0 00); we decode both forms
  //   to the same object, so only the bytes differ (see `sameBytes`).
  // - no per-packet property allow-list: mqtt-packet writes and reads any property in any
  //   packet; the packets here are valid, so they only carry allowed properties.
  return undefined;
}

function emptyFirstRepeat(props: unknown): boolean {
  const up = (props as { userProperties?: Record<string, string | string[]> } | undefined)?.userProperties;
  return up !== undefined && Object.values(up).some((v) => Array.isArray(v) && v[0] === '');
}

/**
 * Whether our bytes and mqtt-packet's must be identical: everywhere except the v5 packets
 * where mqtt-packet does not write the shortest form (see `deviation`).
 */
function sameBytes(p: Packet, v: ProtocolVersion): boolean {
  if (v !== 5) return true;
  const q = p as unknown as Record<string, unknown>;
  if (p.cmd === 'disconnect' || p.cmd === 'auth') return q.properties !== undefined;
  if (['puback', 'pubrec', 'pubrel', 'pubcomp'].includes(p.cmd))
    return q.reasonCode === 0 || q.properties !== undefined;
  return true;
}

/** mqtt-packet's parse of `bytes`: the packets it emitted, or its error. */
function theirParse(bytes: Uint8Array, v: ProtocolVersion): { packets: unknown[]; error?: Error } {
  const parser = mqttPacket.parser({ protocolVersion: v });
  const packets: unknown[] = [];
  let error: Error | undefined;
  parser.on('packet', (p: unknown) => packets.push(p));
  parser.on('error', (e: Error) => {
    error = e;
  });
  parser.parse(Buffer.from(bytes));
  return { packets, error };
}

const HEADER_ONLY = ['qos', 'dup', 'retain', 'topic', 'payload'];

/** mqtt-packet's parsed object in our shape: no `length`, no header fields outside PUBLISH, no empty properties. */
function normalise(p: unknown): unknown {
  const out = { ...(p as Record<string, unknown>) };
  delete out.length;
  if (out.cmd !== 'publish') for (const k of HEADER_ONLY) delete out[k];
  const dropEmpty = (o: Record<string, unknown>) => {
    if (o.properties !== undefined && Object.keys(o.properties as object).length === 0) delete o.properties;
  };
  dropEmpty(out);
  if (out.will !== undefined) {
    out.will = { ...(out.will as Record<string, unknown>) };
    dropEmpty(out.will as Record<string, unknown>);
  }
  return plain(out);
}

/** Our packet as mqtt-packet's generate input: byte fields as Buffers, a deep copy. */
function asTheirs(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(asTheirs);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: asTheirs(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}

describe(`differential against mqtt-packet 9 (CODEC_SEED=${SEED})`, () => {
  for (const v of VERSIONS) {
    for (const cmd of cmdsAt(v)) {
      test(`${cmd} at level ${v}: ours and mqtt-packet's agree both ways`, () => {
        const rng = rngFor(`${cmd}/${v}`);
        let compared = 0;
        for (let i = 0; i < N; i++) {
          const x = arbitraryPacket(rng, v, cmd);
          const where = `replay: CODEC_SEED=${SEED}, ${cmd} v${v} case ${i}`;
          const ours = encode(x, { protocolVersion: v });

          if (deviation(x, v, 'ours-to-theirs') === undefined) {
            const { packets, error } = theirParse(ours, v);
            assert.equal(
              error,
              undefined,
              `mqtt-packet refused ${toHex(ours.subarray(0, 80))}: ${String(error)}\n${where}`,
            );
            assert.equal(packets.length, 1, where);
            assert.deepEqual(normalise(packets[0]), plain(x), where);
            compared++;
          }

          if (deviation(x, v, 'theirs-to-ours') === undefined) {
            const theirs = mqttPacket.generate(asTheirs(x) as mqttPacket.Packet, { protocolVersion: v });
            assert.deepEqual(
              plain(decode(theirs, { protocolVersion: v })),
              plain(x),
              `${toHex(theirs.subarray(0, 80))}\n${where}`,
            );
            if (sameBytes(x, v)) assert.equal(toHex(theirs), toHex(ours), where);
            compared++;
          }
        }
        // the exclusions are narrow: most cases are compared in both directions
        assert.ok(compared >= N, `only ${compared} comparisons for ${N} cases`);
      });
    }
  }

  test('the excluded deviations are real: mqtt-packet still behaves as documented', () => {
    // If one of these starts failing, mqtt-packet fixed the deviation and its exclusion can go.
    assert.ok(theirParse(Uint8Array.from([0xf0, 0x00]), 5).error, 'AUTH short form');
    assert.ok(theirParse(Uint8Array.from([0xe0, 0x01, 0x8c]), 5).error, 'DISCONNECT 0x8C');
    assert.throws(() =>
      mqttPacket.generate(
        {
          cmd: 'connect',
          protocolVersion: 5,
          clientId: 'c',
          password: Buffer.from('p'),
        } as mqttPacket.Packet,
        { protocolVersion: 5 },
      ),
    );
    assert.equal(
      toHex(
        mqttPacket.generate({ cmd: 'puback', messageId: 1, reasonCode: 0x10 } as mqttPacket.Packet, {
          protocolVersion: 5,
        }),
      ),
      '40 04 00 01 10 00',
    );
    assert.throws(() =>
      mqttPacket.generate(
        { cmd: 'connect', protocolVersion: 5, clientId: '', clean: false } as mqttPacket.Packet,
        { protocolVersion: 5 },
      ),
    );
    const repeated = theirParse(
      Uint8Array.from([0x40, 0x11, 0, 1, 0, 13, 0x26, 0, 1, 0x6b, 0, 0, 0x26, 0, 1, 0x6b, 0, 1, 0x76]),
      5,
    );
    assert.deepEqual(plain((repeated.packets[0] as { properties: unknown }).properties), {
      userProperties: { k: 'v' },
    });
  });
});
