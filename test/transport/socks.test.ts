/**
 * MQTT through a SOCKS proxy (`socksProxy`, `MQTTJS_SOCKS_PROXY`): SOCKS5 (RFC 1928) with and
 * without username/password (RFC 1929), SOCKS5 with remote DNS, SOCKS4 and SOCKS4a, plain and TLS,
 * to an Aedes broker; and every way the proxy can fail, each reported as an error the application
 * can read, followed by close.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { connect, type MqttClient } from '../../runtime/index.js';
import { ipv6BytesForTest, parseSocksUrl } from '../../runtime/transport/socks.js';
import { type AedesBroker, startAedes } from '../helpers/aedes.js';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { type SocksProxyOptions, startSocksProxy } from '../helpers/socks-proxy.js';

function firstOf(client: MqttClient): Promise<'connect' | Error> {
  return new Promise((resolve) => {
    client.once('connect', () => resolve('connect'));
    client.once('error', (error) => resolve(error));
  });
}

/** Connects through the proxy, round-trips one QoS 1 message, ends. */
async function roundTrip(
  url: string,
  socksProxy: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const client = connect(url, { socksProxy, reconnectPeriod: 0, ...extra });
  try {
    const first = await firstOf(client);
    assert.equal(first, 'connect', `connect through ${socksProxy}: ${String(first)}`);
    await client.subscribeAsync('socks/t', { qos: 1 });
    const got = new Promise<string>((resolve) =>
      client.once('message', (_t, payload) => resolve(payload.toString())),
    );
    await client.publishAsync('socks/t', 'through the proxy', { qos: 1 });
    assert.equal(await got, 'through the proxy');
  } finally {
    await client.endAsync(true);
  }
}

async function failure(
  socksProxy: string,
  proxyOptions?: SocksProxyOptions,
  extra: Record<string, unknown> = {},
) {
  const client = connect(broker.url, { socksProxy, reconnectPeriod: 0, ...extra });
  const events: string[] = [];
  client.on('connect', () => events.push('connect'));
  client.on('close', () => events.push('close'));
  const first = await firstOf(client);
  await new Promise<void>((resolve) =>
    client.disconnected || events.includes('close') ? resolve() : client.once('close', () => resolve()),
  );
  await client.endAsync(true);
  assert.ok(
    first instanceof Error,
    `expected an error, got ${String(first)} (proxy options ${JSON.stringify(proxyOptions)})`,
  );
  assert.ok(!events.includes('connect'), 'never connected');
  return first as Error & { code?: string };
}

let broker: AedesBroker;

before(async () => {
  broker = await startAedes();
});
after(() => broker.stop());

describe('through a SOCKS proxy to Aedes', () => {
  test('socks5: the proxy is given the address and the port', async () => {
    const proxy = await startSocksProxy();
    try {
      await roundTrip(broker.url, `socks5://127.0.0.1:${proxy.port}`);
      assert.deepEqual(proxy.requests, [
        { version: 5, host: '127.0.0.1', port: broker.port, addressType: 'ipv4' },
      ]);
    } finally {
      await proxy.stop();
    }
  });

  test('socks5: a name is resolved here; socks5h: the proxy is given the name', async () => {
    const proxy = await startSocksProxy();
    try {
      await roundTrip(`mqtt://localhost:${broker.port}`, `socks5://127.0.0.1:${proxy.port}`);
      await roundTrip(`mqtt://localhost:${broker.port}`, `socks5h://127.0.0.1:${proxy.port}`);
      assert.equal(proxy.requests.length, 2);
      assert.notEqual(proxy.requests[0]!.addressType, 'domain', 'socks5 resolved locally');
      assert.deepEqual(proxy.requests[1], {
        version: 5,
        host: 'localhost',
        port: broker.port,
        addressType: 'domain',
      });
    } finally {
      await proxy.stop();
    }
  });

  test('socks5 with username and password (RFC 1929), percent-decoded from the URL', async () => {
    const proxy = await startSocksProxy({ credentials: { user: 'al ice', password: 'p@ss:word' } });
    try {
      await roundTrip(broker.url, `socks5://al%20ice:p%40ss%3Aword@127.0.0.1:${proxy.port}`);
      assert.equal(proxy.requests[0]?.user, 'al ice');
      assert.equal(proxy.requests[0]?.password, 'p@ss:word');
    } finally {
      await proxy.stop();
    }
  });

  test('socks4 (an IPv4 address) and socks4a (the name, with the user id)', async () => {
    const proxy = await startSocksProxy();
    try {
      await roundTrip(broker.url, `socks4://127.0.0.1:${proxy.port}`);
      await roundTrip(`mqtt://localhost:${broker.port}`, `socks4a://someone@127.0.0.1:${proxy.port}`);
      assert.deepEqual(proxy.requests, [
        { version: 4, host: '127.0.0.1', port: broker.port, addressType: 'ipv4', user: '' },
        { version: 4, host: 'localhost', port: broker.port, addressType: 'domain', user: 'someone' },
      ]);
    } finally {
      await proxy.stop();
    }
  });

  test('MQTTJS_SOCKS_PROXY is used when socksProxy is not set', async () => {
    const proxy = await startSocksProxy();
    const saved = process.env.MQTTJS_SOCKS_PROXY;
    process.env.MQTTJS_SOCKS_PROXY = `socks5://127.0.0.1:${proxy.port}`;
    try {
      const client = connect(broker.url, { reconnectPeriod: 0 });
      assert.equal(await firstOf(client), 'connect');
      await client.endAsync();
      assert.equal(proxy.requests.length, 1);
    } finally {
      if (saved === undefined) delete process.env.MQTTJS_SOCKS_PROXY;
      else process.env.MQTTJS_SOCKS_PROXY = saved;
      await proxy.stop();
    }
  });

  test("socksProxy: '' connects directly even with MQTTJS_SOCKS_PROXY set (as MQTT.js)", async () => {
    const proxy = await startSocksProxy();
    const saved = process.env.MQTTJS_SOCKS_PROXY;
    process.env.MQTTJS_SOCKS_PROXY = `socks5://127.0.0.1:${proxy.port}`;
    try {
      const client = connect(broker.url, { socksProxy: '', reconnectPeriod: 0 });
      assert.equal(await firstOf(client), 'connect');
      await client.endAsync();
      assert.equal(proxy.accepted, 0);
    } finally {
      if (saved === undefined) delete process.env.MQTTJS_SOCKS_PROXY;
      else process.env.MQTTJS_SOCKS_PROXY = saved;
      await proxy.stop();
    }
  });

  describe('TLS inside the tunnel', () => {
    let certificate: TestCertificate;
    let tlsServer: TlsServer;
    let tlsPort: number;
    before(async () => {
      certificate = makeSelfSignedCert();
      tlsServer = createTlsServer({ key: certificate.key, cert: certificate.cert }, (socket) =>
        broker.broker.handle(socket),
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      tlsPort = (tlsServer.address() as AddressInfo).port;
    });
    after(async () => {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      certificate.cleanup();
    });

    test('mqtts through socks5h: the certificate is checked against the broker name', async () => {
      const proxy = await startSocksProxy();
      try {
        await roundTrip(`mqtts://localhost:${tlsPort}`, `socks5h://127.0.0.1:${proxy.port}`, {
          ca: certificate.cert,
        });
        assert.deepEqual(proxy.requests, [
          { version: 5, host: 'localhost', port: tlsPort, addressType: 'domain' },
        ]);
        // The same tunnel with a certificate we do not trust: TLS fails end to end.
        const client = connect(`mqtts://localhost:${tlsPort}`, {
          socksProxy: `socks5h://127.0.0.1:${proxy.port}`,
          reconnectPeriod: 0,
        });
        const first = await firstOf(client);
        await client.endAsync(true);
        assert.ok(first instanceof Error);
        assert.match((first as Error & { code?: string }).code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      } finally {
        await proxy.stop();
      }
    });

    test('mqtts to a broker IP address through a proxy named by host: the certificate is checked against the broker', async () => {
      const proxy = await startSocksProxy();
      const checked: string[] = [];
      const client = connect(`mqtts://127.0.0.1:${tlsPort}`, {
        socksProxy: `socks5://localhost:${proxy.port}`,
        reconnectPeriod: 0,
        ca: certificate.cert,
        checkServerIdentity: (hostname: string) => {
          checked.push(hostname);
          return undefined;
        },
      });
      try {
        assert.equal(await firstOf(client), 'connect');
        // Not the proxy's name: a certificate for the proxy must not pass for the broker.
        assert.deepEqual(checked, ['127.0.0.1']);
      } finally {
        await client.endAsync(true);
        await proxy.stop();
      }
    });
  });
});

describe('SOCKS failures are errors the application can read', () => {
  test('the proxy refuses the CONNECT (SOCKS5 reply 5, SOCKS4 reply 91)', async () => {
    const proxy = await startSocksProxy({ refuseWith: 5 });
    try {
      const five = await failure(`socks5://127.0.0.1:${proxy.port}`, { refuseWith: 5 });
      assert.equal(five.code, 'MQTT_ERR_SOCKS');
      assert.match(five.message, /connection refused \(reply 0x05, RFC 1928 §6\)/);
    } finally {
      await proxy.stop();
    }
    const proxy4 = await startSocksProxy({ refuseWith: 91 });
    try {
      const four = await failure(`socks4://127.0.0.1:${proxy4.port}`, { refuseWith: 91 });
      assert.equal(four.code, 'MQTT_ERR_SOCKS');
      assert.match(four.message, /rejected or failed \(reply 91\)/);
    } finally {
      await proxy4.stop();
    }
  });

  test('wrong password, and a proxy that wants a password it was not given', async () => {
    const proxy = await startSocksProxy({ credentials: { user: 'u', password: 'right' } });
    try {
      const wrong = await failure(`socks5://u:wrong@127.0.0.1:${proxy.port}`);
      assert.equal(wrong.code, 'MQTT_ERR_SOCKS');
      assert.match(wrong.message, /username\/password refused/);
      const none = await failure(`socks5://127.0.0.1:${proxy.port}`);
      assert.match(none.message, /requires authentication/);
      assert.equal(proxy.requests.length, 0, 'no CONNECT reached the proxy');
    } finally {
      await proxy.stop();
    }
  });

  test('a proxy that never answers: socksTimeout', async () => {
    const proxy = await startSocksProxy({ silent: true });
    try {
      const started = Date.now();
      const error = await failure(
        `socks5://127.0.0.1:${proxy.port}`,
        { silent: true },
        { socksTimeout: 300 },
      );
      assert.equal(error.code, 'MQTT_ERR_SOCKS');
      assert.match(error.message, /within 300 ms \(socksTimeout\)/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await proxy.stop();
    }
  });

  test('a proxy that hangs up mid-handshake, or sends bytes after its reply', async () => {
    const hangUp = await startSocksProxy({ hangUpAfterGreeting: true });
    try {
      const error = await failure(`socks5://127.0.0.1:${hangUp.port}`);
      assert.equal(error.code, 'MQTT_ERR_SOCKS');
      assert.match(error.message, /closed the connection during the handshake/);
    } finally {
      await hangUp.stop();
    }
    const chatty = await startSocksProxy({ extraAfterReply: Buffer.from([0x20, 0x02, 0, 0]) });
    try {
      const error = await failure(`socks5://127.0.0.1:${chatty.port}`);
      assert.match(error.message, /4 unexpected bytes after the proxy's reply/);
    } finally {
      await chatty.stop();
    }
  });

  test('no proxy listening: the platform error', async () => {
    const proxy = await startSocksProxy();
    const port = proxy.port;
    await proxy.stop();
    const error = await failure(`socks5://127.0.0.1:${port}`);
    assert.equal(error.code, 'ECONNREFUSED');
  });

  test('a bad socksProxy URL is an invalid-options error', async () => {
    for (const [url, why] of [
      ['http://127.0.0.1:1080', /unknown scheme 'http:'/],
      ['socks5://127.0.0.1:1080/path', /path, query or fragment/],
      ['socks4://u:p@127.0.0.1', /SOCKS4 has no passwords/],
      ['not a url', /is not a URL/],
      ['socks5://%E0%A4%A@127.0.0.1:1080', /bad percent-escape/],
      ['socks5://:secret@127.0.0.1:1080', /a password needs a username/],
    ] as const) {
      const error = await failure(url);
      assert.equal(error.code, 'MQTT_ERR_INVALID_OPTIONS', url);
      assert.match(error.message, why);
    }
  });

  test('end() during the handshake: close, and neither error nor connect', async () => {
    const proxy = await startSocksProxy({ silent: true });
    try {
      const client = connect(broker.url, {
        socksProxy: `socks5://127.0.0.1:${proxy.port}`,
        reconnectPeriod: 0,
      });
      const events: string[] = [];
      for (const name of ['connect', 'error', 'close', 'end'] as const)
        client.on(name, () => events.push(name));
      while (proxy.accepted === 0) await new Promise((r) => setTimeout(r, 10));
      await client.endAsync();
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(!events.includes('connect') && !events.includes('error'), events.join());
      assert.ok(events.includes('end'));
    } finally {
      await proxy.stop();
    }
  });
});

describe('parseSocksUrl and addresses', () => {
  test('schemes, default port, IPv6 proxy host, credentials', () => {
    assert.deepEqual(parseSocksUrl('socks5h://[::1]'), {
      version: 5,
      remoteDns: true,
      host: '::1',
      port: 1080,
    });
    assert.deepEqual(parseSocksUrl('socks4a://me@proxy:9050'), {
      version: 4,
      remoteDns: true,
      host: 'proxy',
      port: 9050,
      username: 'me',
    });
  });

  test('IPv6 addresses become their 16 bytes', () => {
    assert.equal(ipv6BytesForTest('::1').toString('hex'), `${'0'.repeat(30)}01`);
    assert.equal(ipv6BytesForTest('2001:db8::8:1').toString('hex'), '20010db8000000000000000000080001');
    assert.equal(ipv6BytesForTest('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
    assert.equal(ipv6BytesForTest('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
    assert.equal(ipv6BytesForTest('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
  });

  test('a socks5 tunnel to an IPv6 broker address sends address type 4', async () => {
    const proxy = await startSocksProxy();
    try {
      // No broker on ::1 is needed: the proxy records the request before it connects.
      const client = connect('mqtt://[::1]:1', {
        socksProxy: `socks5://127.0.0.1:${proxy.port}`,
        reconnectPeriod: 0,
      });
      await firstOf(client);
      await client.endAsync(true);
      assert.deepEqual(proxy.requests[0], {
        version: 5,
        host: '0:0:0:0:0:0:0:1',
        port: 1,
        addressType: 'ipv6',
      });
    } finally {
      await proxy.stop();
    }
  });
});
