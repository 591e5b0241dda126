import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMqttError } from '../runtime/errors.js';
import { UniqueMessageIdProvider } from '../runtime/message-id.js';
import {
  acceptAllAcks,
  type ClientOptions,
  DEFAULT_OPTIONS,
  defaultClientId,
  defaultPort,
  resolveOptions,
  transportOptionsFor,
} from '../runtime/options.js';
import { Store } from '../runtime/store.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

function assertInvalid(fn: () => unknown): void {
  assert.throws(fn, (error) => isMqttError(error) && error.code === 'MQTT_ERR_INVALID_OPTIONS');
}

describe('resolveOptions: URL forms', () => {
  const cases: Array<[string, { protocol: string; host: string; port: number; path?: string }]> = [
    ['mqtt://broker.test', { protocol: 'mqtt', host: 'broker.test', port: 1883 }],
    ['mqtt://broker.test:1884', { protocol: 'mqtt', host: 'broker.test', port: 1884 }],
    ['tcp://broker.test', { protocol: 'tcp', host: 'broker.test', port: 1883 }],
    ['mqtts://broker.test', { protocol: 'mqtts', host: 'broker.test', port: 8883 }],
    ['tls://broker.test:8884', { protocol: 'tls', host: 'broker.test', port: 8884 }],
    ['ws://broker.test', { protocol: 'ws', host: 'broker.test', port: 80, path: '/' }],
    ['ws://broker.test:9001/mqtt', { protocol: 'ws', host: 'broker.test', port: 9001, path: '/mqtt' }],
    ['wss://broker.test/mqtt?x=1', { protocol: 'wss', host: 'broker.test', port: 443, path: '/mqtt?x=1' }],
    ['wxs://broker.test/mqtt', { protocol: 'wxs', host: 'broker.test', port: 443, path: '/mqtt' }],
    ['alis://broker.test/mqtt', { protocol: 'alis', host: 'broker.test', port: 443, path: '/mqtt' }],
    ['MQTT://Broker.test', { protocol: 'mqtt', host: 'Broker.test', port: 1883 }],
    ['mqtt://[::1]:1885', { protocol: 'mqtt', host: '::1', port: 1885 }],
  ];
  for (const [url, expected] of cases) {
    test(`resolves ${url}`, () => {
      const options = resolveOptions(url);
      assert.equal(options.protocol, expected.protocol);
      assert.equal(options.host, expected.host);
      assert.equal(options.hostname, expected.host);
      assert.equal(options.port, expected.port);
      assert.equal(options.path, expected.path);
      assert.equal(options.unixSocket, false);
    });
  }

  test('drops the URL path for mqtt and mqtts, as MQTT.js does', () => {
    assert.equal(resolveOptions('mqtt://h/some/path').path, undefined);
    assert.equal(resolveOptions('mqtts://h/some/path').path, undefined);
  });

  test('resolves mqtt+unix:// to a unix socket path', () => {
    const options = resolveOptions('mqtt+unix:///var/run/mosquitto.sock');
    assert.equal(options.protocol, 'mqtt');
    assert.equal(options.unixSocket, true);
    assert.equal(options.path, '/var/run/mosquitto.sock');
  });

  test('resolves mqtts+unix:// to TLS over a unix socket', () => {
    const options = resolveOptions('mqtts+unix:///tmp/b.sock');
    assert.equal(options.protocol, 'mqtts');
    assert.equal(options.unixSocket, true);
  });

  test('takes percent-decoded user and password from the URL', () => {
    const options = resolveOptions('mqtt://us%20er:p%40ss%3Aword@broker.test');
    assert.equal(options.username, 'us er');
    assert.equal(options.password, 'p@ss:word');
  });

  test('takes a user without a password from the URL', () => {
    const options = resolveOptions('mqtt://alice@broker.test', { password: 'secret' });
    assert.equal(options.username, 'alice');
    assert.equal(options.password, 'secret');
  });

  test('takes clientId from the query string, over the clientId option', () => {
    assert.equal(resolveOptions('mqtt://h?clientId=from-url').clientId, 'from-url');
    assert.equal(resolveOptions('mqtt://h?clientId=from-url', { clientId: 'opt' }).clientId, 'from-url');
    assert.deepEqual(resolveOptions('mqtt://h?clientId=a&x=1').query, { clientId: 'a', x: '1' });
  });

  test('accepts a URL object', () => {
    const options = resolveOptions(new URL('mqtts://u:p@broker.test:9999'));
    assert.equal(options.protocol, 'mqtts');
    assert.equal(options.port, 9999);
    assert.equal(options.username, 'u');
  });

  test('lets options override the URL', () => {
    const options = resolveOptions('mqtt://a.test:1000', { host: 'b.test', port: 2000, protocol: 'mqtts' });
    assert.equal(options.host, 'b.test');
    assert.equal(options.port, 2000);
    assert.equal(options.protocol, 'mqtts');
  });

  test('does not let an option set to undefined erase the URL value', () => {
    const options = resolveOptions('mqtt://a.test:1000', { port: undefined, host: undefined });
    assert.equal(options.host, 'a.test');
    assert.equal(options.port, 1000);
  });

  test('lets the URL user:pass win over username and password options, as MQTT.js does', () => {
    const options = resolveOptions('mqtt://u:p@h', { username: 'x', password: 'y' });
    assert.equal(options.username, 'u');
    assert.equal(options.password, 'p');
  });

  test('rejects a URL without a protocol', () => {
    assertInvalid(() => resolveOptions('broker.test'));
  });
});

describe('resolveOptions: options object', () => {
  test('uses host, port and protocol from an options object alone', () => {
    const options = resolveOptions({ host: 'broker.test', port: 1999, protocol: 'mqtt' });
    assert.equal(options.host, 'broker.test');
    assert.equal(options.port, 1999);
    assert.equal(options.protocol, 'mqtt');
  });

  test('prefers hostname over host', () => {
    const options = resolveOptions({ host: 'a.test', hostname: 'b.test' });
    assert.equal(options.hostname, 'b.test');
    assert.equal(options.host, 'b.test');
  });

  test('defaults to mqtt on localhost:1883 with nothing given', () => {
    for (const options of [resolveOptions(), resolveOptions({}), resolveOptions(null, {})]) {
      assert.equal(options.protocol, 'mqtt');
      assert.equal(options.host, 'localhost');
      assert.equal(options.port, 1883);
    }
  });

  test('uses the default port of the protocol when port is unset or 0', () => {
    assert.equal(resolveOptions({ protocol: 'wss', port: 0 }).port, 443);
    assert.equal(resolveOptions({ protocol: 'ssl' }).port, 8883);
  });

  test('sets unixSocket from a +unix protocol option', () => {
    const options = resolveOptions({ protocol: 'mqtt+unix', path: '/tmp/s' });
    assert.equal(options.protocol, 'mqtt');
    assert.equal(options.unixSocket, true);
    assert.equal(options.path, '/tmp/s');
  });

  test('keeps unixSocket: true with its path', () => {
    const options = resolveOptions({ unixSocket: true, path: '/tmp/s' });
    assert.equal(options.unixSocket, true);
    assert.equal(options.path, '/tmp/s');
  });

  test('splits auth user:pass at the last colon and overrides username/password', () => {
    const options = resolveOptions({ auth: 'a:b:c', username: 'x', password: 'y' });
    assert.equal(options.username, 'a:b');
    assert.equal(options.password, 'c');
  });

  test('treats auth without a colon as a user name only', () => {
    const options = resolveOptions({ auth: 'alice', password: 'y' });
    assert.equal(options.username, 'alice');
    assert.equal(options.password, 'y');
  });

  test('lets the auth option win over the URL user:pass', () => {
    const options = resolveOptions('mqtt://u:p@h', { auth: 'v:q' });
    assert.equal(options.username, 'v');
    assert.equal(options.password, 'q');
  });

  test('keeps a binary password', () => {
    const password = new Uint8Array([1, 2, 3]);
    assert.equal(resolveOptions({ username: 'u', password }).password, password);
  });

  test('upgrades to the secure protocol when cert and key are given', () => {
    const secure = { cert: 'CERT', key: 'KEY' };
    assert.equal(resolveOptions('mqtt://h', secure).protocol, 'mqtts');
    assert.equal(resolveOptions('mqtt://h', secure).port, 8883);
    assert.equal(resolveOptions('ws://h', secure).protocol, 'wss');
    assert.equal(resolveOptions({ protocol: 'tcp', ...secure }).protocol, 'mqtts');
    assert.equal(resolveOptions({ protocol: 'tls', ...secure }).protocol, 'tls');
  });

  test('collects the TLS options for the transport', () => {
    const checkServerIdentity = () => undefined;
    const options = resolveOptions('mqtts://h', {
      ca: 'CA',
      rejectUnauthorized: false,
      servername: 'sni.test',
      ALPNProtocols: ['mqtt'],
      checkServerIdentity,
      keepalive: 10,
    });
    assert.deepEqual(options.tls, {
      ca: 'CA',
      rejectUnauthorized: false,
      servername: 'sni.test',
      ALPNProtocols: ['mqtt'],
      checkServerIdentity,
    });
  });

  test('treats a URL-like object followed by options as merged, options first', () => {
    const options = resolveOptions({ protocol: 'mqtts', host: 'a.test' }, { host: 'b.test' });
    assert.equal(options.protocol, 'mqtts');
    assert.equal(options.host, 'b.test');
  });

  test('does not mutate the caller object', () => {
    const input: ClientOptions = deepFreeze({
      host: 'h.test',
      auth: 'u:p',
      query: { clientId: 'q' },
      servers: [{ host: 's.test', port: 1 }],
      will: { topic: 't', payload: 'bye' },
      cert: 'C',
      key: 'K',
      protocol: 'mqtt',
    });
    const snapshot = structuredClone(input);
    const options = resolveOptions('mqtt://x.test', input);
    assert.deepEqual(input, snapshot);
    assert.notEqual(options.servers, input.servers);
    assert.notEqual(options.query, input.query);
  });

  test('keeps stores, message id provider and other pass-through options', () => {
    const store = new Store();
    const messageIdProvider = new UniqueMessageIdProvider();
    const options = resolveOptions({
      outgoingStore: store,
      messageIdProvider,
      will: { topic: 't', payload: 'x' },
    });
    assert.equal(options.outgoingStore, store);
    assert.equal(options.messageIdProvider, messageIdProvider);
    assert.deepEqual(options.will, { topic: 't', payload: 'x' });
  });
});

describe('resolveOptions: defaults', () => {
  test('match MQTT.js v5', () => {
    const options = resolveOptions('mqtt://h');
    assert.equal(options.keepalive, 60);
    assert.equal(options.reschedulePings, true);
    assert.equal(options.protocolId, 'MQTT');
    assert.equal(options.protocolVersion, 4);
    assert.equal(options.clean, true);
    assert.equal(options.reconnectPeriod, 1000);
    assert.equal(options.connectTimeout, 30000);
    assert.equal(options.queueQoSZero, true);
    assert.equal(options.resubscribe, true);
    assert.equal(options.manualConnect, false);
    assert.equal(options.subscribeBatchSize, undefined);
    assert.equal(options.reconnectOnConnackError, false);
    assert.equal(options.customHandleAcks, acceptAllAcks);
    assert.equal(DEFAULT_OPTIONS.keepalive, 60);
  });

  test('generates clientId mqttjs_ and 8 hex digits, different each time', () => {
    const a = resolveOptions().clientId;
    assert.match(a, /^mqttjs_[0-9a-f]{8}$/);
    assert.match(defaultClientId(), /^mqttjs_[0-9a-f]{8}$/);
    assert.notEqual(a, resolveOptions().clientId);
  });

  test('keeps explicit values, including falsy ones', () => {
    const options = resolveOptions({
      keepalive: 0,
      reconnectPeriod: 0,
      clean: false,
      clientId: 'c',
      queueQoSZero: false,
      resubscribe: false,
      reschedulePings: false,
      manualConnect: true,
      subscribeBatchSize: 5,
    });
    assert.equal(options.keepalive, 0);
    assert.equal(options.reconnectPeriod, 0);
    assert.equal(options.clean, false);
    assert.equal(options.queueQoSZero, false);
    assert.equal(options.resubscribe, false);
    assert.equal(options.reschedulePings, false);
    assert.equal(options.manualConnect, true);
    assert.equal(options.subscribeBatchSize, 5);
  });

  test('defaults protocolId to MQIsdp for protocolVersion 3 but keeps an explicit one', () => {
    assert.equal(resolveOptions({ protocolVersion: 3 }).protocolId, 'MQIsdp');
    assert.equal(resolveOptions({ protocolVersion: 3, protocolId: 'MQTT' }).protocolId, 'MQTT');
    assert.equal(resolveOptions({ protocolVersion: 5 }).protocolId, 'MQTT');
  });

  test('keeps customHandleAcks for MQTT 5 only', () => {
    const handler: ClientOptions['customHandleAcks'] = (_t, _m, _p, done) => done(null, 0x80);
    assert.equal(resolveOptions({ protocolVersion: 5, customHandleAcks: handler }).customHandleAcks, handler);
    assert.equal(
      resolveOptions({ protocolVersion: 4, customHandleAcks: handler }).customHandleAcks,
      acceptAllAcks,
    );
  });

  test('the default ack handler acknowledges with reason code 0', () => {
    let result: unknown[] = [];
    acceptAllAcks(
      't',
      new Uint8Array(),
      { cmd: 'publish', topic: 't', payload: new Uint8Array(), qos: 1, dup: false, retain: false },
      (...args) => {
        result = args;
      },
    );
    assert.deepEqual(result, [null, 0]);
  });
});

describe('resolveOptions: invalid options', () => {
  test('rejects clean: false without a clientId', () => {
    assertInvalid(() => resolveOptions({ clean: false }));
    assertInvalid(() => resolveOptions({ clean: false, clientId: '' }));
    assert.equal(resolveOptions('mqtt://h?clientId=x', { clean: false }).clientId, 'x');
  });

  test('rejects a protocolVersion other than 3, 4 or 5', () => {
    assertInvalid(() => resolveOptions({ protocolVersion: 6 as 5 }));
  });

  test('rejects a keepalive outside 0..65535', () => {
    assertInvalid(() => resolveOptions({ keepalive: 65536 }));
    assertInvalid(() => resolveOptions({ keepalive: -1 }));
    assertInvalid(() => resolveOptions({ keepalive: 1.5 }));
  });

  test('rejects a port outside 1..65535', () => {
    assertInvalid(() => resolveOptions({ port: 70000 }));
  });
});

describe('transportOptionsFor', () => {
  test('uses the resolved host, port and protocol without servers', () => {
    const options = resolveOptions('mqtts://h.test:8884', { ca: 'CA' });
    const transport = transportOptionsFor(options);
    assert.equal(transport.protocol, 'mqtts');
    assert.equal(transport.host, 'h.test');
    assert.equal(transport.port, 8884);
    assert.deepEqual(transport.tls, { ca: 'CA' });
    assert.equal(transport.protocolVersion, 4);
  });

  test('goes round servers, one per attempt, using each protocol or the default', () => {
    const options = resolveOptions('mqtt://ignored', {
      servers: [
        { host: 'a.test', port: 1001 },
        { host: 'b.test', port: 1002, protocol: 'mqtts' },
      ],
    });
    const picks = [0, 1, 2, 3].map((attempt) => {
      const t = transportOptionsFor(options, attempt);
      return `${t.protocol}://${t.host}:${t.port}`;
    });
    assert.deepEqual(picks, [
      'mqtt://a.test:1001',
      'mqtts://b.test:1002',
      'mqtt://a.test:1001',
      'mqtts://b.test:1002',
    ]);
  });

  test('carries the unix socket path and the WebSocket path', () => {
    const unix = transportOptionsFor(resolveOptions('mqtt+unix:///tmp/s'));
    assert.equal(unix.unixSocket, true);
    assert.equal(unix.path, '/tmp/s');
    assert.equal(transportOptionsFor(resolveOptions('ws://h/mqtt')).path, '/mqtt');
  });
});

describe('defaultPort', () => {
  test('is 1883, 8883, 80 or 443 by protocol', () => {
    assert.deepEqual(
      ['mqtt', 'tcp', 'mqtts', 'tls', 'ssl', 'ws', 'wss', 'wx', 'wxs', 'ali', 'alis'].map(defaultPort),
      [1883, 1883, 8883, 8883, 8883, 80, 443, 80, 443, 80, 443],
    );
  });
});

describe('resolveOptions: what it builds', () => {
  test('an own "__proto__" key (as JSON.parse makes) is not an option and changes nothing', () => {
    const given = JSON.parse('{"__proto__": {"rejectUnauthorized": false, "host": "evil"}, "clientId": "c"}');
    const o = resolveOptions('mqtts://h', given);
    assert.equal(o.host, 'h');
    assert.equal(o.tls.rejectUnauthorized, undefined);
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(o.clientId, 'c');
  });

  test('options.tls is always an object: the given TLS options, or one shared frozen empty one', () => {
    const plain = resolveOptions('mqtt://h');
    assert.deepEqual(plain.tls, {});
    assert.ok(Object.isFrozen(plain.tls));
    assert.equal(resolveOptions('mqtt://h').tls, plain.tls);
    const given = resolveOptions('mqtts://h', { rejectUnauthorized: false });
    assert.deepEqual(given.tls, { rejectUnauthorized: false });
    assert.notEqual(given.tls, plain.tls);
  });
});

describe('options that can never connect are refused by connect()', () => {
  test('a clientId that is not a string (a number would become a random id and lose the session)', () => {
    assert.throws(
      () => resolveOptions({ clientId: 12345 as unknown as string, clean: false }),
      (e: unknown) =>
        isMqttError(e) &&
        e.code === 'MQTT_ERR_INVALID_OPTIONS' &&
        /clientId must be a string/.test(e.message),
    );
  });

  for (const [name, will] of [
    ['a will topic with a wildcard', { topic: 'a/#', payload: 'x' }],
    ['a will QoS of 3', { topic: 'a', payload: 'x', qos: 3 }],
  ] as const) {
    test(name, async () => {
      const { connect } = await import('../runtime/index.js');
      assert.throws(
        () => connect('mqtt://127.0.0.1:1', { will: will as never, reconnectPeriod: 0 }),
        (e: unknown) =>
          isMqttError(e) &&
          e.code === 'MQTT_ERR_INVALID_OPTIONS' &&
          /CONNECT these options make/.test(e.message),
      );
    });
  }
});
