/** MQTT over TCP (`mqtt://`, `tcp://`) and over unix domain sockets (`mqtt+unix://`). */
import { connect } from 'node:net';
import { invalidOptions } from '../errors.js';
import { SocketConnection } from './node-socket.js';
import { ReadBuffers } from './read-buffers.js';
import { failedConnection } from './registry.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

export function openTcp(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  if (options.unixSocket && !options.path) {
    return failedConnection(invalidOptions('a unix socket connection needs a path'), handlers);
  }
  try {
    const buffers = new ReadBuffers();
    const onread = {
      buffer: () => buffers.next(),
      callback: (length: number, room: Uint8Array) => {
        connection.received(buffers.filled(room, length));
        return true; // keep reading (batching pauses the socket itself)
      },
    };
    const socket = options.unixSocket
      ? connect({ path: options.path as string, onread })
      : connect({ host: options.host, port: options.port, onread });
    const connection = new SocketConnection(socket, 'connect', handlers, options.batchReadsMs);
    return connection;
  } catch (error) {
    // net.connect throws synchronously on a bad port or host; report it as the contract says.
    return failedConnection(error as Error, handlers);
  }
}
