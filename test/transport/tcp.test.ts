import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openTcp } from '../../runtime/transport/tcp.js';
import { lifecycle, recorder } from '../helpers/recorder.js';

interface TestServer {
  server: Server;
  port: number;
  sockets: Socket[];
  nextSocket(): Promise<Socket>;
}

async function listen(target: { port: number; host: string } | { path: string }): Promise<TestServer> {
  const sockets: Socket[] = [];
  const waiting: Array<(socket: Socket) => void> = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
  });
  await new Promise<void>((resolve) => server.listen(target, resolve));
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    sockets,
    nextSocket: () =>
      new Promise((resolve) => {
        const ready = sockets.find((socket) => !(socket as { taken?: boolean }).taken);
        if (ready) {
          (ready as { taken?: boolean }).taken = true;
          resolve(ready);
        } else waiting.push(resolve);
      }),
  };
}

async function closeServer(test: TestServer): Promise<void> {
  for (const socket of test.sockets) socket.destroy();
  await new Promise<void>((resolve) => test.server.close(() => resolve()));
}

/** A port nothing listens on: bind one, then release it. */
async function closedPort(): Promise<number> {
  const server = await listen({ port: 0, host: '127.0.0.1' });
  await closeServer(server);
  return server.port;
}

describe('tcp transport', () => {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map(closeServer)));
  /** A server of its own for each test, so no test picks up another's socket. */
  async function freshServer(): Promise<TestServer> {
    const server = await listen({ port: 0, host: '127.0.0.1' });
    servers.push(server);
    return server;
  }

  test('connects, sends and receives bytes', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    assert.equal(connection.writable, false);
    const peer = await server.nextSocket();
    await rec.connected;
    assert.equal(connection.writable, true);
    const fromClient = new Promise<Buffer>((resolve) => peer.once('data', resolve));
    assert.equal(connection.write(new Uint8Array([0xc0, 0x00])), true);
    assert.deepEqual([...(await fromClient)], [0xc0, 0x00]);
    peer.write(Buffer.from([0xd0, 0x00]));
    assert.deepEqual([...(await rec.waitForBytes(2))], [0xd0, 0x00]);
    connection.destroy();
    await rec.closed;
    assert.deepEqual(lifecycle(rec.events), ['connect', 'data', 'close']);
  });

  test('sets TCP_NODELAY on the socket', async (t) => {
    const server = await freshServer();
    const setNoDelay = t.mock.method(Socket.prototype, 'setNoDelay');
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    await rec.connected;
    assert.ok(setNoDelay.mock.calls.some((call) => call.arguments[0] === true));
    connection.destroy();
    await rec.closed;
  });

  test('cork and uncork send the writes in between together', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    const peer = await server.nextSocket();
    await rec.connected;
    const fromClient = new Promise<Buffer>((resolve) => peer.once('data', resolve));
    connection.cork();
    connection.write(new Uint8Array([0x30, 0x03]));
    connection.write(new Uint8Array([0x00, 0x01, 0x61]));
    connection.uncork();
    assert.deepEqual([...(await fromClient)], [0x30, 0x03, 0x00, 0x01, 0x61]);
    connection.destroy();
    await rec.closed;
  });

  test('reports ECONNREFUSED as error then close, exactly once', async () => {
    const rec = recorder();
    openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: await closedPort() }, rec.handlers);
    await rec.closed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  });

  test('reports a DNS failure as error then close', async () => {
    const rec = recorder();
    openTcp({ protocol: 'mqtt', host: 'no-such-host.invalid', port: 1883 }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.match(String((rec.errors[0] as NodeJS.ErrnoException).code), /ENOTFOUND|EAI_AGAIN/);
  });

  test('reports a bad port asynchronously instead of throwing', async () => {
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: 70000 }, rec.handlers);
    assert.deepEqual(rec.events, []);
    assert.equal(connection.write(new Uint8Array([1])), false);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
  });

  test('reports close once when the peer closes', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    const peer = await server.nextSocket();
    await rec.connected;
    peer.end();
    await rec.closed;
    assert.equal(connection.writable, false);
    connection.end();
    connection.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rec.events, ['connect', 'close']);
  });

  test('end flushes pending writes before closing', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    const peer = await server.nextSocket();
    await rec.connected;
    const all: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => all.push(chunk));
    const peerEnded = new Promise((resolve) => peer.once('end', resolve));
    connection.write(new Uint8Array([0xe0, 0x00]));
    connection.end();
    assert.equal(connection.writable, false);
    assert.equal(connection.write(new Uint8Array([1])), false);
    await peerEnded;
    peer.end();
    await rec.closed;
    assert.deepEqual([...Buffer.concat(all)], [0xe0, 0x00]);
    assert.deepEqual(rec.events, ['connect', 'close']);
  });

  test('destroy before connect still reports close exactly once', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    connection.destroy();
    connection.destroy();
    await rec.closed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rec.events, ['close']);
  });

  test('reports nothing but close after end() or destroy() while connecting', async () => {
    const server = await freshServer();
    // A broker that speaks first: what it sends must not be reported either.
    server.server.on('connection', (socket: Socket) => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])));
    for (const stop of ['end', 'destroy'] as const) {
      const rec = recorder();
      const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
      connection[stop]();
      assert.equal(connection.writable, false);
      await rec.closed;
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(rec.events, ['close'], `after ${stop}()`);
    }
  });

  test('reports drain after a write that filled the buffer', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    const peer = await server.nextSocket();
    await rec.connected;
    peer.pause();
    const big = new Uint8Array(1024 * 1024);
    let writes = 0;
    while (connection.write(big)) writes++;
    assert.ok(writes < 64, 'the socket buffer filled');
    const drained = new Promise<void>((resolve) => {
      const original = rec.handlers.drain;
      rec.handlers.drain = () => {
        original();
        resolve();
      };
    });
    peer.resume();
    await drained;
    connection.destroy();
    await rec.closed;
  });

  test('connects to a unix domain socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttforge-unix-'));
    const path = join(dir, 'broker.sock');
    const unixServer = await listen({ path });
    try {
      const rec = recorder();
      const connection = openTcp(
        { protocol: 'mqtt', host: 'localhost', port: 1883, unixSocket: true, path },
        rec.handlers,
      );
      const peer = await unixServer.nextSocket();
      await rec.connected;
      peer.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
      assert.deepEqual([...(await rec.waitForBytes(4))], [0x20, 0x02, 0x00, 0x00]);
      connection.end();
      peer.end();
      await rec.closed;
    } finally {
      await closeServer(unixServer);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The recorder's handlers, with a data handler that answers `mayWait` (may the next reads wait?). */
  function answering(rec: ReturnType<typeof recorder>, mayWait: boolean) {
    return {
      ...rec.handlers,
      data: (chunk: Uint8Array) => {
        rec.handlers.data(chunk);
        return mayWait;
      },
    };
  }

  /**
   * The peer writes `count` numbered 64-byte packets, one per event-loop turn, so that without
   * batching most of them reach the client as separate reads. `mayWait` is what the data handler
   * answers (the client answers true for messages). Resolves with the client's reads.
   */
  async function streamSmallPackets(
    batchReadsMs: number,
    count: number,
    mayWait: boolean,
  ): Promise<{ reads: number; bytes: Buffer }> {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp(
      { protocol: 'mqtt', host: '127.0.0.1', port: server.port, batchReadsMs },
      answering(rec, mayWait),
    );
    const peer = await server.nextSocket();
    peer.setNoDelay(true);
    await rec.connected;
    for (let i = 0; i < count; i++) {
      peer.write(Buffer.alloc(64, i & 0xff));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const bytes = await rec.waitForBytes(64 * count);
    connection.destroy();
    await rec.closed;
    return { reads: rec.events.filter((e) => e === 'data').length, bytes };
  }

  test('batches small back-to-back reads that may wait, losing and reordering nothing', async () => {
    const count = 2000;
    const unbatched = await streamSmallPackets(0, count, true);
    const urgent = await streamSmallPackets(5, count, false);
    const batched = await streamSmallPackets(5, count, true);
    for (const { bytes } of [unbatched, urgent, batched]) {
      assert.equal(bytes.length, 64 * count);
      for (let i = 0; i < count; i++) assert.equal(bytes[i * 64 + 63], i & 0xff, `packet ${i}`);
    }
    // A 5 ms wait gathers many packets per read; reading each as it comes does not, and reads
    // the handler says cannot wait are never held back.
    const reads = `batched ${batched.reads}, urgent ${urgent.reads}, unbatched ${unbatched.reads} reads`;
    assert.ok(batched.reads * 4 < unbatched.reads, reads);
    assert.ok(batched.reads * 4 < urgent.reads, reads);
  });

  test('still reports the peer closing while reads wait', async () => {
    const server = await freshServer();
    const rec = recorder();
    openTcp(
      { protocol: 'mqtt', host: '127.0.0.1', port: server.port, batchReadsMs: 50 },
      answering(rec, true),
    );
    const peer = await server.nextSocket();
    await rec.connected;
    peer.write(Buffer.from([1]));
    await rec.waitForBytes(1);
    peer.write(Buffer.from([2])); // the second small read within 50 ms starts a wait
    await rec.waitForBytes(2);
    peer.end(Buffer.from([3]));
    await rec.closed;
    assert.deepEqual([...rec.received()], [1, 2, 3]);
    assert.equal(rec.events.at(-1), 'close');
  });

  test('a read wait leaves no timer behind once the socket is closed', async () => {
    const server = await freshServer();
    const rec = recorder();
    const connection = openTcp(
      { protocol: 'mqtt', host: '127.0.0.1', port: server.port, batchReadsMs: 1000 },
      answering(rec, true),
    );
    const peer = await server.nextSocket();
    await rec.connected;
    peer.write(Buffer.from([1]));
    await rec.waitForBytes(1);
    peer.write(Buffer.from([2])); // a second small read within 1 s: reading waits
    await rec.waitForBytes(2);
    const pending = () => (connection as unknown as { batchTimer_?: unknown }).batchTimer_;
    assert.ok(pending(), 'waiting');
    connection.destroy();
    await rec.closed;
    assert.equal(pending(), undefined);
  });

  test('a busy socket reads more than 64 KiB at a time, and no read overwrites an earlier one', async () => {
    const server = await freshServer();
    const total = 4 * 1024 * 1024;
    const sent = Buffer.alloc(total);
    for (let i = 0; i < total; i++) sent[i] = (i * 7 + (i >> 12)) & 0xff;
    const chunks: Uint8Array[] = []; // the views themselves, not copies
    let length = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const rec = recorder();
    const connection = openTcp(
      { protocol: 'mqtt', host: '127.0.0.1', port: server.port, batchReadsMs: 0 },
      {
        ...rec.handlers,
        data: (chunk) => {
          if (chunks.length === 0) {
            // Fall behind once, so that the kernel has plenty waiting for the next reads.
            const until = Date.now() + 30;
            while (Date.now() < until);
          }
          chunks.push(chunk);
          length += chunk.length;
          if (length >= total) done();
          return false;
        },
      },
    );
    const peer = await server.nextSocket();
    await rec.connected;
    peer.write(sent);
    await all;
    connection.destroy();
    assert.ok(Buffer.concat(chunks).equals(sent), 'every byte arrived, in order, and stayed');
    const largest = Math.max(...chunks.map((c) => c.length));
    assert.ok(largest > 64 * 1024, `largest read ${largest} bytes`);
  });

  test('a read handler that throws (an application bug) does not make later reads overwrite earlier ones', () => {
    // In a fresh process: the exception must reach process 'uncaughtException', which node:test
    // would take as this test failing.
    const script = `
      const { createHash, randomBytes } = await import('node:crypto');
      const { createServer } = await import('node:net');
      const { openTcp } = await import(${JSON.stringify(new URL('../../runtime/transport/tcp.ts', import.meta.url).href)});
      const data = randomBytes(4_000_000);
      const server = createServer((s) => s.end(data));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      let thrown = 0;
      let threw = false;
      process.on('uncaughtException', () => thrown++);
      const chunks = await new Promise((resolve, reject) => {
        const chunks = [];
        openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.address().port, batchReadsMs: 0 }, {
          connect() {},
          data(chunk) {
            chunks.push(chunk); // kept as the view it is
            if (!threw && chunks.length > 3 && chunk.length > 65536) {
              threw = true;
              throw new Error('application bug');
            }
            return false;
          },
          drain() {},
          error: reject,
          close: () => resolve(chunks),
        });
      });
      server.close();
      const got = Buffer.concat(chunks);
      const hash = (b) => createHash('sha256').update(b).digest('hex');
      console.log(JSON.stringify({ thrown, intact: got.length === data.length && hash(got) === hash(data) }));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), { thrown: 1, intact: true });
  });

  test('write() asks to wait only once 256 KiB wait unsent, and drain follows when the peer reads', async () => {
    const server = await freshServer();
    const chunk = Buffer.alloc(16 * 1024, 7);
    /** Writes to a peer that does not read until `write` says to wait; returns the bytes taken. */
    const fill = (write: (b: Buffer) => boolean) => {
      let taken = 0;
      for (let more = true; more && taken < 64 * 1024 * 1024; taken += chunk.length) more = write(chunk);
      return taken;
    };
    // A plain socket beside ours, to the same server: the kernel takes the same amount from both.
    const plain = new Socket();
    await new Promise<void>((resolve) => plain.connect(server.port, '127.0.0.1', resolve));
    const plainPeer = await server.nextSocket();
    plainPeer.pause();
    const rec = recorder();
    const connection = openTcp({ protocol: 'mqtt', host: '127.0.0.1', port: server.port }, rec.handlers);
    const peer = await server.nextSocket();
    peer.pause();
    await rec.connected;
    const plainTaken = fill((b) => plain.write(b));
    const ours = fill((b) => connection.write(b));
    // Node's own mark is 16 KiB; ours is WRITE_BUFFER_BYTES (256 KiB) of the same buffering.
    assert.ok(ours - plainTaken >= 200 * 1024, `ours took ${ours} bytes, a plain socket ${plainTaken}`);
    assert.ok(ours - plainTaken <= 512 * 1024, `ours took ${ours} bytes, a plain socket ${plainTaken}`);
    assert.equal(rec.events.includes('drain'), false);
    peer.resume();
    await new Promise<void>((resolve) => {
      const check = () => (rec.events.includes('drain') ? resolve() : setTimeout(check, 5));
      check();
    });
    plain.destroy();
    connection.destroy();
  });

  test('reports a unix socket without a path as MQTT_ERR_INVALID_OPTIONS', async () => {
    const rec = recorder();
    openTcp({ protocol: 'mqtt', host: 'localhost', port: 1883, unixSocket: true }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_INVALID_OPTIONS');
  });
});
