/**
 * Adapts a Node `net.Socket` (or `tls.TLSSocket`) to `Connection`, enforcing the lifecycle of
 * `types.ts`: connect at most once, error at most once and only before close, close exactly once.
 */
import type { Socket } from 'node:net';
import type { Connection, ConnectionHandlers } from './types.js';

export class SocketConnection implements Connection {
  private readonly socket_: Socket;
  private connected_ = false;
  private ended_ = false;
  private errored_ = false;
  private closed_ = false;

  /** `connectEvent` is `connect` for TCP and `secureConnect` for TLS (after the handshake). */
  constructor(socket: Socket, connectEvent: 'connect' | 'secureConnect', handlers: ConnectionHandlers) {
    this.socket_ = socket;
    // MQTT packets are small and latency-bound; batching is done with cork()/uncork() instead.
    socket.setNoDelay(true);
    socket.on(connectEvent, () => {
      if (this.connected_ || this.closed_) return;
      this.connected_ = true;
      handlers.connect();
    });
    socket.on('data', (chunk: Uint8Array) => {
      if (!this.closed_) handlers.data(chunk);
    });
    socket.on('drain', () => {
      if (!this.closed_) handlers.drain();
    });
    socket.on('error', (error: Error) => {
      if (this.errored_ || this.closed_) return;
      this.errored_ = true;
      handlers.error(error);
    });
    socket.on('close', () => {
      if (this.closed_) return;
      this.closed_ = true;
      handlers.close();
    });
  }

  get writable(): boolean {
    return this.connected_ && !this.ended_ && !this.closed_ && this.socket_.writable;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    return this.socket_.write(chunk);
  }

  cork(): void {
    this.socket_.cork();
  }

  uncork(): void {
    this.socket_.uncork();
  }

  end(): void {
    if (this.ended_ || this.closed_) return;
    this.ended_ = true;
    this.socket_.end();
  }

  destroy(): void {
    if (this.closed_) return;
    this.ended_ = true;
    this.socket_.destroy();
  }
}
