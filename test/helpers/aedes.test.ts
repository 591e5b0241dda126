import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { startAedes } from './aedes.js';
import { hex } from './fake-broker.js';
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

describe('aedes helper', () => {
  test('starts a broker that answers CONNECT with CONNACK', async () => {
    const aedes = await startAedes();
    try {
      assert.equal(aedes.url, `mqtt://127.0.0.1:${aedes.port}`);
      const client = await rawConnect(aedes.port);
      client.send(CONNECT_V4);
      assert.deepEqual(await client.nextPacket(), hex(CONNACK_OK));
      client.close();
    } finally {
      await aedes.stop();
    }
  });

  test('stop drops connected clients, frees the port and can be called twice', async () => {
    const aedes = await startAedes();
    const client = await rawConnect(aedes.port);
    client.send(CONNECT_V4);
    await client.nextPacket();
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    await aedes.stop();
    await closed;
    await aedes.stop();
    assert.equal(aedes.broker.closed, true);
    assert.equal(await connectError(aedes.port), 'ECONNREFUSED');
  });
});
