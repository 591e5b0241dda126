import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { hex } from './fake-broker.js';
import { isMosquittoAvailable, startMosquitto } from './mosquitto.js';
import { CONNACK_OK, CONNECT_V4, rawConnect } from './raw-client.js';

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

async function handshake(port: number): Promise<void> {
  const client = await rawConnect(port);
  client.send(CONNECT_V4);
  assert.deepEqual(await client.nextPacket(), hex(CONNACK_OK));
  client.close();
}

describe('mosquitto helper', { skip: !isMosquittoAvailable() && 'mosquitto is not installed' }, () => {
  test('starts a broker on a free port that answers CONNECT, and stop removes its directory', async () => {
    const broker = await startMosquitto();
    try {
      assert.notEqual(broker.port, 1883);
      assert.equal(broker.url, `mqtt://127.0.0.1:${broker.port}`);
      assert.equal(broker.wsPort, undefined);
      await handshake(broker.port);
      assert.match(broker.logTail(), /mosquitto version .* running/);
    } finally {
      await broker.stop();
    }
    assert.equal(existsSync(broker.dir), false);
    assert.equal(await connectError(broker.port), 'ECONNREFUSED');
    await broker.stop();
  });

  test('listens for MQTT over WebSocket on a second port', async () => {
    const broker = await startMosquitto({ websockets: true });
    try {
      assert.ok(broker.wsPort);
      assert.equal(broker.wsUrl, `ws://127.0.0.1:${broker.wsPort}`);
      const socket = new WebSocket(broker.wsUrl as string, 'mqtt');
      const reply = await new Promise<Buffer>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('open', () => socket.send(hex(CONNECT_V4)));
        socket.once('message', (data: Buffer) => resolve(data));
      });
      assert.deepEqual(new Uint8Array(reply), hex(CONNACK_OK));
      socket.close();
    } finally {
      await broker.stop();
    }
  });

  test('kill9 stops the broker at once and restart brings it back on the same port', async () => {
    const broker = await startMosquitto();
    try {
      await broker.kill9();
      assert.equal(await connectError(broker.port), 'ECONNREFUSED');
      await broker.restart();
      await handshake(broker.port);
    } finally {
      await broker.stop();
    }
  });

  test('keeps a retained message across restart when persistence is on', async () => {
    const broker = await startMosquitto({ persistence: true });
    try {
      const publisher = await rawConnect(broker.port);
      publisher.send(CONNECT_V4);
      await publisher.nextPacket();
      publisher.send('31 04 0001 74 61'); // PUBLISH retain, topic "t", payload "a"
      publisher.send('e0 00'); // DISCONNECT
      await new Promise((resolve) => publisher.socket.once('close', resolve));
      await broker.restart();
      const subscriber = await rawConnect(broker.port);
      subscriber.send(CONNECT_V4);
      await subscriber.nextPacket();
      subscriber.send('82 06 0001 0001 74 00'); // SUBSCRIBE id 1, "t" QoS 0
      assert.deepEqual(await subscriber.nextPacket(), hex('90 03 0001 00'));
      assert.deepEqual(await subscriber.nextPacket(), hex('31 04 0001 74 61'));
      subscriber.close();
    } finally {
      await broker.stop();
    }
  });

  test('fails fast with the log when the config is bad', async () => {
    await assert.rejects(startMosquitto({ extraConfig: 'no_such_option 1' }), (error: Error) => {
      assert.match(error.message, /exited with code/);
      assert.match(error.message, /no_such_option/);
      return true;
    });
  });
});
