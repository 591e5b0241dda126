/**
 * Property-based tests over random valid packets of every type at every protocol level, and
 * over random and mutated bytes. Seeded: the seed is printed, CODEC_SEED=<seed> replays a
 * run, CODEC_ITERATIONS=<n> sets the number of cases per test (`npm run fuzz` runs many).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, type Packet, type ProtocolVersion } from '../../generated/index.js';
import { concat, plain, toHex } from '../helpers/examples.js';
import { arbitraryPacket, cmdsAt, iterations, Rng, runSeed } from './arbitrary.js';
import { isTypedDecodeError, packet, splitPacket } from './support.js';

const SEED = runSeed();
const N = iterations(60);
const VERSIONS: ProtocolVersion[] = [3, 4, 5];
const TIMEOUT = { timeout: 120_000 };

console.log(`# random.test.ts: CODEC_SEED=${SEED} CODEC_ITERATIONS=${N}`);

/** A PRNG for one test, derived from the run seed and the test's name. */
function rngFor(name: string): Rng {
  let h = SEED ^ 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return new Rng(h >>> 0);
}

/** Runs `body`, naming the seed that replays it in any failure. */
function seeded(name: string, body: (rng: Rng) => void): void {
  test(name, TIMEOUT, () => {
    try {
      body(rngFor(name));
    } catch (err) {
      if (err instanceof Error) err.message = `${err.message}\n  replay: CODEC_SEED=${SEED} (test "${name}")`;
      throw err;
    }
  });
}

function randomPacket(rng: Rng, v: ProtocolVersion): Packet {
  return arbitraryPacket(rng, v, rng.pick(cmdsAt(v)));
}

/** Splits `bytes` into chunks of mixed sizes: single bytes, a few bytes, a few packets' worth. */
function chunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const r = rng.float();
    const n = r < 0.2 ? 1 : r < 0.5 ? rng.int(2, 8) : r < 0.8 ? rng.int(9, 300) : rng.int(301, 20_000);
    out.push(bytes.subarray(pos, Math.min(bytes.length, pos + n)));
    pos += n;
  }
  return out;
}

/**
 * Feeds `bytes` to a Decoder in random chunks. Returns what it decoded; any error must be a
 * typed MqttDecodeError; `buffered` never exceeds what was pushed since the last packet.
 */
function feed(rng: Rng, v: ProtocolVersion, bytes: Uint8Array): Packet[] {
  const d = new Decoder({ protocolVersion: v });
  const got: Packet[] = [];
  let pushed = 0;
  for (const c of chunks(rng, bytes)) {
    try {
      got.push(...d.push(c));
    } catch (err) {
      assert.ok(isTypedDecodeError(err), `Decoder threw ${String(err)} for ${toHex(bytes.subarray(0, 64))}`);
      return got;
    }
    pushed += c.length;
    assert.ok(d.buffered <= pushed, `buffered ${d.buffered} > pushed ${pushed}`);
  }
  return got;
}

/**
 * Decodes `bytes`: any error must be a typed MqttDecodeError, and whatever is accepted must
 * encode again and decode to the same packet (the encoder accepts all the decoder accepts).
 */
function decodeOrTypedError(bytes: Uint8Array, v: ProtocolVersion): void {
  let got: Packet;
  try {
    got = decode(bytes, { protocolVersion: v });
  } catch (err) {
    assert.ok(isTypedDecodeError(err), `decode threw ${String(err)} for ${toHex(bytes.subarray(0, 64))}`);
    return;
  }
  const again = encode(got, { protocolVersion: v });
  assert.deepEqual(
    plain(decode(again, { protocolVersion: v })),
    plain(got),
    `re-encoding ${toHex(bytes.subarray(0, 64))}`,
  );
}

describe(`random valid packets (CODEC_SEED=${SEED})`, () => {
  for (const v of VERSIONS) {
    for (const cmd of cmdsAt(v)) {
      seeded(`round-trips random ${cmd} packets at level ${v}, re-encoding to the same bytes`, (rng) => {
        for (let i = 0; i < N; i++) {
          const x = arbitraryPacket(rng, v, cmd);
          const bytes = encode(x, { protocolVersion: v });
          const y = decode(bytes, { protocolVersion: v });
          assert.deepEqual(plain(y), plain(x));
          assert.equal(toHex(encode(y, { protocolVersion: v })), toHex(bytes));
        }
      });
    }

    seeded(`decodes a stream of random packets at level ${v} split into random chunks`, (rng) => {
      for (let round = 0; round < Math.max(1, N / 10); round++) {
        const packets = Array.from({ length: rng.int(1, 40) }, () => randomPacket(rng, v));
        const encoded = packets.map((p) => encode(p, { protocolVersion: v }));
        const stream = concat(...encoded);
        const ends: number[] = [0];
        for (const e of encoded) ends.push(ends[ends.length - 1]! + e.length);

        const d = new Decoder({ protocolVersion: v });
        const got: Packet[] = [];
        let pushed = 0;
        for (const c of chunks(rng, stream)) {
          got.push(...d.push(c));
          pushed += c.length;
          // what is held is what was pushed past the last whole packet, less its fixed header
          const pending = pushed - ends[got.length]!;
          assert.ok(
            d.buffered <= pending && d.buffered >= pending - 5,
            `buffered ${d.buffered}, pending ${pending}`,
          );
        }
        assert.equal(d.buffered, 0);
        assert.deepEqual(plain(got), plain(packets));
      }
    });

    seeded(`waits for the rest of a random packet at level ${v}, holding only what was pushed`, (rng) => {
      for (let i = 0; i < N; i++) {
        const bytes = encode(randomPacket(rng, v), { protocolVersion: v });
        const cut = rng.int(0, bytes.length - 1);
        const d = new Decoder({ protocolVersion: v });
        assert.deepEqual(d.push(bytes.subarray(0, cut)), []);
        assert.ok(d.buffered <= cut);
        assert.equal(d.push(bytes.subarray(cut)).length, 1);
        assert.equal(d.buffered, 0);
      }
    });
  }
});

describe(`a Decoder that reads a CONNECT (CODEC_SEED=${SEED})`, () => {
  for (const v of VERSIONS) {
    seeded(`follows the protocol level of the CONNECT, here ${v}, whatever it was created with`, (rng) => {
      for (let round = 0; round < Math.max(1, N / 10); round++) {
        const connect = arbitraryPacket(rng, v, 'connect');
        const rest = Array.from({ length: rng.int(1, 10) }, () => randomPacket(rng, v)).filter(
          (p) => p.cmd !== 'connect',
        );
        const stream = concat(...[connect, ...rest].map((p) => encode(p, { protocolVersion: v })));
        const d = new Decoder({ protocolVersion: rng.pick(VERSIONS) });
        const got = chunks(rng, stream).flatMap((c) => d.push(c));
        assert.equal(d.protocolVersion, v);
        assert.deepEqual(plain(got), plain([connect, ...rest]));
      }
    });
  }
});

describe(`random and mutated bytes (CODEC_SEED=${SEED})`, () => {
  seeded('random byte strings are decoded or refused with an MqttDecodeError at every level', (rng) => {
    for (let i = 0; i < N * 20; i++) {
      const v = rng.pick(VERSIONS);
      let bytes = rng.bytes(rng.bool(0.9) ? rng.int(0, 40) : rng.int(0, 600));
      if (rng.bool(0.5) && bytes.length > 0) {
        // a plausible fixed header: any first byte, a Remaining Length that matches the rest
        bytes = packet(bytes[0]!, bytes.subarray(1));
      }
      decodeOrTypedError(bytes, v);
      feed(rng, v, bytes);
    }
  });

  seeded('mutated valid packets are decoded or refused with an MqttDecodeError', (rng) => {
    for (let i = 0; i < N * 20; i++) {
      const v = rng.pick(VERSIONS);
      const valid = encode(randomPacket(rng, v), { protocolVersion: v });
      const bytes = mutate(rng, valid);
      decodeOrTypedError(bytes, v);
      feed(rng, v, bytes);
      // the same mutation inside the body, with the Remaining Length fixed up
      const { first, body } = splitPacket(valid);
      decodeOrTypedError(packet(first, mutate(rng, body)), v);
    }
  });

  seeded('a Remaining Length larger than the data makes the Decoder wait, not fail', (rng) => {
    for (let i = 0; i < N * 5; i++) {
      const v = rng.pick(VERSIONS);
      const { first, body } = splitPacket(encode(randomPacket(rng, v), { protocolVersion: v }));
      const claimed = body.length + rng.int(1, rng.bool() ? 100 : 268_435_455 - body.length);
      const d = new Decoder({ protocolVersion: v });
      const header = packet(first, new Uint8Array(0)).subarray(0, 1);
      const rl = Uint8Array.from(vbi(claimed));
      assert.deepEqual(d.push(concat(header, rl, body)), []);
      assert.equal(d.buffered, body.length);
    }
  });
});

function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** One random mutation: bit flips, a truncation, an insertion, a deletion or an overwrite. */
function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = () => rng.int(0, Math.max(0, out.length - 1));
  switch (rng.int(0, 5)) {
    case 0: {
      for (let k = rng.int(1, 3); k > 0 && out.length > 0; k--) out[at()]! ^= 1 << rng.int(0, 7);
      return out;
    }
    case 1:
      return out.subarray(0, rng.int(0, out.length));
    case 2: {
      const i = at();
      return concat(out.subarray(0, i), rng.bytes(rng.int(1, 8)), out.subarray(i));
    }
    case 3: {
      const i = at();
      return concat(out.subarray(0, i), out.subarray(i + 1));
    }
    case 4: {
      if (out.length > 0) out[at()] = rng.pick([0x00, 0x7f, 0x80, 0xff, rng.int(0, 255)]);
      return out;
    }
    default: {
      const i = at();
      return concat(out, out.subarray(i)); // a repeated tail
    }
  }
}
