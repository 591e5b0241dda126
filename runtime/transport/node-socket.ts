/**
 * Adapts a Node `net.Socket` (or `tls.TLSSocket`) to `Connection`, enforcing the lifecycle of
 * `types.ts`: connect at most once, error at most once and only before close, close exactly once.
 */
import type { Socket } from 'node:net';
import type { Connection, ConnectionHandlers } from './types.js';

/** Reads at least this large are not batched: the socket had that much waiting already. */
const BATCH_BELOW_BYTES = 16 * 1024;

export class SocketConnection implements Connection {
  private readonly socket: Socket;
  private connected = false;
  private ended = false;
  private errored = false;
  private closed = false;

  /** Read batching (see `batchReads`): when the last read happened, and whether reading waits. */
  private lastReadAt = -Infinity;
  private waiting = false;

  /**
   * `connectEvent` is `connect` for TCP and `secureConnect` for TLS (after the handshake).
   * `batchReadsMs` is `TransportOptions.batchReadsMs` (0 turns read batching off).
   */
  constructor(
    socket: Socket,
    connectEvent: 'connect' | 'secureConnect',
    handlers: ConnectionHandlers,
    private readonly batchReadsMs = 0,
  ) {
    this.socket = socket;
    // MQTT packets are small and latency-bound; batching is done with cork()/uncork() instead.
    socket.setNoDelay(true);
    socket.on(connectEvent, () => {
      if (this.connected || this.closed) return;
      this.connected = true;
      handlers.connect();
    });
    socket.on('data', (chunk: Uint8Array) => {
      if (this.closed) return;
      if (handlers.data(chunk) === true && this.batchReadsMs > 0) this.batchReads(chunk.length);
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

  /**
   * Every read costs a system call and a trip through the stream machinery, and a client fed
   * small packets back to back would otherwise read them one at a time. When a small read that
   * may wait (the client said so: it carried messages, not acknowledgements a sender's window
   * depends on) follows the previous read within `batchReadsMs`, the socket stops reading for
   * that long, so the kernel gathers what arrives meanwhile into one read. A read after a quiet
   * spell is handled at once, so an idle client adds no latency; under load a packet waits at
   * most `batchReadsMs`. Large reads (a full buffer: more is waiting) never wait.
   */
  private batchReads(length: number): void {
    const now = performance.now();
    const busy = now - this.lastReadAt < this.batchReadsMs;
    this.lastReadAt = now;
    if (!busy || this.waiting || length >= BATCH_BELOW_BYTES || this.closed) return;
    this.waiting = true;
    this.socket.pause();
    setTimeout(() => {
      this.waiting = false;
      if (!this.closed) this.socket.resume();
    }, this.batchReadsMs);
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
