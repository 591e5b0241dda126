/**
 * Adapts a Node `net.Socket` (or `tls.TLSSocket`) to `Connection`, enforcing the lifecycle of
 * `types.ts`: connect at most once, error at most once and only before close, close exactly once.
 */
import type { Socket } from 'node:net';
import type { ReadBuffers } from './read-buffers.js';
import type { Connection, ConnectionHandlers } from './types.js';

/**
 * Reads at least this large are not batched: the socket had that much waiting already. (Node
 * reads at most 64 KiB at a time; over TCP, `ReadBuffers` gives a busy socket at least that.)
 */
const BATCH_BELOW_BYTES = 64 * 1024;

/**
 * How much may wait unsent in the socket before `write()` says to wait for 'drain'. Node's own
 * mark (16 KiB) is less than one 16 KiB PUBLISH: waiting on it cost a system call per message
 * (20,000 writev for 20,000 messages; 1,282 with this).
 */
export const WRITE_BUFFER_BYTES = 256 * 1024;

/** The SocketConnection a socket belongs to, for the listeners all sockets share. */
const CONNECTION = Symbol('mqttforge.connection');
type Owned = Socket & { [CONNECTION]: SocketConnection };

function onOpened(this: Socket): void {
  SocketConnection.of(this).opened();
}
function onData(this: Socket, chunk: Uint8Array): void {
  SocketConnection.of(this).received(chunk);
}
function onDrained(this: Socket): void {
  SocketConnection.of(this).drained();
}
function onFailed(this: Socket, error: Error): void {
  SocketConnection.of(this).failed(error);
}
function onClosed(this: Socket): void {
  SocketConnection.of(this).closed();
}

export class SocketConnection implements Connection {
  private readonly socket_: Socket;
  private connected_ = false;
  private ended_ = false;
  private errored_ = false;
  private closed_ = false;

  /** Read batching (see `batchReads_`): when the last read happened, and whether reading waits. */
  private lastReadAt_ = -Infinity;
  private waiting_ = false;
  /** Paused by the client (`pause()`), which batching must not undo. */
  private held_ = false;
  private batchTimer_: ReturnType<typeof setTimeout> | undefined;
  private readonly batchReadsMs_: number;
  private readonly handlers_: ConnectionHandlers;
  /** tcp.ts's read buffers of this connection while it is busy; undefined while quiet. */
  readBuffers: ReadBuffers | undefined;

  /**
   * `connectEvent` is `connect` for TCP and `secureConnect` for TLS (after the handshake).
   * `batchReadsMs` is `TransportOptions.batchReadsMs` (0 turns read batching off).
   */
  constructor(
    socket: Socket,
    connectEvent: 'connect' | 'secureConnect',
    handlers: ConnectionHandlers,
    batchReadsMs = 0,
  ) {
    this.socket_ = socket;
    this.batchReadsMs_ = batchReadsMs;
    this.handlers_ = handlers;
    // MQTT packets are small and latency-bound; batching is done with cork()/uncork() instead.
    socket.setNoDelay(true);
    // The listeners are shared by all sockets (no closures per connection: an idle client's
    // memory), and find their connection on the socket, which Node passes as `this`.
    (socket as Owned)[CONNECTION] = this;
    socket.on(connectEvent, onOpened);
    // Without `onread` (TLS), the socket's 'data' events bring the reads.
    socket.on('data', onData);
    socket.on('drain', onDrained);
    socket.on('error', onFailed);
    socket.on('close', onClosed);
  }

  /** The connection of `socket` (one that a SocketConnection was made for). */
  static of(socket: Socket): SocketConnection {
    return (socket as Owned)[CONNECTION];
  }

  /** The socket's `connect` (TCP) or `secureConnect` (TLS) event. */
  opened(): void {
    // Not after end()/destroy(): a connection given up while connecting reports only its close.
    if (this.connected_ || this.ended_ || this.closed_) return;
    this.connected_ = true;
    this.handlers_.connect();
  }

  drained(): void {
    if (!this.closed_) this.handlers_.drain();
  }

  failed(error: Error): void {
    if (this.errored_ || this.closed_) return;
    this.errored_ = true;
    this.handlers_.error(error);
  }

  closed(): void {
    if (this.closed_) return;
    this.closed_ = true;
    if (this.batchTimer_) clearTimeout(this.batchTimer_);
    this.batchTimer_ = undefined;
    this.handlers_.close();
  }

  /** What one read brought: from a 'data' event, or from `onread` (see tcp.ts). */
  received(chunk: Uint8Array): void {
    if (this.closed_) return;
    if (this.handlers_.data(chunk) === true && this.batchReadsMs_ > 0) this.batchReads_(chunk.length);
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
  private batchReads_(length: number): void {
    const now = performance.now();
    const busy = now - this.lastReadAt_ < this.batchReadsMs_;
    this.lastReadAt_ = now;
    if (!busy || this.waiting_ || length >= BATCH_BELOW_BYTES || this.closed_) return;
    this.waiting_ = true;
    this.socket_.pause();
    // The global timer, not runtime/timers: this paces I/O, and a test's fake clock must not stall reads.
    // Cleared on close, so it never outlives the socket. Not unref'd: while reading waits, the
    // paused socket keeps no hold on the event loop, and this timer is what keeps the process up.
    this.batchTimer_ = setTimeout(() => {
      this.batchTimer_ = undefined;
      this.waiting_ = false;
      if (!this.closed_ && !this.held_) this.socket_.resume();
    }, this.batchReadsMs_);
  }

  pause(): void {
    this.held_ = true;
    this.socket_.pause();
  }

  resume(): void {
    this.held_ = false;
    if (!this.waiting_ && !this.closed_) this.socket_.resume();
  }

  get writable(): boolean {
    return this.connected_ && !this.ended_ && !this.closed_ && this.socket_.writable;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    return this.socket_.write(chunk) || this.socket_.writableLength < WRITE_BUFFER_BYTES;
  }

  cork(): void {
    this.socket_.cork();
  }

  uncork(): void {
    this.socket_.uncork();
  }

  end(): void {
    if (this.ended_ || this.closed_) return;
    // Still connecting: nothing was written (write() refuses until connect), so nothing is to be
    // flushed; Node's end() would finish the connect (and the TLS handshake) only to close it.
    if (!this.connected_) {
      this.destroy();
      return;
    }
    this.ended_ = true;
    this.socket_.end();
  }

  destroy(): void {
    if (this.closed_) return;
    this.ended_ = true;
    this.socket_.destroy();
  }
}
