import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  type FakeConnection,
  framePacket,
  hex,
  PacketType,
  packetType,
  startFakeBroker,
} from './fake-broker.js';
import { CONNACK_OK, CONNECT_V4, rawConnect } from './raw-client.js';

describe('hex and framePacket', () => {
  test('hex parses spaced hex digits and rejects anything else', () => {
    assert.deepEqual([...hex('20 02\n00 00')], [0x20, 0x02, 0x00, 0x00]);
    assert.throws(() => hex('2'));
    assert.throws(() => hex('zz'));
  });

  test('framePacket returns 0 until the whole packet is there', () => {
    assert.equal(framePacket(hex('')), 0);
    assert.equal(framePacket(hex('30')), 0);
    assert.equal(framePacket(hex('30 03 00 01')), 0);
    assert.equal(framePacket(hex('30 03 00 01 61')), 5);
    assert.equal(framePacket(hex('c0 00 d0 00')), 2);
  });

  test('framePacket reads a multi-byte remaining length', () => {
    const packet = new Uint8Array(3 + 200);
    packet.set([0x30, 0xc8, 0x01]); // 200 = 0xc8 0x01
    assert.equal(framePacket(packet), 203);
    assert.equal(framePacket(packet.subarray(0, 202)), 0);
  });

  test('framePacket rejects a remaining length of five bytes', () => {
    assert.throws(() => framePacket(hex('30 ff ff ff ff 01')), /malformed/);
  });
});

describe('fake broker', async () => {
  const seen: number[] = [];
  const broker = await startFakeBroker({
    onPacket(packet, connection) {
      seen.push(packetType(packet));
      if (packetType(packet) === PacketType.CONNECT) void connection.send(CONNACK_OK);
      if (packetType(packet) === PacketType.PUBLISH) connection.drop();
    },
  });
  after(() => broker.stop());

  test('answers a scripted CONNACK and hands the CONNECT to the test', async () => {
    const client = await rawConnect(broker.port);
    const connection = await broker.nextConnection();
    client.send(CONNECT_V4);
    assert.deepEqual(await connection.nextPacket(), hex(CONNECT_V4));
    assert.deepEqual(await client.nextPacket(), hex(CONNACK_OK));
    client.close();
    await connection.closed;
    assert.equal(connection.isClosed, true);
  });

  test('reassembles a packet split across chunks and keeps the raw chunks', async () => {
    const client = await rawConnect(broker.port);
    const connection = await broker.nextConnection();
    const bytes = hex(CONNECT_V4);
    client.send(bytes.subarray(0, 3));
    assert.deepEqual(await connection.nextChunk(), bytes.subarray(0, 3));
    client.send(bytes.subarray(3));
    assert.deepEqual(await connection.nextPacket(), bytes);
    assert.equal(connection.chunks.length, 2);
    client.close();
  });

  test('cuts two packets that arrive in one chunk', async () => {
    const client = await rawConnect(broker.port);
    const connection = await broker.nextConnection();
    client.send('c0 00 c0 00');
    assert.deepEqual(await connection.nextPacket(), hex('c0 00'));
    assert.deepEqual(await connection.nextPacket(), hex('c0 00'));
    client.close();
  });

  test('drops the connection at the chosen packet', async () => {
    const socket = connect({ host: '127.0.0.1', port: broker.port });
    const connection: FakeConnection = await broker.nextConnection();
    const closedWith = new Promise<string | undefined>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.on('close', () => resolve(undefined));
    });
    socket.write(hex('30 03 00 01 74'));
    assert.equal(await closedWith, 'ECONNRESET');
    await connection.closed;
    assert.ok(seen.includes(PacketType.PUBLISH));
  });

  test('rejects nextPacket when the connection closes, and times out when nothing comes', async () => {
    const client = await rawConnect(broker.port);
    const connection = await broker.nextConnection();
    await assert.rejects(connection.nextPacket(20), /no packet within 20 ms/);
    client.close();
    await assert.rejects(connection.nextPacket(), /connection closed/);
  });

  test('ends a connection gracefully', async () => {
    const client = await rawConnect(broker.port);
    const connection = await broker.nextConnection();
    const ended = new Promise((resolve) => client.socket.once('end', resolve));
    connection.end();
    await ended;
    client.close();
  });
});
