/** MQTT over TCP (`mqtt://`, `tcp://`) and over unix domain sockets (`mqtt+unix://`). */
import { connect } from 'node:net';
import { invalidOptions } from '../errors.js';
import { SocketConnection } from './node-socket.js';
import { failedConnection } from './registry.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

export function openTcp(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  if (options.unixSocket && !options.path) {
    return failedConnection(invalidOptions('a unix socket connection needs a path'), handlers);
  }
  try {
    const socket = options.unixSocket
      ? connect({ path: options.path as string })
      : connect({ host: options.host, port: options.port });
    return new SocketConnection(socket, 'connect', handlers, options.batchReadsMs);
  } catch (error) {
    // net.connect throws synchronously on a bad port or host; report it as the contract says.
    return failedConnection(error as Error, handlers);
  }
}
