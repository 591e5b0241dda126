import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerNodeTransports } from '../../runtime/transport/node.js';
import { isSecureProtocol, TransportRegistry, transports } from '../../runtime/transport/registry.js';
import { openTcp } from '../../runtime/transport/tcp.js';
import { openTls } from '../../runtime/transport/tls.js';
import type { Connection, TransportFactory, TransportOptions } from '../../runtime/transport/types.js';
import { recorder } from '../helpers/recorder.js';

const dead: Connection = {
  write: () => false,
  cork() {},
  uncork() {},
  end() {},
  destroy() {},
  writable: false,
};

function spyFactory(seen: TransportOptions[]): TransportFactory {
  return (options) => {
    seen.push(options);
    return dead;
  };
}

const options: TransportOptions = { protocol: 'mqtt', host: 'h', port: 1 };

describe('TransportRegistry', () => {
  test('registers one factory under several names', () => {
    const registry = new TransportRegistry();
    const factory = spyFactory([]);
    registry.register(['ws', 'wss'], factory);
    assert.equal(registry.get('ws'), factory);
    assert.equal(registry.get('wss'), factory);
    assert.deepEqual(registry.names(), ['ws', 'wss']);
    assert.equal(registry.unregister('ws'), true);
    assert.equal(registry.has('ws'), false);
  });

  test('opens through the factory registered for the protocol', () => {
    const seen: TransportOptions[] = [];
    const registry = new TransportRegistry().register('mqtt', spyFactory(seen));
    assert.equal(registry.open(options, recorder().handlers), dead);
    assert.deepEqual(seen, [options]);
  });

  test('falls back as MQTT.js does: mqtt goes over ws where only ws is registered', () => {
    const seen: TransportOptions[] = [];
    const registry = new TransportRegistry().register(['ws', 'wss'], spyFactory(seen));
    registry.open(options, recorder().handlers);
    registry.open({ ...options, protocol: 'mqtts' }, recorder().handlers);
    assert.deepEqual(
      seen.map((o) => o.protocol),
      ['ws', 'wss'],
    );
  });

  test('falls back only to secure transports for a secure protocol', () => {
    const registry = new TransportRegistry().register('ws', spyFactory([]));
    assert.equal(registry.choose('wss'), null);
    assert.equal(registry.choose('mqtts'), null);
    assert.equal(registry.choose('anything')?.protocol, 'ws');
  });

  test('looks up <protocol>+unix for unix sockets and never falls back', () => {
    const registry = new TransportRegistry().register('mqtt', spyFactory([]));
    assert.equal(registry.choose('mqtt', true), null);
    registry.register('mqtt+unix', spyFactory([]));
    assert.equal(registry.choose('mqtt', true)?.protocol, 'mqtt');
  });

  test('reports an unknown protocol as MQTT_ERR_UNKNOWN_PROTOCOL then close, asynchronously', async () => {
    const rec = recorder();
    const connection = new TransportRegistry().open(options, rec.handlers);
    assert.equal(connection.writable, false);
    assert.deepEqual(rec.events, []);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as { code?: string }).code, 'MQTT_ERR_UNKNOWN_PROTOCOL');
  });

  test('turns a factory that throws into error then close', async () => {
    const rec = recorder();
    const registry = new TransportRegistry().register('mqtt', () => {
      throw new Error('boom');
    });
    registry.open(options, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal(rec.errors[0]?.message, 'boom');
  });

  test('isSecureProtocol knows the TLS protocols', () => {
    for (const p of ['mqtts', 'tls', 'ssl', 'wss', 'wxs', 'alis']) assert.equal(isSecureProtocol(p), true, p);
    for (const p of ['mqtt', 'tcp', 'ws', 'wx', 'ali']) assert.equal(isSecureProtocol(p), false, p);
  });
});

describe('node transports', () => {
  test('register TCP and TLS under every MQTT.js name, with unix variants', () => {
    const registry = registerNodeTransports(new TransportRegistry());
    for (const name of ['mqtt', 'tcp', 'mqtt+unix', 'tcp+unix'])
      assert.equal(registry.get(name), openTcp, name);
    for (const name of ['mqtts', 'tls', 'ssl', 'mqtts+unix', 'tls+unix', 'ssl+unix']) {
      assert.equal(registry.get(name), openTls, name);
    }
  });

  test('are in the default registry once node.ts is imported', () => {
    assert.equal(transports.get('mqtt'), openTcp);
    assert.equal(transports.get('mqtts'), openTls);
  });
});
