import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, type MqttClient } from '../../runtime/index.js';
import { openWs, wsClientOptions } from '../../runtime/transport/ws.js';
import { makeSelfSignedCert } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { lifecycle, recorder } from '../helpers/recorder.js';

interface Upgrade {
  socket: WebSocket;
  request: IncomingMessage;
}

async function wsServer(): Promise<{ server: WebSocketServer; port: number; next(): Promise<Upgrade> }> {
  const waiting: Array<(u: Upgrade) => void> = [];
  const ready: Upgrade[] = [];
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (set) => [...set][0] ?? false,
  });
  server.on('connection', (socket, request) => {
    const waiter = waiting.shift();
    if (waiter) waiter({ socket, request });
    else ready.push({ socket, request });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    next: () => {
      const upgrade = ready.shift();
      return upgrade ? Promise.resolve(upgrade) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function closeWsServer(server: WebSocketServer): Promise<void> {
  for (const client of server.clients) client.terminate();
  return new Promise((resolve) => server.close(() => resolve()));
}

function once<T extends unknown[]>(
  client: MqttClient,
  event: 'connect' | 'close' | 'reconnect' | 'error',
): Promise<T> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args as T)));
}

describe('ws transport (Node, ws package)', { timeout: 30_000 }, () => {
  let fake: Awaited<ReturnType<typeof wsServer>>;
  before(async () => {
    fake = await wsServer();
  });
  after(() => closeWsServer(fake.server));

  test('opens /mqtt with the mqtt subprotocol and sends binary frames', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket, request } = await fake.next();
    await rec.connected;
    assert.equal(request.url, '/mqtt');
    assert.equal(socket.protocol, 'mqtt');
    const frame = new Promise<[Buffer, boolean]>((resolve) =>
      socket.once('message', (data, isBinary) => resolve([data as Buffer, isBinary])),
    );
    connection.write(new Uint8Array([0xc0, 0x00]));
    const [data, isBinary] = await frame;
    assert.equal(isBinary, true);
    assert.deepEqual([...data], [0xc0, 0x00]);
    socket.send(Buffer.from([0xd0, 0x00]));
    assert.deepEqual([...(await rec.waitForBytes(2))], [0xd0, 0x00]);
    connection.end();
    await rec.closed;
    assert.deepEqual(lifecycle(rec.events), ['connect', 'data', 'close']);
  });

  test('asks for mqttv3.1 for MQTT 3.1, keeps the path and passes wsOptions headers', async () => {
    const rec = recorder();
    const connection = openWs(
      {
        protocol: 'ws',
        host: '127.0.0.1',
        port: fake.port,
        path: '/custom?x=1',
        protocolId: 'MQIsdp',
        protocolVersion: 3,
        wsOptions: { headers: { 'x-test': 'yes' } },
      },
      rec.handlers,
    );
    const { socket, request } = await fake.next();
    await rec.connected;
    assert.equal(request.url, '/custom?x=1');
    assert.equal(socket.protocol, 'mqttv3.1');
    assert.equal(request.headers['x-test'], 'yes');
    connection.destroy();
    await rec.closed;
  });

  test('sends corked writes as one WebSocket message', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket } = await fake.next();
    await rec.connected;
    const messages: Buffer[] = [];
    socket.on('message', (data) => messages.push(data as Buffer));
    connection.cork();
    connection.write(new Uint8Array([0x30, 0x03]));
    connection.write(new Uint8Array([0x00, 0x01, 0x61]));
    connection.uncork();
    connection.write(new Uint8Array([0xc0, 0x00]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      messages.map((m) => [...m]),
      [
        [0x30, 0x03, 0x00, 0x01, 0x61],
        [0xc0, 0x00],
      ],
    );
    connection.destroy();
    await rec.closed;
  });

  test('returns false when the socket buffer fills and reports drain when it empties', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket } = await fake.next();
    await rec.connected;
    // Stop reading on the server side so the client's socket buffer fills up.
    const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const chunk = new Uint8Array(256 * 1024);
    let writes = 0;
    while (connection.write(chunk)) {
      writes++;
      assert.ok(writes < 1000, 'write() never returned false');
    }
    assert.ok(!rec.events.includes('drain'));
    raw.resume();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (rec.events.includes('drain')) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    connection.destroy();
    await rec.closed;
  });

  test('passes ECONNREFUSED through as error, then close', async () => {
    const rec = recorder();
    openWs({ protocol: 'ws', host: '127.0.0.1', port: await freePort() }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  });

  test('reports a URL the ws constructor refuses as error, then close', async () => {
    const rec = recorder();
    openWs({ protocol: 'ws', host: 'bad host', port: 1 }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
  });

  test('reports a createWebsocket that returns no socket as error, then close', async () => {
    const rec = recorder();
    openWs(
      { protocol: 'ws', host: '127.0.0.1', port: 1, createWebsocket: () => null as never },
      rec.handlers,
    );
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.match(rec.errors[0]!.message, /createWebsocket returned no socket/);
  });

  test('pause() stops reading until resume(): meanwhile the peer’s writes back up', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket: peer } = await fake.next();
    await rec.connected;
    connection.pause!();
    // More than the kernel's socket buffers on both sides hold, so some must wait in the peer.
    const frames = 32;
    for (let i = 0; i < frames; i++) peer.send(Buffer.alloc(1024 * 1024, i));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(rec.received().length, 0, 'nothing delivered while paused');
    assert.ok(peer.bufferedAmount > 0, 'the client reads nothing: the peer cannot send it all');
    connection.resume!();
    const bytes = await rec.waitForBytes(frames * 1024 * 1024);
    for (let i = 0; i < frames; i++) assert.equal(bytes[i * 1024 * 1024], i, `frame ${i}`);
    connection.destroy();
    await rec.closed;
  });

  test('delivers nothing after destroy(), also what arrived while paused', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket: peer } = await fake.next();
    await rec.connected;
    connection.pause!();
    peer.send(Buffer.from([1]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    connection.destroy();
    await rec.closed;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(rec.events, ['connect', 'close']);
  });

  test('reports no drain after destroy() while a write waited for one', async () => {
    const rec = recorder();
    const connection = openWs({ protocol: 'ws', host: '127.0.0.1', port: fake.port }, rec.handlers);
    const { socket: peer } = await fake.next();
    await rec.connected;
    (peer as unknown as { _socket: { pause(): void } })._socket.pause(); // the peer stops reading
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; i < 64 && connection.write(chunk); i++);
    connection.destroy();
    await rec.closed;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(rec.events, ['connect', 'close']);
  });

  test('hands Buffers (views) from a createWebsocket socket that gives ArrayBuffers', async () => {
    const rec = recorder();
    const chunks: Uint8Array[] = [];
    const handlers = {
      ...rec.handlers,
      data: (chunk: Uint8Array) => {
        chunks.push(chunk);
        return rec.handlers.data(chunk);
      },
    };
    openWs(
      {
        protocol: 'ws',
        host: '127.0.0.1',
        port: fake.port,
        // A WHATWG-like socket: ws underneath, binaryType left to the adapter ('arraybuffer').
        createWebsocket: (url, protocols) => {
          const inner = new WebSocket(url, protocols);
          const like = {
            get readyState() {
              return inner.readyState;
            },
            get bufferedAmount() {
              return inner.bufferedAmount;
            },
            binaryType: 'arraybuffer',
            onopen: null as null | (() => void),
            onmessage: null as null | ((e: { data: unknown }) => void),
            onerror: null as null | ((e: unknown) => void),
            onclose: null as null | ((e: unknown) => void),
            send: (data: Uint8Array) => inner.send(data),
            close: (code?: number) => inner.close(code),
          };
          inner.binaryType = 'arraybuffer';
          inner.onopen = () => like.onopen?.();
          inner.onmessage = (e) => like.onmessage?.({ data: e.data });
          inner.onerror = (e) => like.onerror?.(e);
          inner.onclose = (e) => like.onclose?.(e);
          return like as never;
        },
      },
      handlers,
    );
    const { socket: peer } = await fake.next();
    await rec.connected;
    peer.send(Buffer.from([1, 2, 3]));
    await rec.waitForBytes(3);
    assert.ok(Buffer.isBuffer(chunks[0]), 'a Buffer');
    peer.close();
    await rec.closed;
  });

  test('gives the TLS options to ws for wss, wsOptions winning', () => {
    const options = wsClientOptions({
      protocol: 'wss',
      host: 'example.com',
      port: 443,
      tls: { ca: 'CA', rejectUnauthorized: false },
      wsOptions: { rejectUnauthorized: true, headers: { a: 'b' } },
    });
    assert.equal(options.ca, 'CA');
    assert.equal(options.rejectUnauthorized, true);
    assert.deepEqual(options.headers, { a: 'b' });
    assert.equal((options as { host?: string }).host, undefined);
    assert.equal(wsClientOptions({ protocol: 'ws', host: 'h', port: 1, tls: { ca: 'CA' } }).ca, undefined);
  });
});

describe('MqttClient over ws:// to Mosquitto', { timeout: 30_000 }, () => {
  let broker: Mosquitto;
  const clients: MqttClient[] = [];
  before(async () => {
    broker = await startMosquitto({ websockets: true });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await broker.stop();
  });

  test('subscribes, publishes at QoS 0, 1 and 2 and receives each', async () => {
    for (const protocolVersion of [3, 4, 5] as const) {
      const client = connect(`ws://127.0.0.1:${broker.wsPort}`, { protocolVersion, reconnectPeriod: 0 });
      clients.push(client);
      await once(client, 'connect');
      await client.subscribeAsync(`ws/${protocolVersion}/#`, { qos: 2 });
      const received: string[] = [];
      const all = new Promise<void>((resolve) =>
        client.on('message', (topic, payload) => {
          received.push(`${topic}=${new TextDecoder().decode(payload)}`);
          if (received.length === 3) resolve();
        }),
      );
      for (const qos of [0, 1, 2] as const)
        await client.publishAsync(`ws/${protocolVersion}/${qos}`, `q${qos}`, { qos });
      await all;
      assert.deepEqual(
        received.sort(),
        [0, 1, 2].map((q) => `ws/${protocolVersion}/${q}=q${q}`),
      );
      await client.endAsync();
    }
  });

  test('calls transformWsUrl with the URL, the options and the client before each attempt', async () => {
    const calls: Array<[string, unknown, unknown]> = [];
    const client = connect({
      protocol: 'ws',
      host: '127.0.0.1',
      port: broker.wsPort,
      reconnectPeriod: 0,
      transformWsUrl: (url, options, c) => {
        calls.push([url, options, c]);
        return `${url}?signed=1`;
      },
    });
    clients.push(client);
    await once(client, 'connect');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.[0], `ws://127.0.0.1:${broker.wsPort}/mqtt`);
    assert.equal(calls[0]?.[1], client.options);
    assert.equal(calls[0]?.[2], client);
    await client.endAsync();
  });

  test('uses the socket createWebsocket returns', async () => {
    const made: Array<[string, string[]]> = [];
    const client = connect(`ws://127.0.0.1:${broker.wsPort}/mqtt`, {
      reconnectPeriod: 0,
      createWebsocket: (url, protocols) => {
        made.push([url, protocols]);
        return new WebSocket(url, protocols);
      },
    });
    clients.push(client);
    await once(client, 'connect');
    assert.deepEqual(made, [[`ws://127.0.0.1:${broker.wsPort}/mqtt`, ['mqtt']]]);
    await client.endAsync();
  });

  test('reconnects and resubscribes after the broker restarts', async () => {
    const client = connect(`ws://127.0.0.1:${broker.wsPort}`, { reconnectPeriod: 100 });
    clients.push(client);
    await once(client, 'connect');
    await client.subscribeAsync('ws/restart', { qos: 1 });
    // Listen before restarting: the client may be back before restart() returns.
    const reconnected = new Promise((resolve) => client.once('close', () => client.once('connect', resolve)));
    await broker.restart();
    await reconnected;
    const message = new Promise<string>((resolve) =>
      client.once('message', (_t, payload) => resolve(new TextDecoder().decode(payload))),
    );
    // Give the resubscription a moment to reach the broker before publishing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.publishAsync('ws/restart', 'back', { qos: 1 });
    assert.equal(await message, 'back');
    await client.endAsync();
  });
});

describe('MqttClient over wss:// to Mosquitto', { timeout: 30_000 }, () => {
  let broker: Mosquitto;
  let wssPort: number;
  let ca: string;
  let dir: string;
  before(async () => {
    const cert = makeSelfSignedCert();
    ca = cert.cert;
    dir = mkdtempSync(join(tmpdir(), 'mqttforge-wss-'));
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    writeFileSync(join(dir, 'key.pem'), cert.key);
    cert.cleanup();
    wssPort = await freePort();
    broker = await startMosquitto({
      extraConfig: [
        `listener ${wssPort} 127.0.0.1`,
        'protocol websockets',
        `certfile ${join(dir, 'cert.pem')}`,
        `keyfile ${join(dir, 'key.pem')}`,
      ].join('\n'),
    });
  });
  after(async () => {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('connects with the throwaway CA and exchanges a QoS 1 message', async () => {
    const client = connect(`wss://localhost:${wssPort}`, { ca, reconnectPeriod: 0 });
    await once(client, 'connect');
    await client.subscribeAsync('wss/t', { qos: 1 });
    const message = new Promise<string>((resolve) =>
      client.once('message', (_t, payload) => resolve(new TextDecoder().decode(payload))),
    );
    await client.publishAsync('wss/t', 'secure', { qos: 1 });
    assert.equal(await message, 'secure');
    await client.endAsync();
  });

  test('refuses the self-signed certificate without the CA, with the TLS error code', async () => {
    const client = connect(`wss://localhost:${wssPort}`, { reconnectPeriod: 0 });
    const [error] = await once<[NodeJS.ErrnoException]>(client, 'error');
    assert.equal(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    await client.endAsync(true);
  });
});
