import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateTopicFilter, validateTopicName } from '../runtime/topic.js';

function specOf(problem: { spec: string } | null): string | undefined {
  return problem?.spec;
}

describe('validateTopicName', () => {
  test('accepts ordinary names, $-prefixed names and a lone slash', () => {
    for (const name of ['a', 'a/b/c', '/', '/a/', '$SYS/broker/uptime', 'sport/tennis/player1', 'ü/日本']) {
      assert.equal(validateTopicName(name), null, name);
    }
  });

  test('rejects an empty name [MQTT-4.7.3-1]', () => {
    assert.match(specOf(validateTopicName('')) ?? '', /MQTT-4\.7\.3-1/);
  });

  // The MQTT 5.0 statement ids (3.1.1 numbers the same rules 4.7.1-1, -2 and -3).
  test('rejects the wildcards + and # [MQTT-4.7.0-1]', () => {
    for (const name of ['a/+', '#', 'a/#', 'a+b', 'a#b']) {
      assert.equal(specOf(validateTopicName(name)), 'MQTT 5.0 §4.7 [MQTT-4.7.0-1]', name);
    }
  });

  test('rejects U+0000 [MQTT-4.7.3-2]', () => {
    assert.match(specOf(validateTopicName('a\u0000b')) ?? '', /MQTT-4\.7\.3-2/);
  });

  test('rejects an unpaired surrogate [MQTT-1.5.4-1]', () => {
    assert.match(specOf(validateTopicName('a\ud800b')) ?? '', /MQTT-1\.5\.4-1/);
    assert.match(specOf(validateTopicName('a\udc00')) ?? '', /MQTT-1\.5\.4-1/);
    assert.equal(validateTopicName('emoji/😀'), null);
  });

  test('accepts 65535 UTF-8 bytes and rejects 65536 [MQTT-4.7.3-3]', () => {
    assert.equal(validateTopicName('a'.repeat(65535)), null);
    assert.match(specOf(validateTopicName('a'.repeat(65536))) ?? '', /MQTT-4\.7\.3-3/);
    // 21846 × 3 bytes = 65538 bytes in only 21846 UTF-16 code units
    assert.match(specOf(validateTopicName('€'.repeat(21846))) ?? '', /MQTT-4\.7\.3-3/);
  });

  test('returns a message for users', () => {
    assert.equal(validateTopicName('a/+')?.message, "must not contain the wildcard '+'");
  });
});

describe('validateTopicFilter', () => {
  test('accepts the wildcard placements the spec allows', () => {
    for (const filter of [
      '#',
      '+',
      '+/+',
      '/+',
      '+/',
      'a/#',
      'a/+/b',
      'a/+/#',
      '$SYS/#',
      '/#',
      'sport/tennis/#',
    ]) {
      assert.equal(validateTopicFilter(filter), null, filter);
    }
  });

  test('rejects # that is not last or not a whole level [MQTT-4.7.1-1]', () => {
    for (const filter of ['a#', 'a/#/b', '#/', 'a/b#', '##']) {
      assert.equal(specOf(validateTopicFilter(filter)), 'MQTT 5.0 §4.7.1 [MQTT-4.7.1-1]', filter);
    }
  });

  test('rejects + that does not fill its level [MQTT-4.7.1-2]', () => {
    for (const filter of ['a+', '+a', 'a/b+/c', 'a/+b', '++']) {
      assert.equal(specOf(validateTopicFilter(filter)), 'MQTT 5.0 §4.7.1 [MQTT-4.7.1-2]', filter);
    }
  });

  test('rejects an empty filter and U+0000', () => {
    assert.match(specOf(validateTopicFilter('')) ?? '', /MQTT-4\.7\.3-1/);
    assert.match(specOf(validateTopicFilter('a/\u0000')) ?? '', /MQTT-4\.7\.3-2/);
  });

  test('accepts shared subscriptions $share/{ShareName}/{filter}', () => {
    for (const filter of ['$share/group/a/b', '$share/g/#', '$share/g/+/x', '$share/g//']) {
      assert.equal(validateTopicFilter(filter), null, filter);
    }
  });

  test('rejects a shared subscription without a ShareName [MQTT-4.8.2-1]', () => {
    assert.equal(specOf(validateTopicFilter('$share/')), 'MQTT 5.0 §4.8.2 [MQTT-4.8.2-1]');
    assert.match(specOf(validateTopicFilter('$share//a')) ?? '', /MQTT-4\.8\.2-1/);
  });

  test('rejects a ShareName with wildcards or with no filter after it [MQTT-4.8.2-2]', () => {
    for (const filter of ['$share/g+/a', '$share/#/a', '$share/group', '$share/group/']) {
      assert.match(specOf(validateTopicFilter(filter)) ?? '', /MQTT-4\.8\.2-2/, filter);
    }
  });

  test('checks wildcards in the filter part of a shared subscription', () => {
    assert.match(specOf(validateTopicFilter('$share/g/a#')) ?? '', /MQTT-4\.7\.1-1/);
    assert.equal(
      validateTopicFilter('$share/g/a#')?.message,
      "must have '#' only as the last level, on its own",
    );
  });

  test('treats $shared and $SHARE as ordinary filters', () => {
    assert.equal(validateTopicFilter('$shared/x'), null);
    assert.equal(validateTopicFilter('$SHARE/'), null);
  });
});
