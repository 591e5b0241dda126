/**
 * The codec beside mqtt-packet, in one process: encode and streaming decode of the packets a
 * client sends and receives most, and the rate at which a 1 MiB PUBLISH arriving in 64 KiB
 * chunks is reassembled. Targets are those of issue 2 ("Benchmark").
 *
 *   npm run bench -- codec [--quick] [--check]
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import {
  generate,
  type IPublishPacket,
  type ISubscribePacket,
  type Packet as PeerPacket,
  parser,
} from 'mqtt-packet';
import {
  Decoder,
  encode,
  type PacketInput,
  type ProtocolVersion,
  type PublishPacketInput,
  type SubscribePacketInput,
} from '../generated/index.js';
import { check, compare, printTable, type Row, type Subject } from './harness.js';

const PACKETS_PER_STREAM = 1000;
const CHUNK = 64 * 1024;

const publishV4: PublishPacketInput & IPublishPacket = {
  cmd: 'publish',
  topic: 'sensors/room1/temperature',
  payload: Buffer.alloc(64, 0x61),
  qos: 0,
  dup: false,
  retain: false,
};

const publishV5: PublishPacketInput & IPublishPacket = {
  cmd: 'publish',
  topic: 'sensors/room1/temperature',
  payload: Buffer.alloc(64, 0x61),
  qos: 1,
  dup: false,
  retain: false,
  messageId: 4242,
  properties: {
    contentType: 'application/json',
    responseTopic: 'replies/room1/temperature',
    correlationData: Buffer.from('a1b2c3d4e5f60718'),
    userProperties: { origin: 'bench' },
  },
};

const subscribeV4: SubscribePacketInput & ISubscribePacket = {
  cmd: 'subscribe',
  messageId: 7,
  subscriptions: Array.from({ length: 10 }, (_, i) => ({
    topic:
      i % 3 === 0 ? `building/${i}/+/temperature` : i % 3 === 1 ? `alerts/floor${i}/#` : `device/${i}/status`,
    qos: (i % 3) as 0 | 1 | 2,
  })),
};

const bigPublish: PublishPacketInput & IPublishPacket = {
  cmd: 'publish',
  topic: 'bulk/firmware',
  payload: Buffer.alloc(1024 * 1024, 0x5a),
  qos: 0,
  dup: false,
  retain: false,
};

/** Cuts `stream` into views of `size` bytes, as a socket would deliver it. */
function chunked(stream: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
  return chunks;
}

/** Our bytes for `packet`, after checking that mqtt-packet writes exactly the same ones. */
function bytesOf(packet: PacketInput & PeerPacket, protocolVersion: ProtocolVersion): Buffer {
  const ours = Buffer.from(encode(packet, { protocolVersion }));
  assert.deepEqual(
    ours,
    generate(packet, { protocolVersion }),
    `${packet.cmd} v${protocolVersion} bytes differ`,
  );
  return ours;
}

function encodeSubjects(packet: PacketInput & PeerPacket, protocolVersion: ProtocolVersion): Subject[] {
  const opts = { protocolVersion };
  return [
    { name: 'mqttforge', unitsPerCall: 1, run: () => encode(packet, opts).length },
    { name: 'mqtt-packet', unitsPerCall: 1, run: () => generate(packet, opts).length },
  ];
}

/**
 * Streaming decoders fed `chunks` per call. Each side keeps one decoder, as a connection
 * would; the stream ends on a packet boundary, so every call starts from a clean state.
 * `unitsPerCall` is packets, or MB when `perMB` is given.
 */
function decodeSubjects(
  chunks: Buffer[],
  protocolVersion: ProtocolVersion,
  packets: number,
  perMB?: number,
): Subject[] {
  const ours = new Decoder({ protocolVersion });
  const theirs = parser({ protocolVersion });
  let seen = 0;
  theirs.on('packet', () => {
    seen++;
  });
  theirs.on('error', (err: Error) => {
    throw err;
  });
  const units = perMB ?? packets;
  const subjects: Subject[] = [
    {
      name: 'mqttforge',
      unitsPerCall: units,
      run: () => {
        let n = 0;
        for (const c of chunks) n += ours.push(c).length;
        return n;
      },
    },
    {
      name: 'mqtt-packet',
      unitsPerCall: units,
      run: () => {
        const before = seen;
        for (const c of chunks) theirs.parse(c);
        return seen - before;
      },
    },
  ];
  for (const s of subjects) assert.equal(s.run(), packets, `${s.name} decoded a wrong number of packets`);
  return subjects;
}

function streamOf(packet: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => packet));
}

const rows: Row[] = [];

function packetCase(
  label: string,
  packet: PacketInput & PeerPacket,
  v: ProtocolVersion,
  targets: { encode?: number; decode?: number },
): void {
  const bytes = bytesOf(packet, v);
  const [enc, encTheirs] = compare(encodeSubjects(packet, v));
  rows.push({
    case: `${label}: encode`,
    unit: 'ops/s',
    ours: enc!,
    theirs: encTheirs!,
    target: targets.encode,
  });
  const chunks = chunked(streamOf(bytes, PACKETS_PER_STREAM), CHUNK);
  const [dec, decTheirs] = compare(decodeSubjects(chunks, v, PACKETS_PER_STREAM));
  rows.push({
    case: `${label}: stream decode`,
    unit: 'ops/s',
    ours: dec!,
    theirs: decTheirs!,
    target: targets.decode,
  });
}

packetCase('3.1.1 PUBLISH QoS 0, 64 B payload', publishV4, 4, { encode: 2, decode: 2 });
packetCase('MQTT 5 PUBLISH QoS 1, 4 properties, 64 B', publishV5, 5, { encode: 3, decode: 4 });
packetCase('3.1.1 SUBSCRIBE, 10 topics', subscribeV4, 4, {});

{
  const stream = bytesOf(bigPublish, 4);
  const chunks = chunked(stream, CHUNK);
  const mb = stream.length / 1e6;
  const concat: Subject = {
    name: 'Buffer.concat',
    unitsPerCall: mb,
    run: () => Buffer.concat(chunks, stream.length).length,
  };
  const [ours, theirs, reference] = compare([...decodeSubjects(chunks, 4, 1, mb), concat]);
  const label = `1 MiB PUBLISH in ${chunks.length} chunks of 64 KiB`;
  rows.push({ case: `${label}: decode`, unit: 'MB/s', ours: ours!, theirs: theirs! });
  rows.push({ case: `${label}: decode vs copy`, unit: 'MB/s', ours: ours!, theirs: reference!, target: 0.5 });
}

const peerVersion = (createRequire(import.meta.url)('mqtt-packet/package.json') as { version: string })
  .version;
const cpu = cpus();
const ok = printTable(
  `codec: mqttforge vs mqtt-packet ${peerVersion} — Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim()}`,
  rows,
);
if (check && !ok) {
  console.error('bench/codec: a target was missed');
  process.exitCode = 1;
}
