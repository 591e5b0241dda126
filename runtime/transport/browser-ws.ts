/**
 * MQTT over the browser's own `WebSocket` (`ws://`, `wss://`): binary frames as ArrayBuffer,
 * handed on as Uint8Array. `createWebsocket`, when given, builds the socket instead. TLS is the
 * browser's business; `wsOptions` and the TLS options do not apply here.
 *
 * A browser WebSocket cannot stop reading (no backpressure API): the connection's `pause()` does
 * nothing, and the client's `handleMessage` backpressure does not bound its memory here; only the
 * server's in-flight window bounds QoS 1 and 2 messages (docs/browser.md).
 */
import { webSocketError } from '../errors.js';
import { failedConnection } from './registry.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';
import { WebSocketConnection, type WebSocketLike } from './websocket.js';
import { subprotocolFor, webSocketUrl } from './websocket-url.js';

type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

export function openBrowserWs(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  let socket: WebSocketLike;
  try {
    const url = webSocketUrl(options);
    const protocols = [subprotocolFor(options)];
    if (options.createWebsocket) {
      socket = options.createWebsocket(url, protocols) as WebSocketLike;
      if (typeof socket !== 'object' || socket === null)
        throw webSocketError('createWebsocket returned no socket');
    } else {
      const Native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!Native) return failedConnection(webSocketError('no WebSocket in this environment'), handlers);
      socket = new Native(url, protocols);
    }
  } catch (error) {
    // The constructor throws a SyntaxError for a bad URL or subprotocol.
    return failedConnection(error instanceof Error ? error : webSocketError(String(error)), handlers);
  }
  return new WebSocketConnection(handlers, socket, {
    reportsSent: false,
    send: (chunk) => socket.send(chunk),
    // The browser's error event says nothing, on purpose (WebSocket spec §"fail the connection").
    errorOf: (event) => webSocketError('WebSocket error', event),
  });
}
