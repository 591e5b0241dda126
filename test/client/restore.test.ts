/**
 * Restoring the unfinished flows of an outgoing store that reads back asynchronously (an MQTT.js
 * `Store` such as mqtt-level-store): calls made meanwhile never take a stored message's id, and
 * go out after the stored messages.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decode, type PacketInput } from '../../generated/index.js';
import {
  connect,
  connectAsync,
  DefaultMessageIdProvider,
  type MqttClient,
  UniqueMessageIdProvider,
} from '../../runtime/index.js';
import type { MessageIdProvider } from '../../runtime/message-id.js';
import type { PacketWithId, StoreLike } from '../../runtime/store.js';
import { seqPayload } from '../faults/support.js';
import { PacketType, packetType } from '../helpers/fake-broker.js';
import { isMosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { collectErrors, once, startScriptedBroker, waitFor } from './support.js';

/**
 * The MQTT.js Store interface with a stream like a LevelDB iterator's: a snapshot taken when
 * `createStream()` is called, each entry read after a delay, as from disk; with `gate`, nothing
 * is read before it resolves.
 */
class SlowStore implements StoreLike {
  readonly packets = new Map<number, PacketWithId>();
  private yielded = 0;
  private readonly readers: { count: number; resolve: () => void }[] = [];

  constructor(
    stored: PacketWithId[],
    private readonly gate: Promise<void> = Promise.resolve(),
  ) {
    for (const p of stored) this.packets.set(p.messageId!, p);
  }

  put(packet: PacketWithId, cb?: (error?: Error) => void): this {
    this.packets.set(packet.messageId!, packet);
    setImmediate(() => cb?.());
    return this;
  }

  get(packet: { messageId?: number }, cb: (error: Error | null, packet?: PacketWithId) => void): this {
    const found = this.packets.get(packet.messageId!);
    setImmediate(() => (found ? cb(null, found) : cb(new Error('missing packet'))));
    return this;
  }

  del(packet: { messageId?: number }, cb?: (error: Error | null, packet?: PacketWithId) => void): this {
    const found = this.packets.get(packet.messageId!);
    this.packets.delete(packet.messageId!);
    setImmediate(() => (found ? cb?.(null, found) : cb?.(new Error('missing packet'))));
    return this;
  }

  createStream(): Readable {
    const snapshot = [...this.packets.values()];
    const self = this;
    return Readable.from(
      (async function* () {
        await self.gate;
        for (const packet of snapshot) {
          await delay(2);
          self.yielded++;
          for (const r of self.readers.filter((x) => x.count <= self.yielded)) r.resolve();
          yield packet;
        }
      })(),
    );
  }

  /** Resolves once the stream has handed out `count` entries. */
  streamed(count: number): Promise<void> {
    if (this.yielded >= count) return Promise.resolve();
    return new Promise((resolve) => this.readers.push({ count, resolve }));
  }

  close(cb?: (error?: Error) => void): void {
    cb?.();
  }
}

/** The QoS `qos` PUBLISHes a previous client left in its store: sequence numbers 0..ids.length-1. */
function storedPublishes(topic: string, qos: 1 | 2, ids: number[]): PacketWithId[] {
  return ids.map(
    (messageId, seq) =>
      ({
        cmd: 'publish',
        topic,
        payload: seqPayload(seq),
        qos,
        messageId,
        retain: false,
        dup: false,
      }) as never,
  );
}

/** The next `count` ids a provider hands out, without using them up. */
function idsAhead(provider: MessageIdProvider, count: number): number[] {
  const last = provider.getLastAllocated() ?? 0;
  return Array.from({ length: count }, (_, i) => ((last + i) % 0xffff) + 1);
}

/** Fails the test when a PUBLISH is written with an id another in-flight message still holds. */
function watchInflightIds(client: MqttClient): { clashes: number[] } {
  const inflight = new Set<number>();
  const result = { clashes: [] as number[] };
  client.on('packetsend', (p) => {
    const packet = p as PacketInput & { messageId?: number; qos?: number };
    if (packet.cmd !== 'publish' || !packet.qos) return;
    if (inflight.has(packet.messageId!)) result.clashes.push(packet.messageId!);
    inflight.add(packet.messageId!);
  });
  client.on('packetreceive', (p) => {
    if (p.cmd === 'puback' || p.cmd === 'pubcomp') inflight.delete(p.messageId);
  });
  return result;
}

const seqOf = (payload: Uint8Array) => Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32BE(0);

describe('restoring an asynchronous outgoing store', () => {
  const cases = [
    { qos: 2, version: 5, provider: 'UniqueMessageIdProvider' },
    { qos: 1, version: 4, provider: 'DefaultMessageIdProvider' },
  ] as const;
  for (const { qos, version, provider: providerName } of cases) {
    test(`publishes made during the restore get ids of their own and go after the stored ones, QoS ${qos}, ${providerName}`, {
      skip: !isMosquittoAvailable(),
    }, async (t) => {
      const broker = await startMosquitto({ extraConfig: 'max_queued_messages 0\nmax_inflight_messages 0' });
      t.after(() => broker.stop());
      const topic = `restore/${qos}`;
      const stored = 40;
      const fresh = 40;
      const provider =
        providerName === 'UniqueMessageIdProvider'
          ? new UniqueMessageIdProvider()
          : new DefaultMessageIdProvider();
      // The stored ids are those the provider hands out next, as after a restart of the process.
      const store = new SlowStore(storedPublishes(topic, qos, idsAhead(provider, stored)));

      const sub = await connectAsync(broker.url, { protocolVersion: version, reconnectPeriod: 0 });
      t.after(() => sub.endAsync(true));
      const received: number[] = [];
      sub.on('message', (_t, payload) => received.push(seqOf(payload)));
      await sub.subscribeAsync(topic, { qos });

      const pub = connect(broker.url, {
        protocolVersion: version,
        reconnectPeriod: 0,
        outgoingStore: store,
        messageIdProvider: provider,
      });
      t.after(() => pub.endAsync(true));
      const errors = collectErrors(pub);
      const ids = watchInflightIds(pub);
      const results: (Error | null)[] = [];
      const publish = (seq: number) =>
        pub.publish(topic, seqPayload(seq), { qos }, (error) => results.push(error ?? null));
      // Half at once, half while the stream is half read.
      for (let seq = stored; seq < stored + fresh / 2; seq++) publish(seq);
      await store.streamed(stored / 2);
      for (let seq = stored + fresh / 2; seq < stored + fresh; seq++) publish(seq);

      // Bounded; what did not arrive shows in the assertions below.
      await waitFor(() => results.length === fresh && received.length >= stored + fresh, 5000).catch(
        () => {},
      );
      const all = Array.from({ length: stored + fresh }, (_, i) => i);
      assert.deepEqual(received, all, 'each message once, the stored ones first');
      assert.deepEqual(results, Array(fresh).fill(null), 'every publish callback succeeds');
      assert.deepEqual(ids.clashes, [], 'no two in-flight messages share an id');
      await waitFor(() => store.packets.size === 0, 2000, 'the store emptied');
      assert.deepEqual(errors, []);
    });
  }

  test('end() waits for a publish made during the restore, and end(true) fails it with MQTT_ERR_CLIENT_ENDED', async (t) => {
    const broker = await startScriptedBroker(4);
    t.after(() => broker.stop());
    for (const force of [false, true]) {
      let open = () => {};
      const store = new SlowStore(
        [],
        new Promise<void>((resolve) => {
          open = resolve;
        }),
      );
      const c = connect(broker.url, { reconnectPeriod: 0, outgoingStore: store });
      t.after(() => c.end(true));
      collectErrors(c);
      const connected = once(c, 'connect');
      const conn = await broker.accept();
      await connected;
      const settled = c.publishAsync('t', 'held', { qos: 1 }).then(
        () => 'acked',
        (e: { code?: string }) => e.code,
      );
      const ended = c.endAsync(force);
      open();
      if (!force) {
        const pub = (await broker.next(conn)) as { cmd: string; messageId: number };
        assert.equal(pub.cmd, 'publish');
        await broker.send(conn, { cmd: 'puback', messageId: pub.messageId });
        assert.equal((await broker.next(conn)).cmd, 'disconnect');
      }
      await ended;
      assert.equal(await settled, force ? 'MQTT_ERR_CLIENT_ENDED' : 'acked');
    }
  });

  for (const force of [true, false]) {
    test(`a restore that finishes after end(${force}) queues nothing, and calls made after the end fail at once with MQTT_ERR_CLIENT_ENDED`, async (t) => {
      const broker = await startScriptedBroker(4);
      t.after(() => broker.stop());
      let open = () => {};
      const store = new SlowStore(
        storedPublishes('t', 1, [1, 2]),
        new Promise<void>((resolve) => {
          open = resolve;
        }),
      );
      const c = connect(broker.url, { reconnectPeriod: 0, outgoingStore: store });
      t.after(() => c.end(true));
      collectErrors(c);
      const connected = once(c, 'connect');
      // end() waits for the restore while calls are held for it, as the restart of the stored flows
      // after a CONNACK without session is: with a session present nothing is, and end() goes ahead.
      await broker.accept({ sessionPresent: !force });
      await connected;
      await c.endAsync(force);

      const outcomes: (string | undefined)[] = [];
      const settle = (error?: Error | null) =>
        outcomes.push((error as { code?: string } | null)?.code ?? 'ok');
      c.publish('t', 'cb', { qos: 1 }, settle);
      c.subscribe('s', { qos: 1 }, settle);
      c.unsubscribe('s', settle);
      c.publishAsync('t', 'promise', { qos: 1 }).then(() => settle(), settle);
      c.subscribeAsync('s').then(() => settle(), settle);
      c.unsubscribeAsync('s').then(() => settle(), settle);
      await waitFor(() => outcomes.length === 6, 500, 'every call to settle before the restore ends').catch(
        () => {},
      );
      assert.deepEqual(outcomes, Array(6).fill('MQTT_ERR_CLIENT_ENDED'));

      open();
      await waitFor(() => !(c as unknown as { restoring_: boolean }).restoring_, 2000, 'the restore to end');
      assert.deepEqual(outcomes, Array(6).fill('MQTT_ERR_CLIENT_ENDED'), 'nothing settles twice');
      // Reopened, the client sends none of what the late restore read: it was not queued.
      c.reconnect();
      const conn2 = await broker.accept({ sessionPresent: true });
      await assert.rejects(conn2.nextPacket(200), 'no PUBLISH, SUBSCRIBE or UNSUBSCRIBE after reconnect()');
      assert.equal(store.packets.size, 2, 'the stored flows stay in the store for the next client');
    });
  }

  test('a CONNACK without session and a SUBSCRIBE during the restore: stored messages start over first, the SUBSCRIBE gets a free id', async (t) => {
    const broker = await startScriptedBroker(5);
    t.after(() => broker.stop());
    let open = () => {};
    const store = new SlowStore(
      storedPublishes('t', 1, [1, 2, 3]),
      new Promise<void>((resolve) => {
        open = resolve;
      }),
    );
    const c = connect(broker.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      outgoingStore: store,
      messageIdProvider: new UniqueMessageIdProvider(),
    });
    t.after(() => c.end(true));
    collectErrors(c);
    const connected = once(c, 'connect');
    const conn = await broker.accept({ sessionPresent: false });
    await connected;
    c.subscribe('s', { qos: 1 });
    open();
    const raw = [await conn.nextPacket(), await conn.nextPacket(), await conn.nextPacket()];
    // The server has no session: the stored messages start over as new PUBLISHes (DUP=0).
    assert.deepEqual(
      raw.map((b) => [packetType(b), b[0]! & 0x08]),
      [
        [PacketType.PUBLISH, 0],
        [PacketType.PUBLISH, 0],
        [PacketType.PUBLISH, 0],
      ],
    );
    assert.deepEqual(
      raw.map((b) => (decode(b, { protocolVersion: 5 }) as { messageId: number }).messageId),
      [1, 2, 3],
    );
    const sub = (await broker.next(conn)) as { cmd: string; messageId: number };
    assert.equal(sub.cmd, 'subscribe');
    assert.ok(![1, 2, 3].includes(sub.messageId), `SUBSCRIBE id ${sub.messageId} is not a stored one`);
  });
});
