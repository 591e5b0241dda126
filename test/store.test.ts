import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMqttError } from '../runtime/errors.js';
import { type PacketWithId, Store, type StoreLike } from '../runtime/store.js';

interface TestPacket extends PacketWithId {
  cmd: string;
  messageId: number;
  topic?: string;
}

function publish(messageId: number, topic = 't'): TestPacket {
  return { cmd: 'publish', messageId, topic };
}

function get(store: Store<TestPacket>, messageId: number): Promise<TestPacket | undefined> {
  return new Promise((resolve, reject) =>
    store.get({ messageId }, (error, packet) => (error ? reject(error) : resolve(packet))),
  );
}

async function collect<P>(iterable: AsyncIterable<P>): Promise<P[]> {
  const out: P[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('Store', () => {
  test('put then get returns the packet by message id', async () => {
    const store = new Store<TestPacket>();
    let putDone = false;
    store.put(publish(1), () => {
      putDone = true;
    });
    assert.equal(putDone, true);
    assert.deepEqual(await get(store, 1), publish(1));
  });

  test('get reports MQTT_ERR_STORE_MISSING_PACKET for an unknown id', async () => {
    const store = new Store<TestPacket>();
    await assert.rejects(
      get(store, 7),
      (error) => isMqttError(error) && error.code === 'MQTT_ERR_STORE_MISSING_PACKET',
    );
  });

  test('del removes the packet and passes it to the callback', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(1));
    let deleted: TestPacket | undefined;
    store.del({ messageId: 1 }, (error, packet) => {
      assert.equal(error, null);
      deleted = packet;
    });
    assert.deepEqual(deleted, publish(1));
    assert.equal(store.size, 0);
    store.del({ messageId: 1 }, (error) =>
      assert.equal(isMqttError(error) && error.code, 'MQTT_ERR_STORE_MISSING_PACKET'),
    );
  });

  test('put without a messageId reports MQTT_ERR_NO_MESSAGE_ID', () => {
    const store = new Store();
    let code: string | undefined;
    store.put({ cmd: 'publish' }, (error) => {
      code = isMqttError(error) ? error.code : undefined;
    });
    assert.equal(code, 'MQTT_ERR_NO_MESSAGE_ID');
    assert.equal(store.size, 0);
  });

  test('a replaced packet keeps its place in insertion order', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(3)).put(publish(1)).put(publish(2));
    store.put({ cmd: 'pubrel', messageId: 1 });
    const packets = await collect(store.createStream());
    assert.deepEqual(
      packets.map((p) => `${p.cmd} ${p.messageId}`),
      ['publish 3', 'pubrel 1', 'publish 2'],
    );
  });

  test('createStream is a snapshot: later puts are not in it', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(1));
    const stream = store.createStream();
    store.put(publish(2));
    assert.deepEqual(
      (await collect(stream)).map((p) => p.messageId),
      [1],
    );
  });

  test('createStream emits data, end then close to event listeners', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(1)).put(publish(2));
    const events: string[] = [];
    const stream = store.createStream();
    await new Promise<void>((resolve) => {
      stream.on('data', (packet) => events.push(`data ${packet.messageId}`));
      stream.on('end', () => events.push('end'));
      stream.on('close', () => {
        events.push('close');
        resolve();
      });
    });
    assert.deepEqual(events, ['data 1', 'data 2', 'end', 'close']);
  });

  test('createStream emits nothing synchronously', () => {
    const store = new Store<TestPacket>();
    store.put(publish(1));
    let seen = 0;
    store.createStream().on('data', () => seen++);
    assert.equal(seen, 0);
  });

  test('destroy stops the flow and emits close once without end', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(1)).put(publish(2)).put(publish(3));
    const events: string[] = [];
    const stream = store.createStream();
    await new Promise<void>((resolve) => {
      stream.on('data', (packet) => {
        events.push(`data ${packet.messageId}`);
        stream.destroy();
        stream.destroy();
      });
      stream.on('end', () => events.push('end'));
      stream.on('close', () => {
        events.push('close');
        setTimeout(resolve, 5);
      });
    });
    assert.deepEqual(events, ['data 1', 'close']);
  });

  test('breaking out of for await stops the iteration', async () => {
    const store = new Store<TestPacket>();
    for (let id = 1; id <= 5; id++) store.put(publish(id));
    const seen: number[] = [];
    for await (const packet of store.createStream()) {
      seen.push(packet.messageId);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [1, 2]);
  });

  test('close drops the packets of a clean store', async () => {
    const store = new Store<TestPacket>();
    store.put(publish(1));
    await new Promise<void>((resolve) => store.close(() => resolve()));
    assert.equal(store.size, 0);
    assert.deepEqual(store.options, { clean: true });
  });

  test('close keeps the packets when clean is false', () => {
    const store = new Store<TestPacket>({ clean: false });
    store.put(publish(1));
    store.close();
    assert.equal(store.size, 1);
  });

  test('satisfies StoreLike, which also admits a store whose stream is a Node Readable', async () => {
    const { Readable } = await import('node:stream');
    const ours: StoreLike<TestPacket> = new Store<TestPacket>();
    const nodeStyle: StoreLike<TestPacket> = {
      put: () => undefined,
      get: () => undefined,
      del: () => undefined,
      createStream: () => Readable.from([publish(9)]),
      close: () => undefined,
    };
    assert.deepEqual(await collect(nodeStyle.createStream()), [publish(9)]);
    assert.ok(ours);
  });
});
