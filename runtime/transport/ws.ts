/**
 * MQTT over WebSocket in Node (`ws://`, `wss://`) with the `ws` package. `wsOptions` go to the
 * `ws` constructor as they are (headers, agent, perMessageDeflate…); for `wss` the TLS options
 * (`ca`, `cert`, `key`, `rejectUnauthorized`…) are passed as well, `wsOptions` winning.
 * `createWebsocket`, when given, builds the socket instead: `ws`'s or any WHATWG-like one.
 *
 * `ws` is imported on the first WebSocket connection, not with the package: loading it (http,
 * https, crypto, zlib…) takes longer than loading the whole client.
 *
 * `pause()`/`resume()` use `ws`'s own, which stop reading from the socket (`handleMessage`
 * backpressure). A `createWebsocket` socket that is not `ws`'s (Node 22's WebSocket) has none, and
 * keeps delivering.
 */

import { Buffer } from 'node:buffer';
import type { ClientOptions as WsClientOptions, default as WsWebSocket } from 'ws';
import { webSocketError } from '../errors.js';
import { tlsConnectOptions } from './tls.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';
import { WebSocketConnection, type WebSocketLike, type WebSocketPlatform } from './websocket.js';
import { subprotocolFor, webSocketUrl } from './websocket-url.js';

let loading: Promise<typeof WsWebSocket> | undefined;

function loadWs(): Promise<typeof WsWebSocket> {
  loading ??= import('ws').then((module) => module.default);
  return loading;
}

/** The options the `ws` constructor receives; exported for tests. */
export function wsClientOptions(options: TransportOptions): WsClientOptions {
  const result: WsClientOptions = {};
  if (options.protocol === 'wss') {
    const {
      host: _host,
      port: _port,
      path: _path,
      ...tls
    } = tlsConnectOptions({
      ...options,
      unixSocket: false,
    });
    Object.assign(result, tls);
  }
  return Object.assign(result, options.wsOptions);
}

/** Errors from `ws` carry Node's error (ECONNREFUSED, TLS codes…); other sockets' events may not. */
function errorOf(event: unknown): Error {
  const error = (event as { error?: unknown } | null)?.error;
  if (error instanceof Error) return error;
  const message = (event as { message?: unknown } | null)?.message;
  return webSocketError(typeof message === 'string' && message ? message : 'WebSocket error', event);
}

function platformFor(socket: WebSocketLike, WebSocket: typeof WsWebSocket): WebSocketPlatform {
  if (!(socket instanceof WebSocket)) {
    return { reportsSent: false, send: (chunk) => socket.send(chunk), errorOf };
  }
  return {
    reportsSent: true,
    send: (chunk, sent) => socket.send(chunk, { binary: true }, sent),
    errorOf,
    destroy: () => socket.terminate(),
    binaryType: 'nodebuffer',
  };
}

/**
 * In Node a payload is a Buffer: `ws` hands Buffers already, a socket from `createWebsocket`
 * that is not `ws`'s (Node 22's own WebSocket) ArrayBuffers, seen here as Buffers without a copy.
 */
function asBuffers(handlers: ConnectionHandlers): ConnectionHandlers {
  return {
    connect: () => handlers.connect(),
    data: (chunk) =>
      handlers.data(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      ),
    drain: () => handlers.drain(),
    error: (error) => handlers.error(error),
    close: () => handlers.close(),
  };
}

export function openWs(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  const connection = new WebSocketConnection(options.createWebsocket ? asBuffers(handlers) : handlers);
  loadWs().then(
    (WebSocket) => {
      let socket: WebSocketLike;
      try {
        const url = webSocketUrl(options);
        const protocols = [subprotocolFor(options)];
        socket = (
          options.createWebsocket
            ? options.createWebsocket(url, protocols)
            : new WebSocket(url, protocols, wsClientOptions(options))
        ) as WebSocketLike;
        if (typeof socket !== 'object' || socket === null)
          throw webSocketError('createWebsocket returned no socket');
        connection.attach(socket, platformFor(socket, WebSocket));
      } catch (error) {
        // A bad URL throws from the constructor (SyntaxError); report it as the contract says.
        connection.failToOpen(error instanceof Error ? error : webSocketError(String(error)));
      }
    },
    (error: Error) => connection.failToOpen(error),
  );
  return connection;
}
