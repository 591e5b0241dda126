/**
 * MQTT 5 Server Reference (§4.11): a UTF-8 string naming one or more servers, space separated,
 * each `host`, `host:port` or `[ipv6]:port`. Its format is not fixed by the spec; this reads the
 * common one and returns the first server, or undefined when it cannot be read.
 */
import type { ConnectionUpdate } from '../options-types.js';

export interface ServerTarget {
  host: string;
  port?: number;
}

export function parseServerReference(reference: string): ServerTarget | undefined {
  const first = reference.trim().split(/\s+/)[0];
  if (!first) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(first);
  if (bracketed) return withPort(bracketed[1]!, bracketed[2]);
  const parts = first.split(':');
  if (parts.length === 1) return { host: first };
  if (parts.length === 2) return withPort(parts[0]!, parts[1]);
  return { host: first }; // a bare IPv6 address
}

function withPort(host: string, port: string | undefined): ServerTarget | undefined {
  if (port === undefined) return { host };
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) return undefined;
  return { host, port: n };
}

/**
 * A `beforeReconnect` update without the host and port of the 0x9C target it was shown: handing
 * `current` back does not make a temporary server stick.
 */
export function withoutTarget(update: ConnectionUpdate, target: ServerTarget | undefined): ConnectionUpdate {
  if (!target || update.host !== target.host) return update;
  const { host: _host, port, ...rest } = update;
  return port === undefined || port === target.port ? rest : { ...rest, port };
}
