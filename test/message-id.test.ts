import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DefaultMessageIdProvider, UniqueMessageIdProvider } from '../runtime/message-id.js';

describe('DefaultMessageIdProvider', () => {
  test('starts at a random id from 1 to 65534 and increments', () => {
    const provider = new DefaultMessageIdProvider();
    const first = provider.allocate();
    assert.ok(first >= 1 && first <= 65534);
    assert.equal(provider.allocate(), first + 1);
    assert.equal(provider.getLastAllocated(), first + 1);
  });

  test('wraps from 65535 to 1', () => {
    const provider = new DefaultMessageIdProvider();
    while (provider.getLastAllocated() !== 65534) provider.allocate();
    assert.equal(provider.allocate(), 65535);
    assert.equal(provider.getLastAllocated(), 65535);
    assert.equal(provider.allocate(), 1);
    assert.equal(provider.getLastAllocated(), 1);
  });

  test('register always succeeds and deallocate and clear do nothing', () => {
    const provider = new DefaultMessageIdProvider();
    const last = provider.getLastAllocated();
    assert.equal(provider.register(10), true);
    assert.equal(provider.register(10), true);
    provider.deallocate(10);
    provider.clear();
    assert.equal(provider.getLastAllocated(), last);
  });
});

describe('UniqueMessageIdProvider', () => {
  test('allocates 1, 2, 3 from a fresh provider', () => {
    const provider = new UniqueMessageIdProvider();
    assert.equal(provider.getLastAllocated(), null);
    assert.deepEqual([provider.allocate(), provider.allocate(), provider.allocate()], [1, 2, 3]);
    assert.equal(provider.getLastAllocated(), 3);
  });

  test('skips ids that are registered as busy', () => {
    const provider = new UniqueMessageIdProvider();
    assert.equal(provider.register(2), true);
    assert.equal(provider.register(3), true);
    assert.equal(provider.allocate(), 1);
    assert.equal(provider.allocate(), 4);
  });

  test('register refuses an id in use and ids out of range', () => {
    const provider = new UniqueMessageIdProvider();
    const id = provider.allocate();
    assert.equal(provider.register(id as number), false);
    assert.equal(provider.register(0), false);
    assert.equal(provider.register(65536), false);
    assert.equal(provider.register(1.5), false);
  });

  test('continues after the last id instead of reusing a just-freed one', () => {
    const provider = new UniqueMessageIdProvider();
    provider.allocate();
    provider.allocate();
    provider.deallocate(1);
    assert.equal(provider.allocate(), 3);
  });

  test('wraps from 65535 to the lowest free id', () => {
    const provider = new UniqueMessageIdProvider();
    for (let id = 1; id <= 65534; id++) provider.allocate();
    for (let id = 1; id <= 10; id++) provider.deallocate(id);
    assert.equal(provider.allocate(), 65535);
    assert.equal(provider.allocate(), 1);
    assert.equal(provider.allocate(), 2);
  });

  test('returns null when all 65535 ids are in use, and an id again once one is freed', () => {
    const provider = new UniqueMessageIdProvider();
    const seen = new Set<number>();
    for (let i = 0; i < 65535; i++) {
      const id = provider.allocate();
      assert.ok(id !== null && id >= 1 && id <= 65535);
      seen.add(id);
    }
    assert.equal(seen.size, 65535);
    assert.equal(provider.size, 65535);
    assert.equal(provider.allocate(), null);
    provider.deallocate(40000);
    assert.equal(provider.allocate(), 40000);
    assert.equal(provider.allocate(), null);
  });

  test('finds the single free id across word boundaries', () => {
    for (const free of [1, 31, 32, 33, 63, 64, 30000, 65504, 65535]) {
      const provider = new UniqueMessageIdProvider();
      for (let id = 1; id <= 65535; id++) if (id !== free) provider.register(id);
      assert.equal(provider.allocate(), free, `free id ${free}`);
    }
  });

  test('deallocating a free or invalid id changes nothing', () => {
    const provider = new UniqueMessageIdProvider();
    provider.allocate();
    provider.deallocate(5);
    provider.deallocate(0);
    provider.deallocate(70000);
    assert.equal(provider.size, 1);
  });

  test('clear frees every id', () => {
    const provider = new UniqueMessageIdProvider();
    for (let i = 0; i < 100; i++) provider.allocate();
    provider.clear();
    assert.equal(provider.size, 0);
    assert.equal(provider.isUsed(50), false);
    assert.equal(provider.register(50), true);
  });

  test('allocates the full pool in well under a second', () => {
    const provider = new UniqueMessageIdProvider();
    for (let id = 1; id <= 65535; id += 2) provider.register(id);
    const start = performance.now();
    for (let round = 0; round < 10; round++) {
      const id = provider.allocate();
      assert.ok(id !== null && id % 2 === 0);
    }
    for (let i = 0; i < 30000; i++) provider.allocate();
    assert.ok(performance.now() - start < 1000);
  });
});
