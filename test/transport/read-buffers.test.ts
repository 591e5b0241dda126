/** ReadBuffers: where TCP reads land (see runtime/transport/read-buffers.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QUIET_BYTES, ReadBuffers, SHARED_BYTES, SLAB_BYTES } from '../../runtime/transport/read-buffers.js';

/** What a socket read does: write `length` bytes of `fill` into the room, then report them. */
function read(buffers: ReadBuffers, length: number, fill: number): Buffer {
  const room = buffers.next();
  assert.ok(length <= room.length, `a read of ${length} fits its room of ${room.length}`);
  room.fill(fill, 0, length);
  return buffers.filled(room, length);
}

describe('ReadBuffers', () => {
  test('quiet connections share one buffer and get copies of what they read', () => {
    const a = new ReadBuffers();
    const b = new ReadBuffers();
    assert.equal(a.next().buffer, b.next().buffer);
    assert.equal(a.next().length, SHARED_BYTES);
    const first = read(a, 100, 1);
    const second = read(b, 100, 2); // overwrites the shared buffer
    assert.deepEqual([...new Set(first)], [1]);
    assert.deepEqual([...new Set(second)], [2]);
    assert.notEqual(first.buffer, a.next().buffer);
  });

  test('a read that fills the shared buffer makes the connection busy: reads go to a slab, uncopied', () => {
    const buffers = new ReadBuffers();
    const quiet = buffers.next();
    read(buffers, SHARED_BYTES, 1);
    const room = buffers.next();
    assert.notEqual(room.buffer, quiet.buffer);
    assert.equal(room.length, SLAB_BYTES);
    const views = [read(buffers, 70_000, 2), read(buffers, 50_000, 3), read(buffers, 20_000, 4)];
    // One slab, one read after another, each a view of it that the next read leaves alone.
    assert.ok(views.every((v) => v.buffer === views[0]!.buffer));
    assert.deepEqual(
      views.map((v) => v.byteOffset - views[0]!.byteOffset),
      [0, 70_000, 120_000],
    );
    for (const [i, v] of views.entries()) assert.deepEqual([...new Set(v)], [i + 2]);
  });

  test('a busy connection starts a new slab when the room left is small, keeping earlier views', () => {
    const buffers = new ReadBuffers();
    read(buffers, SHARED_BYTES, 1);
    const early = read(buffers, SLAB_BYTES - 10_000, 2);
    const room = buffers.next();
    assert.notEqual(room.buffer, early.buffer);
    assert.equal(room.length, SLAB_BYTES);
    read(buffers, 60_000, 3);
    assert.deepEqual([...new Set(early)], [2]);
  });

  test('a small read makes a busy connection quiet again: back to the shared buffer', () => {
    const buffers = new ReadBuffers();
    const shared = buffers.next().buffer;
    read(buffers, SHARED_BYTES, 1);
    read(buffers, 30_000, 2);
    assert.notEqual(buffers.next().buffer, shared);
    read(buffers, QUIET_BYTES - 1, 3);
    assert.equal(buffers.next().buffer, shared);
  });
});
