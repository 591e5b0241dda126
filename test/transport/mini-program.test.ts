import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { connect, type MqttClient } from '../../runtime/index.js';
import { openAli } from '../../runtime/transport/ali.js';
import { openBrowserWs } from '../../runtime/transport/browser-ws.js';
import { transports } from '../../runtime/transport/registry.js';
import { fromBase64, toBase64 } from '../../runtime/transport/socket-task.js';
import { openWx } from '../../runtime/transport/wx.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fakeMy, fakeWx } from '../helpers/mini-program.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { recorder } from '../helpers/recorder.js';

const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

function once<T extends unknown[]>(client: MqttClient, event: 'connect' | 'close' | 'error'): Promise<T> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Subscribes to `prefix/#`, publishes at QoS 0, 1 and 2 and returns what came back. */
async function roundTrip(client: MqttClient, prefix: string): Promise<string[]> {
  await client.subscribeAsync(`${prefix}/#`, { qos: 2 });
  const received: string[] = [];
  const all = new Promise<void>((resolve) =>
    client.on('message', (topic, payload) => {
      received.push(`${topic}=${text(payload)}`);
      if (received.length === 3) resolve();
    }),
  );
  for (const qos of [0, 1, 2] as const) await client.publishAsync(`${prefix}/${qos}`, `q${qos}`, { qos });
  await all;
  return received.sort();
}

const expected = (prefix: string) => [0, 1, 2].map((q) => `${prefix}/${q}=q${q}`);

describe('base64 for Alipay frames', () => {
  test('round-trips every length and byte value as Buffer does', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 97 + length * 13) & 0xff);
      const encoded = toBase64(bytes);
      assert.equal(encoded, Buffer.from(bytes).toString('base64'));
      assert.deepEqual([...fromBase64(encoded)], [...bytes]);
    }
    assert.deepEqual([...fromBase64(Buffer.from([0, 255, 128]).toString('base64'))], [0, 255, 128]);
  });
});

describe('SocketTask frames', () => {
  test('sends only the bytes of a Buffer that is a view into a shared pool', async () => {
    const sent: unknown[] = [];
    const listeners: Record<string, (result?: unknown) => void> = {};
    const task = {
      send: (options: { data: unknown; success?: () => void }) => {
        sent.push(options.data);
        options.success?.();
      },
      close: () => listeners.close?.({ code: 1000 }),
      onOpen: (l: () => void) => (listeners.open = l),
      onMessage: (l: () => void) => (listeners.message = l),
      onError: (l: () => void) => (listeners.error = l),
      onClose: (l: () => void) => (listeners.close = l),
    };
    const rec = recorder();
    const connection = openWx(
      { protocol: 'wx', host: 'h', port: 1, createWebsocket: () => task },
      rec.handlers,
    );
    listeners.open?.();
    await rec.connected;
    const pooled = Buffer.from([0xc0, 0x00]); // small Buffers share an 8 KB pool
    assert.notEqual(pooled.buffer.byteLength, 2);
    connection.write(pooled);
    assert.ok(sent[0] instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(sent[0] as ArrayBuffer)], [0xc0, 0x00]);
    connection.destroy();
    await rec.closed;
  });
});

type TaskEvent = 'open' | 'message' | 'error' | 'close';
type TaskListener = (result?: unknown) => void;

/**
 * A SocketTask whose platform calls back when the test says, synchronously if need be: `onListen`
 * runs as each listener is added (a platform that reports what already happened to a late
 * listener), `onSend` inside `send()`, `onClose` inside `close()`.
 */
function scriptedTask(script: {
  onListen?: (event: TaskEvent, emit: (event: TaskEvent, result?: unknown) => void) => void;
  onSend?: (
    options: { data: unknown; isBuffer?: boolean; success?(): void; fail?(error: unknown): void },
    emit: (event: TaskEvent, result?: unknown) => void,
  ) => void;
  onClose?: (emit: (event: TaskEvent, result?: unknown) => void) => void;
}) {
  const listeners: Record<TaskEvent, TaskListener[]> = { open: [], message: [], error: [], close: [] };
  const emit = (event: TaskEvent, result?: unknown) => {
    for (const listener of [...listeners[event]]) listener(result);
  };
  const listen = (event: TaskEvent) => (listener: TaskListener) => {
    listeners[event].push(listener);
    script.onListen?.(event, emit);
  };
  const calls = { close: 0 };
  return {
    calls,
    emit,
    task: {
      send: (options: { data: unknown; isBuffer?: boolean; success?(): void; fail?(e: unknown): void }) =>
        script.onSend?.(options, emit),
      close: () => {
        calls.close++;
        script.onClose?.(emit);
      },
      onOpen: listen('open'),
      onMessage: listen('message'),
      onError: listen('error'),
      onClose: listen('close'),
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SocketTask platforms that call back at the wrong time', () => {
  for (const [name, open] of [
    ['wx', openWx],
    ['ali', openAli],
  ] as const) {
    test(`${name}: reports what a synchronous platform calls back only after the call it came from`, async () => {
      const { task } = scriptedTask({
        // Already open: the platform tells the listener as it is added.
        onListen: (event, emit) => event === 'open' && emit('open', {}),
        // Sends at once and the peer answers at once: the frame comes back inside send().
        onSend: (options, emit) => {
          options.success?.();
          emit('message', { data: options.data, isBuffer: options.isBuffer });
        },
        onClose: (emit) => emit('close', { code: 1000 }),
      });
      const rec = recorder();
      const connection = open(
        { protocol: name, host: 'h', port: 1, createWebsocket: () => task },
        rec.handlers,
      );
      assert.deepEqual(rec.events, [], 'nothing from inside open()');
      await tick();
      assert.deepEqual(rec.events, ['connect']);
      assert.equal(connection.write(Uint8Array.from([0xd0, 0x00])), true);
      assert.deepEqual(rec.events, ['connect'], 'nothing from inside write()');
      await tick();
      assert.deepEqual([...rec.received()], [0xd0, 0x00]);
      connection.end();
      assert.deepEqual(rec.events, ['connect', 'data'], 'nothing from inside end()');
      await rec.closed;
      await tick();
      assert.deepEqual(rec.events, ['connect', 'data', 'close']);
    });

    test(`${name}: reports a platform that fails at once as error then close, after open() returns`, async () => {
      const { task } = scriptedTask({
        onListen: (event, emit) => {
          if (event === 'error') emit('error', { errMsg: 'connectSocket:fail refused' });
          if (event === 'close') emit('close', { code: 1006 });
        },
      });
      const rec = recorder();
      open({ protocol: name, host: 'h', port: 1, createWebsocket: () => task }, rec.handlers);
      assert.deepEqual(rec.events, []);
      await rec.closed;
      await tick();
      assert.deepEqual(rec.events, ['error', 'close']);
      assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_WEBSOCKET');
    });

    test(`${name}: reports a send that fails synchronously after write() returns, and closes once`, async () => {
      const { task, calls } = scriptedTask({
        onListen: (event, emit) => event === 'open' && setImmediate(() => emit('open', {})),
        onSend: (options) => options.fail?.({ errMsg: 'sendSocketMessage:fail' }),
        onClose: (emit) => emit('close', { code: 1000 }),
      });
      const rec = recorder();
      const connection = open(
        { protocol: name, host: 'h', port: 1, createWebsocket: () => task },
        rec.handlers,
      );
      await rec.connected;
      connection.write(Uint8Array.from([0xc0, 0x00]));
      assert.deepEqual(rec.events, ['connect'], 'nothing from inside write()');
      await rec.closed;
      connection.destroy();
      await tick();
      assert.deepEqual(rec.events, ['connect', 'error', 'close']);
      assert.equal(calls.close, 1);
    });

    test(`${name}: reports nothing but one close after destroy(), whatever the platform calls back`, async () => {
      const { task, calls } = scriptedTask({
        onListen: (event, emit) => event === 'open' && setImmediate(() => emit('open', {})),
        // Late callbacks: what was on its way, an error, a second open and two closes.
        onClose: (emit) =>
          setImmediate(() => {
            emit('message', { data: new Uint8Array([0xd0, 0x00]).buffer });
            emit('error', { errMsg: 'late' });
            emit('open', {});
            emit('close', { code: 1000 });
            emit('message', { data: new Uint8Array([0xd0, 0x00]).buffer });
            emit('close', { code: 1000 });
          }),
      });
      const rec = recorder();
      const connection = open(
        { protocol: name, host: 'h', port: 1, createWebsocket: () => task },
        rec.handlers,
      );
      await rec.connected;
      connection.destroy();
      connection.destroy();
      connection.end();
      await rec.closed;
      await tick();
      await tick();
      assert.deepEqual(rec.events, ['connect', 'close']);
      assert.equal(calls.close, 1);
    });
  }
});

describe('SocketTask platforms that never report the close', () => {
  for (const [name, open] of [
    ['wx', openWx],
    ['ali', openAli],
  ] as const) {
    /** Opens a connection on a task whose platform never calls `onClose`, on a fake clock. */
    function silent(t: TestContext, script: Parameters<typeof scriptedTask>[0] = {}) {
      const clock = new FakeClock();
      t.after(clock.install());
      const scripted = scriptedTask(script);
      const rec = recorder();
      const connection = open(
        { protocol: name, host: 'h', port: 1, createWebsocket: () => scripted.task },
        rec.handlers,
      );
      return { ...scripted, clock, rec, connection };
    }

    test(`${name}: reports the close of an open connection 2 s after end(), and ignores the platform's late close`, async (t) => {
      const { emit, calls, clock, rec, connection } = silent(t);
      emit('open', {});
      await rec.connected;
      connection.end();
      clock.tick(1999);
      await tick();
      assert.deepEqual(rec.events, ['connect'], 'not before the bound');
      clock.tick(1);
      await tick();
      assert.deepEqual(rec.events, ['connect', 'close']);
      emit('close', { code: 1000 });
      emit('error', { errMsg: 'late' });
      await tick();
      assert.deepEqual(rec.events, ['connect', 'close']);
      assert.equal(calls.close, 1);
    });

    test(`${name}: reports the close of a socket that never opened 2 s after destroy()`, async (t) => {
      const { emit, calls, clock, rec, connection } = silent(t);
      connection.destroy();
      assert.equal(calls.close, 1);
      clock.tick(2000);
      await tick();
      assert.deepEqual(rec.events, ['close']);
      emit('open', {});
      emit('close', { code: 1006 });
      await tick();
      assert.deepEqual(rec.events, ['close']);
    });

    test(`${name}: closes the socket after an error the platform does not follow with a close`, async (t) => {
      const { emit, calls, clock, rec } = silent(t);
      emit('error', { errMsg: 'connectSocket:fail timeout' });
      await tick();
      assert.deepEqual(rec.events, ['error']);
      assert.equal(calls.close, 1, 'the task is closed, freeing it on the platform');
      clock.tick(2000);
      await tick();
      assert.deepEqual(rec.events, ['error', 'close']);
    });
  }
});

describe('connectSocket failures reported only through fail', () => {
  const globals = globalThis as { wx?: unknown };
  after(() => {
    delete globals.wx;
  });

  /**
   * A platform whose connectSocket fails with `result` through its `fail` callback, at once or
   * later, and returns a task that reports nothing, or onError and onClose too (`alsoReports`).
   */
  function failing(
    result: unknown,
    when: { sync?: boolean; alsoReports?: 'after' | 'before'; noTask?: boolean } = {},
  ) {
    const scripted = scriptedTask({});
    const connectSocket = (options: { fail?(result: unknown): void }) => {
      const reports = () => {
        scripted.emit('error', result);
        scripted.emit('close', { code: 1006 });
      };
      const fail = () => {
        if (when.alsoReports === 'before') reports();
        options.fail?.(result);
        if (when.alsoReports === 'after') reports();
      };
      if (when.sync) fail();
      else setImmediate(fail);
      return when.noTask ? undefined : scripted.task;
    };
    return { ...scripted, connectSocket };
  }

  const wxFail = { errMsg: 'connectSocket:fail url not in domain list' };
  // Alipay's fail: `error` is the code, `errorMessage` the text (4: a URL it cannot read).
  const myFail = { error: 4, errorMessage: 'unrecognized URL format' };

  for (const [how, when] of [
    ['later', {}],
    ['from inside connectSocket', { sync: true }],
    ['followed by onError and onClose', { alsoReports: 'after' }],
    ['after onError and onClose', { alsoReports: 'before' }],
  ] as const) {
    test(`wx: reports a fail ${how} as one error naming what the platform said, then close`, async () => {
      const platform = failing(wxFail, when);
      globals.wx = { connectSocket: platform.connectSocket };
      const rec = recorder();
      openWx({ protocol: 'wxs', host: 'example.com', port: 443 }, rec.handlers);
      assert.deepEqual(rec.events, [], 'nothing from inside open()');
      await tick();
      await tick();
      assert.deepEqual(rec.events, ['error', 'close']);
      const error = rec.errors[0] as Error & { code?: string };
      assert.equal(error.code, 'MQTT_ERR_WEBSOCKET');
      assert.match(error.message, /url not in domain list/);
      assert.equal(error.cause, wxFail);
    });

    test(`ali: reports a fail ${how} as one error naming what the platform said, then close`, async () => {
      const platform = failing(myFail, when);
      const rec = recorder();
      openAli(
        { protocol: 'alis', host: 'example.com', port: 443, my: { connectSocket: platform.connectSocket } },
        rec.handlers,
      );
      assert.deepEqual(rec.events, []);
      await tick();
      await tick();
      assert.deepEqual(rec.events, ['error', 'close']);
      const error = rec.errors[0] as Error & { code?: string };
      assert.equal(error.code, 'MQTT_ERR_WEBSOCKET');
      assert.match(error.message, /unrecognized URL format/);
      assert.equal(error.cause, myFail);
    });
  }

  test('wx: reports one error and one close when connectSocket fails and returns no task', async () => {
    const platform = failing(wxFail, { sync: true, noTask: true });
    globals.wx = { connectSocket: platform.connectSocket };
    const rec = recorder();
    openWx({ protocol: 'wxs', host: 'example.com', port: 443 }, rec.handlers);
    await tick();
    await tick();
    // The error is the TypeError of the missing task; nothing is thrown from the late `fail`.
    assert.deepEqual(rec.events, ['error', 'close']);
  });

  test('ali: reports a fail of the global socket API and removes its listeners', async () => {
    const platform = failing(myFail, { noTask: true });
    const listeners = new Set<unknown>();
    const my = { connectSocket: platform.connectSocket } as Record<string, unknown>;
    for (const event of ['Open', 'Message', 'Error', 'Close']) {
      my[`onSocket${event}`] = (listener: unknown) => listeners.add(listener);
      my[`offSocket${event}`] = (listener: unknown) => listeners.delete(listener);
    }
    const rec = recorder();
    openAli({ protocol: 'alis', host: 'example.com', port: 443, my }, rec.handlers);
    assert.equal(listeners.size, 4);
    await tick();
    await tick();
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal(listeners.size, 0);
  });
});

describe("Alipay's one-socket global API", () => {
  /** `my` without SocketTasks; `emit` reaches the `my.onSocket…` listeners present. */
  function globalMy() {
    const listeners: Record<TaskEvent, Set<TaskListener>> = {
      open: new Set(),
      message: new Set(),
      error: new Set(),
      close: new Set(),
    };
    const calls = { connect: 0, close: 0 };
    const my: Record<string, unknown> = {
      connectSocket: () => {
        calls.connect++;
        return undefined;
      },
      closeSocket: () => calls.close++,
      sendSocketMessage: (options: { success?(): void }) => setImmediate(() => options.success?.()),
    };
    for (const event of ['open', 'message', 'error', 'close'] as const) {
      const name = event[0]?.toUpperCase() + event.slice(1);
      my[`onSocket${name}`] = (listener: TaskListener) => listeners[event].add(listener);
      my[`offSocket${name}`] = (listener: TaskListener) => listeners[event].delete(listener);
    }
    const emit = (event: TaskEvent, result?: unknown) => {
      for (const listener of [...listeners[event]]) listener(result);
    };
    const listening = () => Object.values(listeners).reduce((sum, set) => sum + set.size, 0);
    return { my, emit, calls, listening };
  }

  test('ignores the late close of the previous socket, given up on after 2 s, until this one opens', async (t) => {
    const clock = new FakeClock();
    t.after(clock.install());
    const { my, emit, calls, listening } = globalMy();
    const first = recorder();
    const a = openAli({ protocol: 'ali', host: 'h', port: 1, my }, first.handlers);
    emit('open', {});
    await first.connected;
    a.end();
    clock.tick(2000); // the platform does not report the close
    await tick();
    assert.deepEqual(first.events, ['connect', 'close']);
    assert.equal(listening(), 0, "the first connection's listeners are removed");

    const second = recorder();
    const b = openAli({ protocol: 'ali', host: 'h', port: 1, my }, second.handlers);
    assert.equal(calls.connect, 2);
    emit('close', { code: 1000 }); // the first socket's, late
    await tick();
    assert.deepEqual(second.events, [], "the first socket's close is not the second's");
    emit('open', {});
    await second.connected;
    assert.equal(b.write(Uint8Array.from([0xc0, 0x00])), true);
    emit('close', { code: 1006 }); // its own
    await tick();
    assert.deepEqual(second.events, ['connect', 'close']);
    assert.equal(listening(), 0);
    assert.deepEqual(first.events, ['connect', 'close']);
  });

  test("reports a close before open as the socket's own when the previous close came", async () => {
    const { my, emit, listening } = globalMy();
    const first = recorder();
    const a = openAli({ protocol: 'ali', host: 'h', port: 1, my }, first.handlers);
    emit('open', {});
    await first.connected;
    a.end();
    emit('close', { code: 1000 });
    await first.closed;

    const second = recorder();
    openAli({ protocol: 'ali', host: 'h', port: 1, my }, second.handlers);
    emit('error', { error: 1, errorMessage: 'refused' });
    emit('close', { code: 1006 });
    await tick();
    assert.deepEqual(second.events, ['error', 'close']);
    assert.equal(listening(), 0);
  });
});

describe('mini-program and browser WebSocket transports against Mosquitto', { timeout: 30_000 }, () => {
  let broker: Mosquitto;
  const clients: MqttClient[] = [];
  const globals = globalThis as { wx?: unknown; my?: unknown; WebSocket?: unknown };
  before(async () => {
    broker = await startMosquitto({ websockets: true });
    transports.register(['wx', 'wxs'], openWx);
    transports.register(['ali', 'alis'], openAli);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    transports.unregister('wx');
    transports.unregister('wxs');
    transports.unregister('ali');
    transports.unregister('alis');
    delete globals.wx;
    delete globals.my;
    await broker.stop();
  });

  function client(url: string, options: Parameters<typeof connect>[1] = {}): MqttClient {
    const c = connect(url, { reconnectPeriod: 0, ...options });
    clients.push(c);
    return c;
  }

  test('wx: connects through wx.connectSocket and exchanges QoS 0, 1 and 2', async () => {
    const { wx, log } = fakeWx();
    globals.wx = wx;
    const c = client(`wx://127.0.0.1:${broker.wsPort}`, { wsOptions: { header: { 'x-app': 'demo' } } });
    await once(c, 'connect');
    assert.equal(log.connects[0]?.url, `ws://127.0.0.1:${broker.wsPort}/mqtt`);
    assert.deepEqual(log.connects[0]?.protocols, ['mqtt']);
    assert.deepEqual(log.connects[0]?.header, { 'x-app': 'demo' });
    assert.deepEqual(await roundTrip(c, 'wx'), expected('wx'));
    await c.endAsync();
  });

  test('wx: reconnects after the server drops the connection', async () => {
    const { wx, log } = fakeWx();
    globals.wx = wx;
    const c = client(`wx://127.0.0.1:${broker.wsPort}`, { reconnectPeriod: 50 });
    await once(c, 'connect');
    // Listen before restarting: the client may be back before restart() returns.
    const reconnected = new Promise((resolve) => c.once('close', () => c.once('connect', resolve)));
    await broker.restart();
    await reconnected;
    assert.equal(log.tasks.length >= 2, true);
    assert.deepEqual(await roundTrip(c, 'wx-again'), expected('wx-again'));
    await c.endAsync();
  });

  test('wx: end() calls back when the platform never reports the close', { timeout: 10_000 }, async () => {
    const { wx, log } = fakeWx({ neverReportsClose: true });
    globals.wx = wx;
    const c = client(`wx://127.0.0.1:${broker.wsPort}`);
    await once(c, 'connect');
    const started = Date.now();
    await c.endAsync();
    assert.equal(log.tasks[0]?.closeReported, false);
    assert.ok(Date.now() - started < 4000);
  });

  test('wx: reports a missing wx as MQTT_ERR_WEBSOCKET', async () => {
    delete globals.wx;
    const rec = recorder();
    openWx({ protocol: 'wxs', host: 'example.com', port: 443 }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_WEBSOCKET');
  });

  test('wx: leaves out the default port and uses a SocketTask from createWebsocket', async () => {
    const { wx, log } = fakeWx();
    const urls: string[] = [];
    const rec = recorder();
    const connection = openWx(
      {
        protocol: 'wxs',
        host: '127.0.0.1',
        port: 443,
        createWebsocket: (url, protocols) => {
          urls.push(url);
          return wx.connectSocket({ url: `ws://127.0.0.1:${broker.wsPort}/mqtt`, protocols });
        },
      },
      rec.handlers,
    );
    await rec.connected;
    assert.deepEqual(urls, ['wss://127.0.0.1/mqtt']);
    assert.equal(log.tasks.length, 1);
    connection.destroy();
    await rec.closed;
  });

  test('ali: SocketTask form with base64 frames exchanges QoS 0, 1 and 2, through transformWsUrl', async () => {
    const { my, log } = fakeMy();
    globals.my = my;
    const seen: unknown[] = [];
    const c = client(`ali://127.0.0.1:${broker.wsPort}`, {
      protocolVersion: 5,
      transformWsUrl: (url, options, self) => {
        seen.push(options, self);
        return `${url}?token=t`;
      },
    });
    await once(c, 'connect');
    assert.equal(log.connects[0]?.multiple, true);
    assert.equal(log.connects[0]?.url, `ws://127.0.0.1:${broker.wsPort}/mqtt?token=t`);
    assert.deepEqual(seen, [c.options, c]);
    assert.deepEqual(await roundTrip(c, 'ali'), expected('ali'));
    await c.endAsync();
  });

  test('ali: reads ArrayBuffer frames too, and uses the my option over the global', async () => {
    globals.my = fakeMy().my;
    const { my, log } = fakeMy({ arrayBufferFrames: true });
    const c = client(`ali://127.0.0.1:${broker.wsPort}`, { my });
    await once(c, 'connect');
    assert.equal(log.connects.length, 1);
    assert.deepEqual(await roundTrip(c, 'ali-ab'), expected('ali-ab'));
    await c.endAsync();
  });

  test('ali: falls back to the global socket API and removes its listeners on close', async () => {
    const { my, log } = fakeMy({ singleSocketOnly: true });
    globals.my = my;
    const c = client(`ali://127.0.0.1:${broker.wsPort}`, { protocolVersion: 3 });
    await once(c, 'connect');
    assert.deepEqual(log.connects[0]?.protocols, ['mqttv3.1']);
    assert.deepEqual(await roundTrip(c, 'ali-global'), expected('ali-global'));
    assert.ok((log.tasks[0]?.listenerCount() ?? 0) > 0);
    await c.endAsync();
    assert.equal(log.tasks[0]?.listenerCount(), 0);
  });

  test('browser WebSocket: runs on a global WHATWG WebSocket (ws standing in)', async () => {
    globals.WebSocket = WebSocket;
    try {
      const rec = recorder();
      const connection = openBrowserWs(
        { protocol: 'ws', host: '127.0.0.1', port: broker.wsPort! },
        rec.handlers,
      );
      await rec.connected;
      // CONNECT for MQTT 3.1.1, client id "b": CONNACK comes back.
      connection.write(Uint8Array.from([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x62]));
      assert.deepEqual([...(await rec.waitForBytes(4))], [0x20, 0x02, 0x00, 0x00]);
      connection.end();
      await rec.closed;
    } finally {
      delete globals.WebSocket;
    }
  });

  test('browser WebSocket: reports a missing WebSocket as MQTT_ERR_WEBSOCKET', async () => {
    const rec = recorder();
    openBrowserWs({ protocol: 'ws', host: '127.0.0.1', port: 1 }, rec.handlers);
    await rec.closed;
    assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_WEBSOCKET');
  });
});
