import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseServerReference } from '../../runtime/reconnect/server-reference.js';

describe('parseServerReference', () => {
  test('reads host, host:port and [ipv6]:port, taking the first of several', () => {
    assert.deepEqual(parseServerReference('broker.example'), { host: 'broker.example' });
    assert.deepEqual(parseServerReference('10.0.0.2:1884 10.0.0.3:1884'), { host: '10.0.0.2', port: 1884 });
    assert.deepEqual(parseServerReference('[::1]:1885'), { host: '::1', port: 1885 });
    assert.deepEqual(parseServerReference('::1'), { host: '::1' });
  });

  test('refuses an empty reference or a port out of range', () => {
    assert.equal(parseServerReference('  '), undefined);
    assert.equal(parseServerReference('host:70000'), undefined);
    assert.equal(parseServerReference('host:abc'), undefined);
  });
});
