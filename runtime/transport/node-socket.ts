/**
 * Adapts a Node `net.Socket` (or `tls.TLSSocket`) to `Connection`, enforcing the lifecycle of
 * `types.ts`: connect at most once, error at most once and only before close, close exactly once.
 */
import type { Socket } from 'node:net';
import type { Connection, ConnectionHandlers } from './types.js';

export class SocketConnection implements Connection {
  private readonly socket: Socket;
  private connected = false;
  private ended = false;
  private errored = false;
  private closed = false;

  /** `connectEvent` is `connect` for TCP and `secureConnect` for TLS (after the handshake). */
  constructor(socket: Socket, connectEvent: 'connect' | 'secureConnect', handlers: ConnectionHandlers) {
    this.socket = socket;
    // MQTT packets are small and latency-bound; batching is done with cork()/uncork() instead.
    socket.setNoDelay(true);
    socket.on(connectEvent, () => {
      if (this.connected || this.closed) return;
      this.connected = true;
      handlers.connect();
    });
    socket.on('data', (chunk: Uint8Array) => {
      if (!this.closed) handlers.data(chunk);
    });
    socket.on('drain', () => {
      if (!this.closed) handlers.drain();
    });
    socket.on('error', (error: Error) => {
      if (this.errored || this.closed) return;
      this.errored = true;
      handlers.error(error);
    });
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      handlers.close();
    });
  }

  get writable(): boolean {
    return this.connected && !this.ended && !this.closed && this.socket.writable;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    return this.socket.write(chunk);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  end(): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.socket.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.ended = true;
    this.socket.destroy();
  }
}
