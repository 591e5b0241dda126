/**
 * Parses a broker URL with the WHATWG `URL` parser (MQTT.js uses Node's legacy `url.parse`,
 * which the browser lacks), into the pieces `resolveOptions` merges with the user's options.
 */
import { invalidOptions } from './errors.js';

export interface BrokerUrlParts {
  /** Lower case, without the trailing `:`; may carry `+unix`. */
  protocol: string;
  hostname?: string;
  port?: number;
  username?: string;
  password?: string;
  /** The path with its query string (as `url.parse().path`), or the unix socket path. */
  path?: string;
  query: Record<string, string>;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function parseBrokerUrl(input: string | URL): BrokerUrlParts {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch (cause) {
    throw invalidOptions(`Missing protocol or invalid broker URL: ${String(input)}`, cause);
  }
  const protocol = url.protocol.replace(/:$/, '').toLowerCase();
  const unix = protocol.endsWith('+unix');
  // WHATWG keeps the brackets of an IPv6 literal; sockets want the bare address.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const parts: BrokerUrlParts = { protocol, query: url.search ? Object.fromEntries(url.searchParams) : {} };
  if (hostname) parts.hostname = hostname;
  if (url.port) parts.port = Number(url.port);
  if (url.username) parts.username = decode(url.username);
  if (url.password) parts.password = decode(url.password);
  if (unix) {
    const socketPath = decode(url.pathname);
    if (socketPath) parts.path = socketPath;
  } else if (url.pathname || url.search) {
    parts.path = `${url.pathname || '/'}${url.search}`;
  }
  return parts;
}
