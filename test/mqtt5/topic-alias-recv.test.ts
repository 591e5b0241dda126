import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TopicAliasRecv } from '../../runtime/session/topic-alias-recv.js';

describe('TopicAliasRecv', () => {
  test('resolves an alias the server set', () => {
    const r = new TopicAliasRecv(2);
    assert.deepEqual(r.resolve('a/b', 1), { topic: 'a/b' });
    assert.deepEqual(r.resolve('', 1), { topic: 'a/b' });
  });

  test('a new topic replaces the alias mapping', () => {
    const r = new TopicAliasRecv(2);
    r.resolve('a', 1);
    r.resolve('b', 1);
    assert.deepEqual(r.resolve('', 1), { topic: 'b' });
  });

  test('an alias above our maximum is Topic Alias invalid (0x94)', () => {
    const r = new TopicAliasRecv(2);
    assert.equal((r.resolve('a', 3) as { reasonCode: number }).reasonCode, 0x94);
    assert.equal((new TopicAliasRecv(0).resolve('a', 1) as { reasonCode: number }).reasonCode, 0x94);
  });

  test('an alias never set is a Protocol Error (0x82)', () => {
    assert.equal((new TopicAliasRecv(2).resolve('', 2) as { reasonCode: number }).reasonCode, 0x82);
  });

  test('clear forgets mappings', () => {
    const r = new TopicAliasRecv(2);
    r.resolve('a', 1);
    r.clear();
    assert.equal((r.resolve('', 1) as { reasonCode: number }).reasonCode, 0x82);
  });
});
