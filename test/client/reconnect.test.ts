/** Reconnect options, redirects, the offline queue bound, resubscribe, and restoring a store. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode } from '../../generated/index.js';
import { connect, Store } from '../../runtime/index.js';
import { PacketType, packetType } from '../helpers/fake-broker.js';
import { freePort } from '../helpers/free-port.js';
import {
  collectErrors,
  dropConnection,
  once,
  scene,
  scriptedBroker,
  sleep,
  track,
  waitFor,
} from './support.js';

describe('reconnect', () => {
  test('gives up after maxReconnectAttempts with MQTT_ERR_RECONNECT_FAILED and ends', async (t) => {
    const port = await freePort();
    const c = track(connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 10, maxReconnectAttempts: 3 }), t);
    const errors = collectErrors(c);
    let reconnects = 0;
    c.on('reconnect', () => reconnects++);
    await once(c, 'end', 3000);
    assert.equal(reconnects, 3);
    const final = errors.at(-1) as { code?: string };
    assert.equal(final.code, 'MQTT_ERR_RECONNECT_FAILED');
    assert.equal(c.reconnecting, false);
  });

  test('waits longer between attempts with reconnectBackoff', async (t) => {
    const port = await freePort();
    const c = track(
      connect(`mqtt://127.0.0.1:${port}`, {
        reconnectPeriod: 20,
        reconnectBackoff: { factor: 2, jitter: 0, maxPeriod: 1000 },
      }),
      t,
    );
    collectErrors(c);
    const times: number[] = [];
    c.on('reconnect', () => times.push(Date.now()));
    await waitFor(() => times.length >= 4, 3000, 'four reconnects');
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    assert.ok(gaps[1]! > gaps[0]! && gaps[2]! > gaps[1]!, `gaps grow: ${gaps.join(', ')}`);
  });

  test('goes round the servers list', async (t) => {
    const broker = await scriptedBroker(t, 4);
    const dead = await freePort();
    const c = track(
      connect({
        servers: [
          { host: '127.0.0.1', port: dead },
          { host: '127.0.0.1', port: broker.port },
        ],
        reconnectPeriod: 10,
      }),
      t,
    );
    collectErrors(c);
    await broker.accept();
    await once(c, 'connect');
  });

  for (const kind of ['sync', 'async']) {
    test(`applies what beforeReconnect returns (${kind})`, async (t) => {
      let calls = 0;
      const {
        broker,
        client: c,
        conn: conn1,
        connect: first,
      } = await scene(
        t,
        {
          reconnectPeriod: 10,
          username: 'u',
          password: 'old',
          beforeReconnect: (current) => {
            calls++;
            assert.equal(current.username, 'u');
            const update = { password: `token-${calls}`, clientId: 'refreshed' };
            return kind === 'sync' ? update : new Promise((r) => setTimeout(() => r(update), 10));
          },
        },
        { connack: null },
      );
      assert.equal(Buffer.from(first.password!).toString(), 'old');
      conn1.drop();
      const conn2 = await broker.nextConnection();
      const second = decode(await conn2.nextPacket()) as { password?: Uint8Array; clientId: string };
      assert.equal(Buffer.from(second.password!).toString(), 'token-1');
      assert.equal(second.clientId, 'refreshed');
      assert.equal(c.options.password, 'old', 'options are not overwritten');
    });
  }

  test('reconnect() after end() with an async beforeReconnect queues the calls made while the hook runs and sends them once connected', {
    timeout: 5000,
  }, async (t) => {
    let release = () => {};
    const { broker, client: c } = await scene(t, {
      reconnectPeriod: 0,
      beforeReconnect: () =>
        new Promise<undefined>((resolve) => {
          release = () => resolve(undefined);
        }),
    });
    await c.endAsync();
    c.reconnect();
    assert.equal(c.disconnected, false, 'reopened at once, as in MQTT.js');
    const outcomes: string[] = [];
    const settle = (call: string) => (error?: Error | null) =>
      outcomes.push(`${call} ${(error as { code?: string } | null | undefined)?.code ?? 'ok'}`);
    c.publish('t', 'while the hook runs', { qos: 1 }, settle('publish'));
    c.subscribe('s', { qos: 1 }, settle('subscribe'));
    c.unsubscribe('u', settle('unsubscribe'));
    await sleep(20);
    assert.deepEqual(outcomes, [], 'nothing fails while the hook runs');
    release();
    const conn = await broker.accept();
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) {
      const packet = (await broker.next(conn)) as { cmd: string; messageId: number };
      sent.push(packet.cmd);
      const { messageId } = packet;
      if (packet.cmd === 'publish') await broker.send(conn, { cmd: 'puback', messageId });
      if (packet.cmd === 'subscribe') await broker.send(conn, { cmd: 'suback', messageId, granted: [1] });
      if (packet.cmd === 'unsubscribe') await broker.send(conn, { cmd: 'unsuback', messageId });
    }
    assert.deepEqual(sent, ['publish', 'subscribe', 'unsubscribe']);
    await waitFor(() => outcomes.length === 3, 2000, 'every call to settle');
    assert.deepEqual(outcomes, ['publish ok', 'subscribe ok', 'unsubscribe ok']);
  });

  for (const outcome of ['resolves', 'rejects'] as const) {
    test(`an async beforeReconnect that ${outcome} after end() does not reopen the client`, {
      timeout: 5000,
    }, async (t) => {
      let settleHook = () => {};
      const {
        broker,
        client: c,
        conn,
        errors,
      } = await scene(t, {
        reconnectPeriod: 20,
        beforeReconnect: () =>
          new Promise<undefined>((resolve, reject) => {
            settleHook = () => (outcome === 'resolves' ? resolve(undefined) : reject(new Error('no token')));
          }),
      });
      const hookRuns = once(c, 'reconnect');
      conn.drop();
      await hookRuns;
      await c.endAsync();
      const errorsBefore = errors.length;
      let reconnects = 0;
      c.on('reconnect', () => reconnects++);
      settleHook();
      await sleep(100);
      assert.equal(broker.connections.length, 1, 'no new connection after end()');
      assert.equal(reconnects, 0, 'no reconnect after end()');
      assert.equal(c.disconnected, true);
      assert.deepEqual(
        errors.slice(errorsBefore),
        [],
        'a hook that fails after end() is no error of the ended client',
      );
    });
  }

  test('fails publishes beyond maxQueuedMessages with MQTT_ERR_QUEUE_FULL', async (t) => {
    const port = await freePort();
    const c = track(connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 1000, maxQueuedMessages: 2 }), t);
    collectErrors(c);
    const kept = [c.publishAsync('t', '1', { qos: 1 }), c.publishAsync('t', '2', { qos: 1 })];
    await assert.rejects(c.publishAsync('t', '3', { qos: 1 }), { code: 'MQTT_ERR_QUEUE_FULL' });
    c.end(true);
    for (const p of kept) await assert.rejects(p, { code: 'MQTT_ERR_CLIENT_ENDED' });
  });

  for (const follow of [true, false]) {
    test(`emits redirect on CONNACK 0x9C and ${follow ? 'follows' : 'stays'} with followRedirects ${follow}`, async (t) => {
      const second = await scriptedBroker(t, 5);
      const {
        client: c,
        errors,
        send,
      } = await scene(
        t,
        { protocolVersion: 5, reconnectPeriod: 5000, followRedirects: follow },
        { connack: null },
      );
      const redirected = once<[string, number]>(c, 'redirect');
      await send({
        cmd: 'connack',
        sessionPresent: false,
        reasonCode: 0x9c,
        properties: { serverReference: `127.0.0.1:${second.port}` },
      });
      const [reference, code] = await redirected;
      assert.deepEqual([reference, code], [`127.0.0.1:${second.port}`, 0x9c]);
      assert.equal((errors[0] as { code?: string }).code, 'MQTT_ERR_CONNACK_REFUSED');
      if (follow) {
        await second.accept();
        await once(c, 'connect');
      } else {
        await assert.rejects(second.nextConnection(300));
      }
    });
  }

  test('follows a server DISCONNECT 0x9D to the Server Reference, even with reconnects off', async (t) => {
    const second = await scriptedBroker(t, 5);
    const { client: c, send } = await scene(t, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      followRedirects: true,
    });
    await send({
      cmd: 'disconnect',
      reasonCode: 0x9d,
      properties: { serverReference: `127.0.0.1:${second.port}` },
    });
    await second.accept();
    await once(c, 'connect');
  });

  test('follows CONNACK 0x9C for the next connection only, then goes back to the configured server', async (t) => {
    const other = await scriptedBroker(t, 5);
    const {
      broker: home,
      client: c,
      send,
    } = await scene(t, { protocolVersion: 5, reconnectPeriod: 20, followRedirects: true }, { connack: null });
    await send({
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: 0x9c,
      properties: { serverReference: `127.0.0.1:${other.port}` },
    });
    const temporary = await other.accept();
    await once(c, 'connect');
    temporary.drop();
    await home.accept();
    await once(c, 'connect');
    assert.equal(other.connections.length, 1, 'the temporary server is not tried again');
  });

  test('stays on the Server Reference of a DISCONNECT 0x9D for every later connection', async (t) => {
    const moved = await scriptedBroker(t, 5);
    const {
      broker: home,
      client: c,
      send,
    } = await scene(t, { protocolVersion: 5, reconnectPeriod: 20, followRedirects: true });
    await send({
      cmd: 'disconnect',
      reasonCode: 0x9d,
      properties: { serverReference: `127.0.0.1:${moved.port}` },
    });
    (await moved.accept()).drop();
    await moved.accept();
    await once(c, 'connect');
    assert.equal(home.connections.length, 1, 'the old server is not tried again');
  });

  test('a 0x9C target that fails takes no place in the servers rotation', async (t) => {
    const first = await scriptedBroker(t, 5);
    const second = await scriptedBroker(t, 5);
    const dead = await freePort();
    const c = track(
      connect({
        servers: [
          { host: '127.0.0.1', port: first.port },
          { host: '127.0.0.1', port: second.port },
        ],
        protocolVersion: 5,
        reconnectPeriod: 20,
        followRedirects: true,
      }),
      t,
    );
    collectErrors(c);
    const conn = await first.accept();
    await once(c, 'connect');
    await first.send(conn, {
      cmd: 'disconnect',
      reasonCode: 0x9c,
      properties: { serverReference: `127.0.0.1:${dead}` },
    });
    // The redirect goes to the dead port, then back to the server it replaced, not the next one.
    await first.accept();
    await once(c, 'connect');
    assert.equal(second.connections.length, 0);
  });

  test('beforeReconnect sees the 0x9C target, and handing it back does not make it stick', async (t) => {
    const other = await scriptedBroker(t, 5);
    const seen: (number | undefined)[] = [];
    const { broker: home, send } = await scene(t, {
      protocolVersion: 5,
      reconnectPeriod: 20,
      followRedirects: true,
      beforeReconnect: (current) => {
        seen.push(current.port);
        return { ...current, password: 'fresh' };
      },
    });
    await send({
      cmd: 'disconnect',
      reasonCode: 0x9c,
      properties: { serverReference: `127.0.0.1:${other.port}` },
    });
    (await other.accept()).drop();
    await home.accept();
    assert.deepEqual(seen, [other.port, home.port]);
  });

  for (const moment of ['redirect', 'close'] as const) {
    test(`reconnect() after an end() called on ${moment} of a CONNACK 0x9C goes to the configured server, not the 0x9C target`, async (t) => {
      const other = await scriptedBroker(t, 5);
      const {
        broker: home,
        client: c,
        send,
      } = await scene(
        t,
        { protocolVersion: 5, reconnectPeriod: 20, followRedirects: true },
        { connack: null },
      );
      c.once(moment, () => c.end(true));
      const ended = once(c, 'end');
      await send({
        cmd: 'connack',
        sessionPresent: false,
        reasonCode: 0x9c,
        properties: { serverReference: `127.0.0.1:${other.port}` },
      });
      await ended;
      c.reconnect();
      await home.accept();
      await once(c, 'connect');
      assert.equal(other.connections.length, 0, 'the 0x9C target is not used after end()');
    });
  }

  test('reconnect() after an end() during which the server sent DISCONNECT 0x9C goes to the configured server', async (t) => {
    const other = await scriptedBroker(t, 5);
    const {
      broker: home,
      client: c,
      next,
      send,
    } = await scene(t, { protocolVersion: 5, reconnectPeriod: 20, followRedirects: true });
    const published = c.publishAsync('t', 'm', { qos: 1 }).catch(() => {});
    assert.equal((await next()).cmd, 'publish');
    const ended = c.endAsync(); // waits for the PUBACK that never comes
    await send({
      cmd: 'disconnect',
      reasonCode: 0x9c,
      properties: { serverReference: `127.0.0.1:${other.port}` },
    });
    await ended;
    await published;
    c.reconnect();
    await home.accept();
    await once(c, 'connect');
    assert.equal(other.connections.length, 0, 'the 0x9C target is not used after end()');
  });

  for (const state of ['connected', 'offline'] as const) {
    test(`reconnect() during end() (${state}) waits for the end, calls every end() back once, then connects`, {
      timeout: 5000,
    }, async (t) => {
      const { broker, client: c, conn } = await scene(t, { reconnectPeriod: 10_000 });
      if (state === 'offline') {
        conn.drop();
        await once(c, 'offline');
      }
      const events: string[] = [];
      for (const event of ['end', 'reconnect', 'connect'] as const) c.on(event, () => events.push(event));
      c.end(() => events.push('end callback'));
      const ended = c.endAsync();
      c.reconnect();
      await broker.accept();
      await once(c, 'connect');
      await ended;
      await sleep(50);
      assert.deepEqual(events, ['end', 'end callback', 'reconnect', 'connect']);
      assert.equal(c.connected, true);
      assert.equal(c.disconnected, false);
      if (state === 'connected') assert.equal((await broker.next(conn)).cmd, 'disconnect');
      const published = c.publishAsync('t', 'after', { qos: 1 });
      const pub = (await broker.next(broker.connections[1]!)) as { cmd: string; messageId: number };
      assert.equal(pub.cmd, 'publish');
      await broker.send(broker.connections[1]!, { cmd: 'puback', messageId: pub.messageId });
      await published;
    });
  }

  test('reconnect() during end() waits for in-flight messages as the end does', {
    timeout: 5000,
  }, async (t) => {
    const { broker, client: c, conn } = await scene(t, { reconnectPeriod: 0 });
    const published = c.publishAsync('t', 'in flight', { qos: 1 });
    const pub = (await broker.next(conn)) as { cmd: string; messageId: number };
    const ended = c.endAsync();
    c.reconnect();
    await sleep(50);
    assert.equal(broker.connections.length, 1, 'no reconnect before the end');
    await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
    await published;
    await ended;
    assert.equal((await broker.next(conn)).cmd, 'disconnect');
    await broker.accept();
    await once(c, 'connect');
  });

  test('end() after a reconnect() that waits for an earlier end() keeps the client ended', {
    timeout: 5000,
  }, async (t) => {
    const { broker, client: c } = await scene(t, { reconnectPeriod: 20 });
    const first = c.endAsync();
    c.reconnect();
    const second = c.endAsync();
    await Promise.all([first, second]);
    await sleep(100);
    assert.equal(broker.connections.length, 1);
    assert.equal(c.disconnected, true);
  });

  test('reconnect() reopens a client that end() without a callback was called on once more after it ended', {
    timeout: 5000,
  }, async (t) => {
    const { broker, client: c } = await scene(t, { reconnectPeriod: 0 });
    await c.endAsync();
    c.end();
    c.reconnect();
    await broker.accept();
    await once(c, 'connect');
  });

  test('resubscribes once, in batches, with the original options, after a reconnect without session', async (t) => {
    const {
      broker,
      client: c,
      conn: conn1,
    } = await scene(t, { protocolVersion: 5, reconnectPeriod: 10, subscribeBatchSize: 2 });
    c.subscribe({ a: { qos: 1, nl: true }, b: { qos: 2, rap: true }, c: { qos: 0, rh: 2 } });
    for (let i = 0; i < 2; i++) {
      const sub = (await broker.next(conn1)) as { messageId: number; subscriptions: { qos: number }[] };
      await broker.send(conn1, {
        cmd: 'suback',
        messageId: sub.messageId,
        granted: sub.subscriptions.map((s) => s.qos),
      });
    }
    await new Promise((r) => setTimeout(r, 20));
    dropConnection(c);
    // The second connection drops before the SUBACKs: the third sends the same SUBSCRIBEs, once.
    const conn2 = await broker.accept();
    const firstTry = [await broker.next(conn2), await broker.next(conn2)];
    assert.deepEqual(
      firstTry.map((p) => p.cmd),
      ['subscribe', 'subscribe'],
    );
    conn2.drop();
    const conn3 = await broker.accept();
    const subs = [await broker.next(conn3), await broker.next(conn3)] as unknown as {
      subscriptions: { topic: string; qos: number; nl: boolean; rap: boolean; rh: number }[];
    }[];
    const all = subs.flatMap((p) => p.subscriptions).sort((x, y) => x.topic.localeCompare(y.topic));
    assert.deepEqual(
      all.map((s) => [s.topic, s.qos, s.nl, s.rap, s.rh]),
      [
        ['a', 1, true, false, 0],
        ['b', 2, false, true, 0],
        ['c', 0, false, false, 2],
      ],
    );
    await assert.rejects(conn3.nextPacket(200), 'no further SUBSCRIBE');
  });

  test('sends the flows a store kept for the next client, with DUP set', async (t) => {
    const store = new Store({ clean: false });
    const {
      broker,
      client: first,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 0, outgoingStore: store, clean: false, clientId: 'kept' });
    first.publish('t', 'stored', { qos: 1 }, () => {});
    assert.equal(packetType(await conn1.nextPacket()), PacketType.PUBLISH);
    await first.endAsync(true);
    const second = track(
      connect(broker.url, { reconnectPeriod: 0, outgoingStore: store, clean: false, clientId: 'kept' }),
      t,
    );
    const conn2 = await broker.accept({ sessionPresent: true });
    const raw = await conn2.nextPacket();
    assert.equal(packetType(raw), PacketType.PUBLISH);
    assert.equal(raw[0]! & 0x08, 0x08);
    const pub = decode(raw) as { payload: Uint8Array; messageId: number };
    assert.equal(Buffer.from(pub.payload).toString(), 'stored');
    await broker.send(conn2, { cmd: 'puback', messageId: pub.messageId });
    await waitFor(() => store.size === 0, 2000, 'store emptied');
    void second;
  });

  test('sends a QoS 2 message again, not its stale PUBREL, when a FileStore outlives the session', async (t) => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileStores } = await import('../../runtime/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'mqttforge-rel-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const {
      broker,
      client: first,
      conn: conn1,
    } = await scene(t, { reconnectPeriod: 0, clean: false, clientId: 'rel', ...fileStores(dir) });
    first.publish('t', 'exactly', { qos: 2 }, () => {});
    const pub = (await broker.next(conn1)) as { messageId: number };
    await broker.send(conn1, { cmd: 'pubrec', messageId: pub.messageId });
    assert.equal((await broker.next(conn1)).cmd, 'pubrel');
    await first.endAsync(true); // as if the process died here
    const second = track(
      connect(broker.url, { reconnectPeriod: 0, clean: false, clientId: 'rel', ...fileStores(dir) }),
      t,
    );
    collectErrors(second);
    const conn2 = await broker.accept({ sessionPresent: false });
    const again = (await broker.next(conn2)) as { cmd: string; payload?: Uint8Array };
    assert.equal(again.cmd, 'publish');
    assert.equal(Buffer.from(again.payload!).toString(), 'exactly');
  });
});

describe('reconnect() on a live connection', () => {
  for (const reconnectPeriod of [0, 60_000]) {
    test(`sends DISCONNECT, connects again at once (reconnectPeriod ${reconnectPeriod}) and resends what was unacknowledged`, {
      timeout: 5000,
    }, async (t) => {
      const {
        broker,
        client: c,
        conn: conn1,
      } = await scene(t, { reconnectPeriod, clientId: 'live', clean: false });
      const events: string[] = [];
      for (const e of ['close', 'offline', 'reconnect', 'connect', 'end'] as const)
        c.on(e, () => events.push(e));
      const acked = c.publishAsync('t', 'kept', { qos: 1 });
      acked.catch(() => {}); // awaited below; a failed assertion before that must not leave it unhandled
      const first = (await broker.next(conn1)) as { cmd: string; messageId: number };
      assert.equal(first.cmd, 'publish');
      c.reconnect();
      assert.equal((await broker.next(conn1)).cmd, 'disconnect', 'a clean DISCONNECT: no will is published');
      const conn2 = await broker.accept({ sessionPresent: true });
      const again = (await broker.next(conn2)) as { cmd: string; messageId: number; dup: boolean };
      assert.equal(again.cmd, 'publish');
      assert.equal(again.messageId, first.messageId);
      assert.equal(again.dup, true);
      await broker.send(conn2, { cmd: 'puback', messageId: again.messageId });
      await acked;
      assert.deepEqual(events, ['close', 'reconnect', 'connect']);
      assert.equal(c.connected, true);
    });
  }
  test('sends DISCONNECT once for two reconnect() calls in one tick (the will is not published)', {
    timeout: 5000,
  }, async (t) => {
    const {
      broker,
      client: c,
      next,
    } = await scene(t, { reconnectPeriod: 0, will: { topic: 'w', payload: 'gone' } });
    c.reconnect();
    c.reconnect();
    assert.equal((await next(undefined, 1000)).cmd, 'disconnect');
    await broker.accept();
    await once(c, 'connect');
  });

  test('reconnects within a second when the peer does not close its side after DISCONNECT', {
    timeout: 8000,
  }, async (t) => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    // Half-open, as a stalled or black-holed peer: it answers CONNECT and never closes.
    const server = createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.once('data', () => s.write(Buffer.from([0x20, 0x02, 0x00, 0x00])));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const c = track(connect(`mqtt://127.0.0.1:${port}`, { keepalive: 0, reconnectPeriod: 60_000 }), t);
    collectErrors(c);
    t.after(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    await once(c, 'connect');
    const started = Date.now();
    c.reconnect();
    await once(c, 'connect', 4000);
    assert.equal(sockets.length, 2);
    assert.ok(Date.now() - started < 2500, `${Date.now() - started} ms`);
  });

  test('reconnect() in an offline handler with an async beforeReconnect: one reconnect, one hook call', {
    timeout: 5000,
  }, async (t) => {
    let hookCalls = 0;
    let reconnects = 0;
    const {
      broker,
      client: c,
      conn,
    } = await scene(t, {
      reconnectPeriod: 30,
      beforeReconnect: () => {
        hookCalls++;
        return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200));
      },
    });
    c.on('reconnect', () => reconnects++);
    c.once('offline', () => c.reconnect());
    conn.drop();
    await sleep(150); // past reconnectPeriod, before the hook resolves
    assert.equal(reconnects, 1);
    assert.equal(hookCalls, 1);
    await broker.accept();
    await once(c, 'connect');
    assert.equal(hookCalls, 1);
  });
});
