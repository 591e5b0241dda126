import type { TlsOptions } from './types.js';

/**
 * The names of `TlsOptions`, to pick them out of a user's options object into `options.tls`. Only
 * Node's TLS transport reads that: the browser build (scripts/build-browser.ts) substitutes
 * scripts/stubs/tls-option-keys.ts, an empty list, since a browser or mini-program does TLS
 * itself. A user's TLS options stay in `client.options` either way.
 */
export const TLS_OPTION_KEYS = [
  'ca',
  'cert',
  'key',
  'passphrase',
  'pfx',
  'rejectUnauthorized',
  'servername',
  'ALPNProtocols',
  'ciphers',
  'ecdhCurve',
  'minVersion',
  'maxVersion',
  'crl',
  'sigalgs',
  'secureProtocol',
  'session',
  'secureContext',
  'checkServerIdentity',
] as const satisfies ReadonlyArray<keyof TlsOptions>;
