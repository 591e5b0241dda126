/**
 * MQTT over TLS (`mqtts://`, `tls://`, `ssl://`, `mqtts+unix://`). The TLS options are passed
 * through to `tls.connect`; `servername` defaults to the host unless it is an IP address (SNI
 * must not carry an IP address, RFC 6066 §3), and certificates are verified unless
 * `rejectUnauthorized` is false.
 */
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { ConnectionOptions, SecureContext } from 'node:tls';
import { invalidOptions } from '../errors.js';
import { SocketConnection } from './node-socket.js';
import { failedConnection } from './registry.js';
import { openSocks, socksProxyFor } from './socks.js';
import type { Connection, ConnectionHandlers, TlsOptions, TransportOptions } from './types.js';

type Binary = string | Uint8Array;

function toBuffer(value: Binary): string | Buffer {
  // A view, not a copy: Node's typings want Buffer where it accepts any Uint8Array.
  return typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toBuffers(
  value: Binary | ReadonlyArray<Binary> | undefined,
): string | Buffer | Array<string | Buffer> | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' || value instanceof Uint8Array ? toBuffer(value) : value.map(toBuffer);
}

function convertKey(key: TlsOptions['key']): ConnectionOptions['key'] {
  if (key === undefined || typeof key === 'string' || key instanceof Uint8Array) return toBuffers(key);
  return key.map((entry) =>
    typeof entry === 'string' || entry instanceof Uint8Array
      ? toBuffer(entry)
      : { pem: toBuffer(entry.pem), passphrase: entry.passphrase },
  );
}

function convertPfx(pfx: TlsOptions['pfx']): ConnectionOptions['pfx'] {
  if (pfx === undefined || typeof pfx === 'string' || pfx instanceof Uint8Array) return toBuffers(pfx);
  return pfx.map((entry) =>
    typeof entry === 'string' || entry instanceof Uint8Array
      ? toBuffer(entry)
      : { buf: toBuffer(entry.buf), passphrase: entry.passphrase },
  );
}

/** The options `tls.connect` receives for `options`; exported for tests. */
export function tlsConnectOptions(options: TransportOptions): ConnectionOptions {
  const tls = options.tls ?? {};
  const target: ConnectionOptions = options.unixSocket
    ? { path: options.path }
    : { host: options.host, port: options.port };
  const servername =
    tls.servername ?? (options.unixSocket || isIP(options.host) !== 0 ? undefined : options.host);
  const result: ConnectionOptions = {
    ...target,
    rejectUnauthorized: tls.rejectUnauthorized !== false,
    ca: toBuffers(tls.ca),
    cert: toBuffers(tls.cert),
    key: convertKey(tls.key),
    passphrase: tls.passphrase,
    pfx: convertPfx(tls.pfx),
    servername,
    // Node accepts an array of Uint8Array too, though its typings list only string[].
    ALPNProtocols: tls.ALPNProtocols as ConnectionOptions['ALPNProtocols'],
    ciphers: tls.ciphers,
    ecdhCurve: tls.ecdhCurve,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    crl: toBuffers(tls.crl),
    sigalgs: tls.sigalgs,
    secureProtocol: tls.secureProtocol,
    session: tls.session === undefined ? undefined : (toBuffer(tls.session) as Buffer),
    secureContext: tls.secureContext as SecureContext | undefined,
    checkServerIdentity: tls.checkServerIdentity,
  };
  // Leave unset keys out entirely: tls.connect treats some present-but-undefined keys differently.
  for (const key of Object.keys(result) as Array<keyof ConnectionOptions>) {
    if (result[key] === undefined) delete result[key];
  }
  return result;
}

type TlsModule = typeof import('node:tls');
let tlsModule: TlsModule | undefined;

/**
 * Node's `tls`, loaded by the first TLS connection rather than with the package: a client that
 * never uses TLS saves its import time and about 1.4 MB of memory. Built-ins load synchronously
 * (`process.getBuiltinModule` from Node 20.16; a `require` from any base path before that).
 */
export function loadTls(): TlsModule {
  const { getBuiltinModule } = process as { getBuiltinModule?: (id: string) => unknown };
  tlsModule ??= (getBuiltinModule?.('node:tls') ?? createRequire('/')('node:tls')) as TlsModule;
  return tlsModule;
}

export function openTls(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  if (options.unixSocket && !options.path) {
    return failedConnection(invalidOptions('a unix socket connection needs a path'), handlers);
  }
  const socksProxy = socksProxyFor(options);
  if (socksProxy) return openSocks(socksProxy, options, handlers, true);
  try {
    return new SocketConnection(
      loadTls().connect(tlsConnectOptions(options)),
      'secureConnect',
      handlers,
      options.batchReadsMs,
    );
  } catch (error) {
    // tls.connect throws synchronously on bad options (a bad port, an unreadable key).
    return failedConnection(error as Error, handlers);
  }
}
