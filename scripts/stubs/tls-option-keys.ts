/**
 * Stands in for runtime/transport/tls-option-keys.ts in the browser bundle: no TLS option is
 * picked into `options.tls` there, since the browser and mini-program platforms do TLS themselves
 * and no browser transport reads it (they stay in `client.options` as given).
 */
import type { TlsOptions } from '../../runtime/transport/types.js';

export const TLS_OPTION_KEYS: ReadonlyArray<keyof TlsOptions> = [];
