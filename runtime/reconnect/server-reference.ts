/**
 * MQTT 5 Server Reference (§4.11): a UTF-8 string naming one or more servers, space separated,
 * each `host`, `host:port` or `[ipv6]:port`. Its format is not fixed by the spec; this reads the
 * common one and returns the first server, or undefined when it cannot be read.
 */
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
