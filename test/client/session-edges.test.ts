/**
 * The session at its edges, against a scripted broker: stores that answer late, the order of
 * end() and reconnect(), re-authentication before the first connection, and reconnect hooks that
 * overlap. Each case once failed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Packet } from '../../generated/index.js';
import { connect, type MqttClient, Store, type StoreLike } from '../../runtime/index.js';
import type { PacketStreamLike, PacketWithId } from '../../runtime/store.js';
import { collectErrors, once, sleep, startScriptedBroker, waitFor } from './support.js';

function track(c: MqttClient, t: { after(fn: () => unknown): void }): MqttClient {
  t.after(() => c.end(true));
  return c;
}

/** A scripted broker at `version` and a client connected to it; both go when the test ends. */
async function scene(
  t: { after(fn: () => unknown): void },
  version: 4 | 5,
  options: Parameters<typeof connect>[1],
) {
  const broker = await startScriptedBroker(version);
  t.after(() => broker.stop());
  const c = track(connect(broker.url, options), t);
  const errors = collectErrors(c);
  const conn = await broker.accept();
  await once(c, 'connect');
  return { broker, c, conn, errors };
}

/** Everything `conn` sends until it has been quiet for `quietMs`. */
async function drain(
  broker: Awaited<ReturnType<typeof startScriptedBroker>>,
  conn: Parameters<typeof broker.next>[0],
  quietMs = 300,
): Promise<Packet[]> {
  const packets: Packet[] = [];
  for (;;) {
    try {
      packets.push(await broker.next(conn, quietMs));
    } catch {
      return packets;
    }
  }
}

/**
 * An in-memory Store whose `get` (and, with `slowDel`, `del`) answers `ms` later, as a store on
 * disk or a database may.
 */
class SlowReadStore extends Store {
  constructor(
    private readonly ms: number,
    private readonly slowDel = true,
  ) {
    super();
  }

  override get(
    packet: Pick<PacketWithId, 'messageId'>,
    cb: (e: Error | null, p?: PacketWithId) => void,
  ): this {
    setTimeout(() => super.get(packet, cb), this.ms);
    return this;
  }

  override del(
    packet: Pick<PacketWithId, 'messageId'>,
    cb?: (e: Error | null, p?: PacketWithId) => void,
  ): this {
    if (!this.slowDel) return super.del(packet, cb);
    setTimeout(() => super.del(packet, cb), this.ms);
    return this;
  }
}

const qos2 = (messageId: number) =>
  ({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from('q2'),
    qos: 2,
    messageId,
    dup: false,
    retain: false,
  }) as const;

describe('incoming QoS 2 with a slow incoming store', () => {
  for (const slowDel of [false, true]) {
    test(`a PUBREL sent again while the store reads the message (del ${slowDel ? 'slow' : 'at once'}): one PUBCOMP, success, and one delivery`, async (t) => {
      const { broker, c, conn } = await scene(t, 5, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        incomingStore: new SlowReadStore(50, slowDel),
      });
      let delivered = 0;
      c.on('message', () => delivered++);
      await broker.send(conn, qos2(7));
      assert.equal((await broker.next(conn)).cmd, 'pubrec');
      await broker.send(conn, { cmd: 'pubrel', messageId: 7 });
      await broker.send(conn, { cmd: 'pubrel', messageId: 7 });
      const sent = (await drain(broker, conn)).map((p) => [
        p.cmd,
        (p as { messageId?: number }).messageId,
        (p as { reasonCode?: number }).reasonCode ?? 0,
      ]);
      assert.deepEqual(sent, [['pubcomp', 7, 0]]);
      assert.equal(delivered, 1);
    });
  }

  test('a PUBREL on the next connection while the store reads the message: PUBCOMP there, once', async (t) => {
    const { broker, c, conn } = await scene(t, 5, {
      protocolVersion: 5,
      reconnectPeriod: 10,
      clean: false,
      clientId: 'slow-q2',
      incomingStore: new SlowReadStore(100),
    });
    let delivered = 0;
    c.on('message', () => delivered++);
    await broker.send(conn, qos2(8));
    assert.equal((await broker.next(conn)).cmd, 'pubrec');
    await broker.send(conn, { cmd: 'pubrel', messageId: 8 });
    await sleep(10); // the store's get is under way
    conn.drop();
    const conn2 = await broker.accept({ sessionPresent: true });
    await broker.send(conn2, { cmd: 'pubrel', messageId: 8 });
    const sent = (await drain(broker, conn2, 500)).map((p) => [
      p.cmd,
      (p as { messageId?: number }).messageId,
      (p as { reasonCode?: number }).reasonCode ?? 0,
    ]);
    assert.deepEqual(sent, [['pubcomp', 8, 0]]);
    assert.equal(delivered, 1);
  });
});

describe('cbStorePut', () => {
  /** A Store whose `put` fails, or answers `ms` later (on success as well, with `failing` false). */
  class PutStore extends Store {
    constructor(
      public failing: boolean,
      private readonly ms?: number,
    ) {
      super();
    }

    override put(packet: PacketWithId, cb?: (error?: Error) => void): this {
      const answer = () => {
        if (this.failing) cb?.(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        else super.put(packet, cb);
      };
      if (this.ms === undefined) answer();
      else setTimeout(answer, this.ms);
      return this;
    }
  }

  for (const when of ['at once', 'later'] as const) {
    test(`a put that calls back with an error (${when}): no cbStorePut, the publish fails with it, nothing is sent`, {
      timeout: 5000,
    }, async (t) => {
      const store = new PutStore(true, when === 'later' ? 20 : undefined);
      const { broker, c, conn, errors } = await scene(t, 4, { reconnectPeriod: 0, outgoingStore: store });
      let storePuts = 0;
      const outcome = new Promise<string>((resolve) => {
        c.publish('t', 'x', { qos: 1, cbStorePut: () => storePuts++ }, (error) =>
          resolve((error as { code?: string } | undefined)?.code ?? 'ok'),
        );
        setTimeout(() => resolve('no callback'), 500);
      });
      assert.equal(await outcome, 'ENOSPC');
      await assert.rejects(broker.next(conn, 200), 'no PUBLISH is written');
      assert.equal(storePuts, 0);
      assert.deepEqual(errors, [], 'the error goes to the publish, not to `error` as well');
      // Nothing is left behind: the next publish is stored and sent.
      store.failing = false;
      c.publish('t', 'y', { qos: 1, cbStorePut: () => storePuts++ });
      const next = (await broker.next(conn)) as { cmd: string; payload: Uint8Array };
      assert.deepEqual([next.cmd, Buffer.from(next.payload).toString()], ['publish', 'y']);
      assert.equal(storePuts, 1);
    });
  }

  test('a QoS 0 message is never stored: no cbStorePut, as in MQTT.js', async (t) => {
    const { broker, c, conn } = await scene(t, 4, { reconnectPeriod: 0 });
    let storePuts = 0;
    c.publish('t', 'q0', { qos: 0, cbStorePut: () => storePuts++ });
    assert.equal((await broker.next(conn)).cmd, 'publish');
    await sleep(20);
    assert.equal(storePuts, 0);
  });

  test('a put that succeeds later: cbStorePut once, then the PUBLISH, in publish order', {
    timeout: 5000,
  }, async (t) => {
    const { broker, c, conn } = await scene(t, 4, {
      reconnectPeriod: 0,
      outgoingStore: new PutStore(false, 20),
    });
    const events: string[] = [];
    c.on('packetsend', (p) => {
      if (p.cmd === 'publish') events.push(`sent ${String(p.payload)}`);
    });
    c.publish('t', 'a', { qos: 1, cbStorePut: () => events.push('stored a') });
    c.publish('t', 'b', { qos: 0 });
    for (const expected of ['a', 'b']) {
      const p = (await broker.next(conn)) as { cmd: string; payload: Uint8Array; messageId?: number };
      assert.equal(Buffer.from(p.payload).toString(), expected);
      if (p.messageId) await broker.send(conn, { cmd: 'puback', messageId: p.messageId });
    }
    assert.deepEqual(events, ['stored a', 'sent a', 'sent b']);
  });
});

describe('reauthenticate() before the first connection', () => {
  const options = {
    protocolVersion: 5 as const,
    reconnectPeriod: 0,
    properties: { authenticationMethod: 'M' },
  };

  test('with manualConnect: rejects as not connected (MQTT_ERR_CONNECTION_CLOSED), not as a missing Authentication Method', async (t) => {
    const c = track(connect('mqtt://127.0.0.1:1', { ...options, manualConnect: true }), t);
    collectErrors(c);
    await assert.rejects(c.reauthenticate(), { name: 'MqttClientError', code: 'MQTT_ERR_CONNECTION_CLOSED' });
  });

  test('while the first CONNECT waits for its CONNACK: rejects as not connected, and sends no AUTH', async (t) => {
    const broker = await startScriptedBroker(5);
    t.after(() => broker.stop());
    const c = track(connect(broker.url, options), t);
    collectErrors(c);
    const conn = await broker.nextConnection();
    assert.equal((await broker.next(conn)).cmd, 'connect');
    await assert.rejects(c.reauthenticate(), { name: 'MqttClientError', code: 'MQTT_ERR_CONNECTION_CLOSED' });
    await assert.rejects(broker.next(conn, 200), 'no AUTH before CONNACK');
  });
});

describe('end() and reconnect() while an asynchronous store is read back', () => {
  /** An in-memory store whose read back (`createStream`) gives nothing until `open()`. */
  class GatedStore implements StoreLike {
    open = () => {};
    private readonly gate = new Promise<void>((resolve) => {
      this.open = resolve;
    });
    private readonly inner = new Store();

    put(packet: PacketWithId, cb?: (error?: Error) => void): this {
      this.inner.put(packet, cb);
      return this;
    }

    get(packet: Pick<PacketWithId, 'messageId'>, cb: (e: Error | null, p?: PacketWithId) => void): this {
      this.inner.get(packet, cb);
      return this;
    }

    del(packet: Pick<PacketWithId, 'messageId'>, cb?: (e: Error | null, p?: PacketWithId) => void): this {
      this.inner.del(packet, cb);
      return this;
    }

    createStream(): PacketStreamLike<PacketWithId> {
      const { gate, inner } = this;
      const generator = (async function* (): AsyncGenerator<PacketWithId> {
        await gate;
        yield* inner.createStream();
      })();
      return Object.assign(generator, { destroy: () => generator.return(undefined) });
    }

    close(cb?: (error?: Error) => void): void {
      this.inner.close(cb);
    }
  }

  test('reconnect() after an end() held for the read back: the end finishes and calls back, then the client connects and stays', {
    timeout: 5000,
  }, async (t) => {
    const store = new GatedStore();
    const { broker, c, conn } = await scene(t, 4, { reconnectPeriod: 0, outgoingStore: store });
    const events: string[] = [];
    c.on('end', () => events.push('end'));
    c.on('connect', () => events.push('connect'));
    c.publish('t', 'held', { qos: 1 }, (error) => events.push(`publish ${error ? 'failed' : 'acked'}`));
    c.end((error) => events.push(`end callback${error ? ' error' : ''}`));
    c.reconnect(); // after end(): it wins, once the end is over
    await sleep(50);
    assert.equal(broker.connections.length, 1, 'no new connection while the end is held');
    store.open();
    const pub = (await broker.next(conn)) as { cmd: string; messageId: number };
    assert.equal(pub.cmd, 'publish');
    await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
    assert.equal((await broker.next(conn)).cmd, 'disconnect');
    await broker.accept();
    await waitFor(() => events.includes('connect'), 2000, 'the reconnect');
    await sleep(100);
    assert.deepEqual(events, ['publish acked', 'end', 'end callback', 'connect']);
    assert.equal(c.connected, true, 'the end held back does not close the connection reconnect() made');
    assert.equal(c.disconnected, false);
  });

  test('end() after reconnect() after an end() held for the read back: the client ends', {
    timeout: 5000,
  }, async (t) => {
    const store = new GatedStore();
    const { broker, c, conn } = await scene(t, 4, { reconnectPeriod: 0, outgoingStore: store });
    c.publish('t', 'held', { qos: 1 });
    c.end();
    c.reconnect();
    const ended = c.endAsync();
    store.open();
    const pub = (await broker.next(conn)) as { cmd: string; messageId: number };
    await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
    await ended;
    await sleep(100);
    assert.equal(broker.connections.length, 1, 'the last call, end(), wins');
    assert.equal(c.disconnected, true);
  });
});

describe('an asynchronous beforeReconnect', () => {
  for (const trigger of [
    'reconnect() twice',
    'reconnect() while the timer’s attempt runs its hook',
  ] as const) {
    test(`${trigger}: one hook at a time, one attempt`, { timeout: 5000 }, async (t) => {
      let running = 0;
      let mostAtOnce = 0;
      let calls = 0;
      const { broker, c, conn } = await scene(t, 4, {
        reconnectPeriod: trigger === 'reconnect() twice' ? 0 : 20,
        beforeReconnect: () => {
          calls++;
          mostAtOnce = Math.max(mostAtOnce, ++running);
          return new Promise<undefined>((resolve) =>
            setTimeout(() => {
              running--;
              resolve(undefined);
            }, 150),
          );
        },
      });
      let reconnects = 0;
      c.on('reconnect', () => reconnects++);
      conn.drop();
      await waitFor(() => !c.connected, 2000, 'the drop');
      if (trigger === 'reconnect() twice') {
        c.reconnect();
        c.reconnect();
      } else {
        await waitFor(() => reconnects === 1, 2000, 'the timer’s attempt');
        c.reconnect();
      }
      await broker.accept();
      await once(c, 'connect');
      await sleep(200);
      assert.deepEqual({ calls, mostAtOnce, reconnects }, { calls: 1, mostAtOnce: 1, reconnects: 1 });
      assert.equal(broker.connections.length, 2, 'one new connection');
    });
  }
});
