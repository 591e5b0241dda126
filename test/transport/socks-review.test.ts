/**
 * Regression tests from the review of the SOCKS transport: what the TLS handshake inside the
 * tunnel checks the certificate against, and how `socksProxy` and `MQTTJS_SOCKS_PROXY` combine.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { connect, type MqttClient } from '../../runtime/index.js';
import { type AedesBroker, startAedes } from '../helpers/aedes.js';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { startSocksProxy } from '../helpers/socks-proxy.js';

function firstOf(client: MqttClient): Promise<'connect' | Error> {
  return new Promise((resolve) => {
    client.once('connect', () => resolve('connect'));
    client.once('error', (error) => resolve(error));
  });
}

let broker: AedesBroker;
let certificate: TestCertificate;
let tlsServer: TlsServer;
let tlsPort: number;

before(async () => {
  broker = await startAedes();
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
  await broker.stop();
});

describe('SOCKS review', () => {
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
});
