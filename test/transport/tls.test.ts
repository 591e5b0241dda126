import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { openTls, tlsConnectOptions } from '../../runtime/transport/tls.js';
import type { TransportOptions } from '../../runtime/transport/types.js';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { recorder } from '../helpers/recorder.js';

describe('tlsConnectOptions', () => {
  const base: TransportOptions = { protocol: 'mqtts', host: 'broker.example', port: 8883 };

  test('defaults servername to the host name', () => {
    assert.equal(tlsConnectOptions(base).servername, 'broker.example');
  });

  test('leaves servername unset for an IPv4 or IPv6 host', () => {
    assert.equal('servername' in tlsConnectOptions({ ...base, host: '127.0.0.1' }), false);
    assert.equal('servername' in tlsConnectOptions({ ...base, host: '::1' }), false);
  });

  test('keeps an explicit servername', () => {
    assert.equal(
      tlsConnectOptions({ ...base, host: '10.0.0.1', tls: { servername: 'x.test' } }).servername,
      'x.test',
    );
  });

  test('verifies certificates unless rejectUnauthorized is false', () => {
    assert.equal(tlsConnectOptions(base).rejectUnauthorized, true);
    assert.equal(
      tlsConnectOptions({ ...base, tls: { rejectUnauthorized: false } }).rejectUnauthorized,
      false,
    );
  });

  test('passes ca, cert, key, passphrase and ALPNProtocols through, Uint8Array as Buffer views', () => {
    const ca = new Uint8Array([1, 2, 3]);
    const options = tlsConnectOptions({
      ...base,
      tls: {
        ca,
        cert: 'CERT',
        key: [{ pem: 'KEY', passphrase: 'p' }],
        passphrase: 'pw',
        ALPNProtocols: ['mqtt'],
      },
    });
    assert.ok(Buffer.isBuffer(options.ca));
    assert.equal((options.ca as Buffer).buffer, ca.buffer);
    assert.equal(options.cert, 'CERT');
    assert.deepEqual(options.key, [{ pem: 'KEY', passphrase: 'p' }]);
    assert.equal(options.passphrase, 'pw');
    assert.deepEqual(options.ALPNProtocols, ['mqtt']);
  });

  test('uses path, not host and port, for a unix socket', () => {
    const options = tlsConnectOptions({ ...base, unixSocket: true, path: '/run/mqtt.sock' });
    assert.equal(options.path, '/run/mqtt.sock');
    assert.equal('host' in options, false);
    assert.equal('servername' in options, false);
  });

  test('omits options the user did not set', () => {
    assert.deepEqual(Object.keys(tlsConnectOptions(base)).sort(), [
      'host',
      'port',
      'rejectUnauthorized',
      'servername',
    ]);
  });
});

describe('tls transport', () => {
  let certificate: TestCertificate;
  let server: Server;
  let port: number;
  const accepted: TLSSocket[] = [];
  let onAccept: ((socket: TLSSocket) => void) | undefined;

  before(async () => {
    certificate = makeSelfSignedCert();
    server = createServer(
      { key: certificate.key, cert: certificate.cert, ALPNProtocols: ['mqtt'] },
      (socket) => {
        accepted.push(socket);
        onAccept?.(socket);
        socket.on('data', (chunk) => socket.write(chunk)); // echo
        socket.on('error', () => {});
      },
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    certificate.cleanup();
  });

  test('connects after the handshake when the CA is trusted, and echoes bytes', async () => {
    const rec = recorder();
    const connection = openTls(
      { protocol: 'mqtts', host: '127.0.0.1', port, tls: { ca: certificate.cert, servername: 'localhost' } },
      rec.handlers,
    );
    await rec.connected;
    assert.equal(connection.writable, true);
    connection.write(new Uint8Array([0xc0, 0x00]));
    assert.deepEqual([...(await rec.waitForBytes(2))], [0xc0, 0x00]);
    connection.end();
    await rec.closed;
    assert.deepEqual(rec.events, ['connect', 'data', 'close']);
  });

  test('sends the servername as SNI and negotiates ALPN', async () => {
    const serverSocket = new Promise<TLSSocket>((resolve) => {
      onAccept = resolve;
    });
    const rec = recorder();
    const connection = openTls(
      {
        protocol: 'mqtts',
        host: '127.0.0.1',
        port,
        tls: { ca: certificate.cert, servername: 'localhost', ALPNProtocols: ['mqtt'] },
      },
      rec.handlers,
    );
    await rec.connected;
    const serverSide = (await serverSocket) as TLSSocket & { servername?: string | false };
    assert.equal(serverSide.servername, 'localhost');
    assert.equal(serverSide.alpnProtocol, 'mqtt');
    connection.destroy();
    await rec.closed;
  });

  test('reports an untrusted certificate as error then close', async () => {
    const rec = recorder();
    openTls({ protocol: 'mqtts', host: '127.0.0.1', port, tls: { servername: 'localhost' } }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('reports a host name mismatch as error then close', async () => {
    const rec = recorder();
    openTls(
      { protocol: 'mqtts', host: '127.0.0.1', port, tls: { ca: certificate.cert, servername: 'other.test' } },
      rec.handlers,
    );
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('connects to an untrusted server when rejectUnauthorized is false', async () => {
    const rec = recorder();
    const connection = openTls(
      { protocol: 'mqtts', host: '127.0.0.1', port, tls: { rejectUnauthorized: false } },
      rec.handlers,
    );
    await rec.connected;
    connection.destroy();
    await rec.closed;
    assert.deepEqual(rec.events, ['connect', 'close']);
  });

  test('reports ECONNREFUSED as error then close', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const freePort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const rec = recorder();
    openTls({ protocol: 'mqtts', host: '127.0.0.1', port: freePort }, rec.handlers);
    await rec.closed;
    assert.deepEqual(rec.events, ['error', 'close']);
    assert.equal((rec.errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  });

  test('reports nothing but close after end() or destroy() while connecting', async () => {
    for (const stop of ['end', 'destroy'] as const) {
      const rec = recorder();
      const connection = openTls(
        {
          protocol: 'mqtts',
          host: '127.0.0.1',
          port,
          tls: { ca: certificate.cert, servername: 'localhost' },
        },
        rec.handlers,
      );
      connection[stop]();
      await rec.closed;
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(rec.events, ['close'], `after ${stop}()`);
    }
  });

  test('reports nothing but close after end() or destroy() during the handshake', async () => {
    // Accepts slowly: holds each TCP connection until the test hands it to the TLS server.
    let accepted: ((socket: Socket) => void) | undefined;
    const slow = createTcpServer((socket) => accepted?.(socket));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      for (const stop of ['end', 'destroy'] as const) {
        const held = new Promise<Socket>((resolve) => {
          accepted = resolve;
        });
        const rec = recorder();
        const connection = openTls(
          {
            protocol: 'mqtts',
            host: '127.0.0.1',
            port: (slow.address() as AddressInfo).port,
            tls: { ca: certificate.cert, servername: 'localhost' },
          },
          rec.handlers,
        );
        const socket = await held; // TCP is up, the handshake has not begun
        connection[stop]();
        server.emit('connection', socket);
        await rec.closed;
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(rec.events, ['close'], `after ${stop}()`);
      }
    } finally {
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  test('reports a plain-TCP peer as a TLS error then close', async () => {
    // resume() so the server reads the client's FIN and its socket closes.
    const plain = createTcpServer((socket) => socket.resume().end('not tls at all\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const rec = recorder();
      openTls(
        { protocol: 'mqtts', host: '127.0.0.1', port: (plain.address() as AddressInfo).port },
        rec.handlers,
      );
      await rec.closed;
      assert.deepEqual(rec.events, ['error', 'close']);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});

describe('loading tls', () => {
  test('importing the package does not load Node’s tls; the first TLS connection does', () => {
    // A fresh process: this one loaded tls above. moduleLoadList names the built-ins loaded so far.
    const script = `
      const loaded = () => process.moduleLoadList.includes('NativeModule tls');
      const { connect } = await import(${JSON.stringify(new URL('../../runtime/index.ts', import.meta.url).href)});
      const afterImport = loaded();
      const client = connect('mqtts://127.0.0.1:1', { reconnectPeriod: 0 });
      client.on('error', () => {});
      const afterConnect = loaded();
      client.end(true);
      console.log(JSON.stringify({ afterImport, afterConnect }));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), {
      afterImport: false,
      afterConnect: true,
    });
  });
});
