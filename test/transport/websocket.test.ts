import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HIGH_WATER_MARK,
  messageBytes,
  WebSocketConnection,
  type WebSocketLike,
} from '../../runtime/transport/websocket.js';
import { subprotocolFor, webSocketUrl } from '../../runtime/transport/websocket-url.js';
import { lifecycle, recorder } from '../helpers/recorder.js';

/** A WHATWG-like socket the test drives by hand. */
class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  frames: Uint8Array[] = [];
  closeCalls: number[] = [];

  send(data: Uint8Array): void {
    this.frames.push(Uint8Array.from(data));
  }
  close(code?: number): void {
    this.closeCalls.push(code ?? 1005);
    if (this.readyState === 0) {
      // A socket closed while connecting fails the handshake: error, then close.
      this.readyState = 3;
      queueMicrotask(() => {
        this.onerror?.({});
        this.onclose?.({ code: 1006 });
      });
      return;
    }
    this.readyState = 2;
    queueMicrotask(() => this.serverClosed());
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  serverClosed(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1000 });
  }
}

function open(socket = new FakeSocket()) {
  const rec = recorder();
  const connection = new WebSocketConnection(rec.handlers, socket, {
    reportsSent: false,
    send: (chunk) => socket.send(chunk),
    errorOf: () => new Error('fake error'),
  });
  return { socket, rec, connection };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('WebSocket URL and subprotocol', () => {
  const base = { protocol: 'ws', host: 'broker.example', port: 9001 };

  test('uses the path /mqtt when none is given', () => {
    assert.equal(webSocketUrl(base), 'ws://broker.example:9001/mqtt');
  });

  test('keeps a given path and its query', () => {
    assert.equal(
      webSocketUrl({ ...base, path: '/ws?token=a%20b' }),
      'ws://broker.example:9001/ws?token=a%20b',
    );
    assert.equal(webSocketUrl({ ...base, path: 'mqtt' }), 'ws://broker.example:9001/mqtt');
  });

  test('uses wss for wss, wxs and alis', () => {
    for (const protocol of ['wss', 'wxs', 'alis']) {
      assert.equal(webSocketUrl({ ...base, protocol, port: 8084 }), 'wss://broker.example:8084/mqtt');
    }
    for (const protocol of ['ws', 'wx', 'ali']) {
      assert.match(webSocketUrl({ ...base, protocol }), /^ws:\/\//);
    }
  });

  test('brackets an IPv6 host', () => {
    assert.equal(webSocketUrl({ ...base, host: '::1' }), 'ws://[::1]:9001/mqtt');
  });

  test('leaves out the default port only when asked (mini-programs)', () => {
    assert.equal(webSocketUrl({ ...base, port: 80 }), 'ws://broker.example:80/mqtt');
    assert.equal(webSocketUrl({ ...base, port: 80 }, true), 'ws://broker.example/mqtt');
    assert.equal(webSocketUrl({ ...base, protocol: 'wxs', port: 443 }, true), 'wss://broker.example/mqtt');
    assert.equal(webSocketUrl({ ...base, port: 8083 }, true), 'ws://broker.example:8083/mqtt');
  });

  test('passes the URL through transformWsUrl', () => {
    const url = webSocketUrl({ ...base, transformWsUrl: (u) => `${u}?signed=1` });
    assert.equal(url, 'ws://broker.example:9001/mqtt?signed=1');
  });

  test('chooses mqttv3.1 for MQTT 3.1 and mqtt otherwise', () => {
    assert.equal(subprotocolFor({ protocolId: 'MQIsdp', protocolVersion: 3 }), 'mqttv3.1');
    assert.equal(subprotocolFor({ protocolId: 'MQTT', protocolVersion: 4 }), 'mqtt');
    assert.equal(subprotocolFor({ protocolId: 'MQTT', protocolVersion: 5 }), 'mqtt');
    assert.equal(subprotocolFor({}), 'mqtt');
  });
});

describe('messageBytes', () => {
  test('reads ArrayBuffer, Uint8Array, other views and Buffer fragments', () => {
    assert.deepEqual([...(messageBytes(new Uint8Array([1, 2]).buffer) ?? [])], [1, 2]);
    assert.deepEqual([...(messageBytes(Buffer.from([3])) ?? [])], [3]);
    assert.deepEqual([...(messageBytes(new DataView(new Uint8Array([9, 4, 5]).buffer, 1)) ?? [])], [4, 5]);
    assert.deepEqual([...(messageBytes([Buffer.from([6]), Buffer.from([7, 8])]) ?? [])], [6, 7, 8]);
  });

  test('refuses text', () => {
    assert.equal(messageBytes('hello'), undefined);
  });
});

describe('WebSocketConnection', () => {
  test('asks for binary frames as ArrayBuffer', () => {
    const { socket } = open();
    assert.equal(socket.binaryType, 'arraybuffer');
  });

  test('reports connect on open and data for each binary message', async () => {
    const { socket, rec, connection } = open();
    assert.equal(connection.writable, false);
    socket.open();
    assert.equal(connection.writable, true);
    socket.onmessage?.({ data: new Uint8Array([0x20, 0x02, 0, 0]).buffer });
    assert.deepEqual([...rec.received()], [0x20, 0x02, 0, 0]);
    socket.serverClosed();
    await rec.closed;
    assert.deepEqual(lifecycle(rec.events), ['connect', 'data', 'close']);
  });

  test('sends the writes between cork and uncork as one frame', () => {
    const { socket, connection } = open();
    socket.open();
    connection.cork();
    connection.write(new Uint8Array([0x30, 0x03]));
    connection.write(new Uint8Array([0x00, 0x01, 0x61]));
    assert.equal(socket.frames.length, 0);
    connection.uncork();
    assert.deepEqual(
      socket.frames.map((f) => [...f]),
      [[0x30, 0x03, 0x00, 0x01, 0x61]],
    );
    connection.write(new Uint8Array([0xc0, 0x00]));
    assert.equal(socket.frames.length, 2);
  });

  test('nested corks flush at the outermost uncork', () => {
    const { socket, connection } = open();
    socket.open();
    connection.cork();
    connection.cork();
    connection.write(new Uint8Array([1]));
    connection.uncork();
    assert.equal(socket.frames.length, 0);
    connection.write(new Uint8Array([2]));
    connection.uncork();
    assert.deepEqual(
      socket.frames.map((f) => [...f]),
      [[1, 2]],
    );
  });

  test('returns false above the high-water mark and reports drain once the buffer empties', async () => {
    const { socket, rec, connection } = open();
    socket.open();
    socket.bufferedAmount = HIGH_WATER_MARK + 1;
    assert.equal(connection.write(new Uint8Array(10)), false);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.ok(!rec.events.includes('drain'));
    socket.bufferedAmount = 0;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(
      rec.events.filter((e) => e === 'drain'),
      ['drain'],
    );
  });

  test('reports a text frame as MQTT_ERR_WEBSOCKET and closes', async () => {
    const { socket, rec } = open();
    socket.open();
    socket.onmessage?.({ data: 'not mqtt' });
    await rec.closed;
    assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_WEBSOCKET');
    assert.deepEqual(lifecycle(rec.events), ['connect', 'error', 'close']);
  });

  test('end() flushes corked writes, then closes with 1000', async () => {
    const { socket, rec, connection } = open();
    socket.open();
    connection.cork();
    connection.write(new Uint8Array([0xe0, 0x00]));
    connection.end();
    assert.equal(connection.writable, false);
    assert.deepEqual(
      socket.frames.map((f) => [...f]),
      [[0xe0, 0x00]],
    );
    assert.deepEqual(socket.closeCalls, [1000]);
    await rec.closed;
    assert.deepEqual(lifecycle(rec.events), ['connect', 'close']);
  });

  test('destroy() while connecting reports close without the abort error', async () => {
    const { rec, connection } = open();
    connection.destroy();
    await rec.closed;
    await flush();
    assert.deepEqual(rec.events, ['close']);
  });

  test('end() while connecting closes at once, as TCP does, and reports only close', async () => {
    const { socket, rec, connection } = open();
    connection.end();
    // Closed now, not after the upgrade (which may never come: only connectTimeout would end it).
    assert.deepEqual(socket.closeCalls, [1000]);
    await rec.closed;
    socket.open(); // a late open from the platform changes nothing
    await flush();
    assert.deepEqual(rec.events, ['close']);
  });

  test('a socket attached after destroy() is closed at once', async () => {
    const rec = recorder();
    const connection = new WebSocketConnection(rec.handlers);
    connection.destroy();
    const socket = new FakeSocket();
    connection.attach(socket, { reportsSent: false, send: () => {}, errorOf: () => new Error('x') });
    await rec.closed;
    assert.deepEqual(socket.closeCalls, [1000]);
    assert.deepEqual(rec.events, ['close']);
  });

  test('failToOpen reports error then close', async () => {
    const rec = recorder();
    new WebSocketConnection(rec.handlers).failToOpen(new Error('no ws'));
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
  });

  test('reports error at most once and nothing after close', async () => {
    const { socket, rec } = open();
    socket.open();
    socket.onerror?.({});
    socket.onerror?.({});
    socket.serverClosed();
    socket.onclose?.({});
    socket.onmessage?.({ data: new Uint8Array([1]).buffer });
    await flush();
    assert.deepEqual(rec.events, ['connect', 'error', 'close']);
  });
});
