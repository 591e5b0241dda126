import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AliasPolicy, TopicAliasSend } from '../../runtime/session/topic-alias-send.js';

const assign: AliasPolicy = { autoAssignTopicAlias: true };
const use: AliasPolicy = { autoUseTopicAlias: true };

/** Runs publishes in order and returns what each goes out as: "topic|alias". */
function run(
  max: number,
  policy: AliasPolicy,
  steps: [topic: string, alias?: number, aliasOnly?: boolean][],
) {
  const t = new TopicAliasSend(max);
  return steps.map(([topic, alias, only]) => {
    const c = t.apply(topic, alias, only === true, policy);
    return c ? `${c.topic}|${c.alias ?? '-'}` : 'error';
  });
}

describe('TopicAliasSend', () => {
  test('autoAssignTopicAlias gives vacant aliases, then sends the alias alone', () => {
    assert.deepEqual(run(2, assign, [['a'], ['b'], ['a'], ['b']]), ['a|1', 'b|2', '|1', '|2']);
  });

  test('autoAssignTopicAlias overwrites the least recently used alias when all are taken', () => {
    // a:1, b:2, a used (b is now least recent), c takes 2, b takes 1 (a least recent).
    assert.deepEqual(run(2, assign, [['a'], ['b'], ['a'], ['c'], ['b'], ['c']]), [
      'a|1',
      'b|2',
      '|1',
      'c|2',
      'b|1',
      '|2',
    ]);
  });

  test('autoAssignTopicAlias with a maximum of 1 replaces the alias every topic change', () => {
    assert.deepEqual(run(1, assign, [['a'], ['b'], ['b'], ['a']]), ['a|1', 'b|1', '|1', 'a|1']);
  });

  test('autoUseTopicAlias uses only aliases the application registered', () => {
    assert.deepEqual(run(3, use, [['a'], ['a', 2], ['a'], ['b'], ['b', 3], ['b']]), [
      'a|-',
      'a|2',
      '|2',
      'b|-',
      'b|3',
      '|3',
    ]);
  });

  test('an application alias with an empty topic goes alone while it still names that topic', () => {
    assert.deepEqual(
      run(2, {}, [
        ['a', 1],
        ['a', 1, true],
        ['b', 1],
        ['a', 1, true],
      ]),
      ['a|1', '|1', 'b|1', 'a|1'],
    );
  });

  test('an application alias above the server maximum is refused', () => {
    assert.deepEqual(run(2, {}, [['a', 3]]), ['error']);
    assert.deepEqual(run(0, {}, [['a', 1]]), ['error']);
    assert.deepEqual(run(2, {}, [['a', 0]]), ['error']);
  });

  test('without a server maximum nothing is aliased', () => {
    assert.deepEqual(run(0, assign, [['a'], ['a']]), ['a|-', 'a|-']);
  });

  test('without a policy topics go unchanged', () => {
    assert.deepEqual(run(5, {}, [['a'], ['a']]), ['a|-', 'a|-']);
  });

  test('an overwritten alias no longer names its old topic', () => {
    const t = new TopicAliasSend(1);
    t.put('a', 1);
    t.put('b', 1);
    assert.equal(t.aliasOf('a'), undefined);
    assert.equal(t.aliasOf('b'), 1);
    assert.equal(t.topicOf(1), 'b');
  });

  test('never holds more than the maximum', () => {
    const t = new TopicAliasSend(3);
    for (let i = 0; i < 100; i++) t.apply(`t/${i % 7}`, undefined, false, assign);
    assert.equal(t.size, 3);
  });

  test('clear forgets every mapping', () => {
    const t = new TopicAliasSend(2);
    t.apply('a', undefined, false, assign);
    t.clear();
    assert.deepEqual(t.apply('a', undefined, false, assign), { topic: 'a', alias: 1 });
  });
});
