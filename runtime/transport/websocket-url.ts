/**
 * The URL and subprotocol of every WebSocket-like transport (`ws`, `wss`, `wx`, `wxs`, `ali`,
 * `alis`), as MQTT over WebSocket defines them (MQTT 5.0 §6, 3.1.1 §6).
 */
import type { TransportOptions } from './types.js';

/** `mqttv3.1` for MQTT 3.1 (protocol name MQIsdp), `mqtt` otherwise (MQTT 5.0 §6, 3.1.1 §6). */
export function subprotocolFor(options: Pick<TransportOptions, 'protocolId' | 'protocolVersion'>): string {
  return options.protocolVersion === 3 && options.protocolId !== 'MQTT' ? 'mqttv3.1' : 'mqtt';
}

/**
 * The URL of a WebSocket transport: `ws`/`wss` (the mini-program protocols map to them), the
 * host (bracketed when it is an IPv6 address), the port, the path (default `/mqtt`, with its
 * query), then `transformWsUrl` if given. `omitDefaultPort` leaves out 80/443 as the
 * mini-program APIs expect, so the URL matches the domain allowed in their consoles.
 */
export function webSocketUrl(options: TransportOptions, omitDefaultPort = false): string {
  const secure = options.protocol === 'wss' || options.protocol === 'wxs' || options.protocol === 'alis';
  const scheme = secure ? 'wss' : 'ws';
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const defaultPort = omitDefaultPort && options.port === (secure ? 443 : 80);
  const path = options.path === undefined || options.path === '' ? '/mqtt' : options.path;
  const url = `${scheme}://${host}${defaultPort ? '' : `:${options.port}`}${path.startsWith('/') ? '' : '/'}${path}`;
  return options.transformWsUrl ? options.transformWsUrl(url) : url;
}
