import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Incoming } from '../../runtime/session/incoming.js';

describe('Incoming', () => {
  test('counts QoS 1/2 PUBLISHes against our Receive Maximum', () => {
    const i = new Incoming(2);
    assert.equal(i.arrive(1), 'new');
    assert.equal(i.arrive(2), 'new');
    assert.equal(i.arrive(1), 'duplicate');
    assert.equal(i.arrive(3), 'exceeded');
    i.close(1);
    assert.equal(i.arrive(3), 'new');
  });

  test('releases acknowledgements in arrival order', () => {
    const i = new Incoming(10);
    const a = i.slot(1);
    const b = i.slot(2);
    const c = i.slot(3);
    assert.deepEqual(i.fill(c, { cmd: 'puback', messageId: 3 }), []);
    assert.deepEqual(i.fill(b, { cmd: 'puback', messageId: 2 }), []);
    assert.deepEqual(
      i.fill(a, { cmd: 'puback', messageId: 1 }).map((p) => (p as { messageId: number }).messageId),
      [1, 2, 3],
    );
  });

  test('a slot with nothing to send lets the next ones go', () => {
    const i = new Incoming(10);
    const a = i.slot(1);
    const b = i.slot(2);
    i.fill(b, { cmd: 'puback', messageId: 2 });
    assert.deepEqual(i.fill(a, null), [{ cmd: 'puback', messageId: 2 }]);
  });

  test('slots of a closed connection send nothing', () => {
    const i = new Incoming(10);
    const a = i.slot(1);
    i.reset();
    assert.deepEqual(i.fill(a, { cmd: 'puback', messageId: 1 }), []);
    assert.equal(i.inWindow, 0);
  });
});
