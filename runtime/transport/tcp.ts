/** MQTT over TCP (`mqtt://`, `tcp://`) and over unix domain sockets (`mqtt+unix://`). */
import { connect, type Socket } from 'node:net';
import { invalidOptions } from '../errors.js';
import { SocketConnection } from './node-socket.js';
import { ReadBuffers } from './read-buffers.js';
import { failedConnection } from './registry.js';
import { openSocks, socksProxyFor } from './socks.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

/**
 * The reads' buffers: the same two functions for every socket (no closures per connection).
 * Node calls `callback` on the socket (`this`) that read, then `buffer` (with no `this`) for
 * that socket's next room, never one without the other; `callback` leaves in `reading` the
 * ReadBuffers to take it from. A quiet connection holds none: its reads go through `spare`,
 * and the first room of every socket, taken inside net.connect, is the shared one.
 */
let reading: ReadBuffers | undefined;
let spare: ReadBuffers | undefined;
const QUIET = new ReadBuffers(); // never filled: it always hands out the shared buffer
const onread = {
  buffer(): Uint8Array {
    const buffers = reading ?? QUIET;
    reading = undefined;
    return buffers.next();
  },
  callback(this: Socket, length: number, room: Uint8Array): boolean {
    const connection = SocketConnection.of(this);
    spare ??= new ReadBuffers();
    const buffers = connection.readBuffers ?? spare;
    const bytes = buffers.filled(room, length);
    if (buffers.busy) {
      connection.readBuffers = buffers;
      if (buffers === spare) spare = undefined;
    } else connection.readBuffers = undefined;
    try {
      connection.received(bytes);
    } catch (error) {
      // Thrown by the application (a 'message' listener): it still reaches the process, but on
      // its own. Thrown from here, or in a nextTick or microtask (which run before Node takes the
      // next room from this read's return), the socket would read over bytes handed on.
      setImmediate(() => {
        throw error;
      });
    }
    reading = connection.readBuffers;
    return true; // keep reading (batching pauses the socket itself)
  },
};

export function openTcp(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  if (options.unixSocket && !options.path) {
    return failedConnection(invalidOptions('a unix socket connection needs a path'), handlers);
  }
  const socksProxy = socksProxyFor(options);
  if (socksProxy) return openSocks(socksProxy, options, handlers, false);
  try {
    const socket = options.unixSocket
      ? connect({ path: options.path as string, onread })
      : connect({ host: options.host, port: options.port, onread });
    return new SocketConnection(socket, 'connect', handlers, options.batchReadsMs);
  } catch (error) {
    // net.connect throws synchronously on a bad port or host; report it as the contract says.
    return failedConnection(error as Error, handlers);
  }
}
