import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connectAsync, isMqttError } from '../../runtime/index.js';

describe('connectAsync with an AbortSignal', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  before(async () => {
    // Accepts the TCP connection and never answers CONNECT: the client waits for CONNACK.
    server = createServer((socket) => {
      socket.resume(); // read (and drop) what arrives, so that the client's FIN is seen
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('rejects with MQTT_ERR_ABORTED and closes the connection when the signal fires', async () => {
    const controller = new AbortController();
    const pending = connectAsync(`mqtt://127.0.0.1:${port}`, {
      signal: controller.signal,
      reconnectPeriod: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort(new Error('user gave up'));
    await assert.rejects(pending, (e: unknown) => isMqttError(e) && e.code === 'MQTT_ERR_ABORTED');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sockets.size, 0);
  });

  test('rejects at once for an already-aborted signal, opening no connection', async () => {
    const before = sockets.size;
    await assert.rejects(
      connectAsync({ host: '127.0.0.1', port, signal: AbortSignal.abort() }),
      (e: unknown) => isMqttError(e) && e.code === 'MQTT_ERR_ABORTED',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sockets.size, before);
  });
});
