import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseServerReference, withoutTarget } from '../../runtime/reconnect/server-reference.js';

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

describe('withoutTarget', () => {
  test('drops the host and port of the 0x9C target from a beforeReconnect update', () => {
    const target = { host: 'temp.example', port: 1884 };
    assert.deepEqual(withoutTarget({ host: 'temp.example', port: 1884, password: 'p' }, target), {
      password: 'p',
    });
    assert.deepEqual(withoutTarget({ host: 'temp.example', port: 1999 }, target), { port: 1999 });
  });

  test('keeps an update that names another host, or when there is no target', () => {
    const update = { host: 'chosen.example', port: 1884 };
    assert.deepEqual(withoutTarget(update, { host: 'temp.example', port: 1884 }), update);
    assert.deepEqual(withoutTarget(update, undefined), update);
  });
});
