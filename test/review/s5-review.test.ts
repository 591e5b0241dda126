/**
 * Regression tests from the review of the session changes (store ordering, cbStorePut).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Store } from '../../runtime/index.js';
import type { PacketWithId } from '../../runtime/store.js';
import { scene } from '../client/support.js';

/** A Store whose put lands `ms` later (a store on a slow disk or a database). */
function slowStore(ms: number): { store: Store; inner: Store } {
  const inner = new Store();
  const store = Object.create(inner) as Store;
  store.put = (packet: PacketWithId, cb?: (error?: Error) => void) => {
    setTimeout(() => inner.put(packet, cb), ms);
    return store;
  };
  return { store, inner };
}

async function stored(store: Store): Promise<PacketWithId[]> {
  const packets: PacketWithId[] = [];
  for await (const packet of store.createStream()) packets.push(packet);
  return packets;
}

describe('s5 review: outgoing store', () => {
  test('a publish aborted while its put is pending is not left in the store', async (t) => {
    const { store, inner } = slowStore(20);
    const { client } = await scene(t, { outgoingStore: store, reconnectPeriod: 0 });
    const abort = new AbortController();
    let storedCalls = 0;
    const publish = client.publishAsync('t', 'm', {
      qos: 1,
      signal: abort.signal,
      cbStorePut: () => storedCalls++,
    });
    abort.abort();
    await assert.rejects(publish, { code: 'MQTT_ERR_ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    // Left there, a restarted client (or the next one given this store) would send it.
    assert.deepEqual(await stored(inner), []);
    assert.equal(storedCalls, 0);
  });
});
