/**
 * `WebSocketConnection`, which every WebSocket-like transport shares (Node `ws`, the browser's
 * `WebSocket`, WeChat and Alipay sockets): it adapts an object with the standard WebSocket
 * interface to `Connection` and keeps the lifecycle of `types.ts`. URLs: `websocket-url.ts`.
 *
 * MQTT over WebSocket sends binary frames only [MQTT-6.0.0-1]; a frame may hold part of a packet
 * or several packets [MQTT-6.0.0-2], so cork()/uncork() can join the writes of a tick into one.
 */
import { webSocketError } from '../errors.js';
import { type TimerHandle, timers } from '../timers.js';
import type { Connection, ConnectionHandlers } from './types.js';

/** The part of the WHATWG `WebSocket` interface the adapter uses; `ws` implements it too. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** `write()` returns false once this many bytes wait in the socket's buffer. */
export const HIGH_WATER_MARK = 64 * 1024;
/** How often the browser adapter looks at `bufferedAmount` while waiting to drain (it has no event). */
const DRAIN_POLL_MS = 10;

/** Bytes of a message event's data: ArrayBuffer (browser), Uint8Array/Buffer or Buffer[] (`ws`). */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data) && data.every((part) => part instanceof Uint8Array)) return concat(data);
  return undefined;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

export interface WebSocketPlatform {
  /** Sends one binary frame; calls `sent` when the platform has written it, if it can tell. */
  send(chunk: Uint8Array, sent: () => void): void;
  /** True when `send` calls `sent`; otherwise `bufferedAmount` is polled while waiting to drain. */
  reportsSent: boolean;
  /** The Error for an `error` event (the browser's carries none; `ws`'s carries Node's). */
  errorOf(event: unknown): Error;
  /** Drops the connection at once (`ws`: terminate()); defaults to close(). */
  destroy?(): void;
  /** What to set `binaryType` to (`ws`: 'nodebuffer', a Buffer per message); default 'arraybuffer'. */
  binaryType?: string;
}

const OPEN = 1;

/**
 * A `Connection` on a WebSocket-like socket. The socket may come later (`attach`), for a
 * transport that loads its implementation on first use (Node's `ws`); until then the connection
 * is connecting, and `end()`/`destroy()` close the socket as soon as it exists.
 */
export class WebSocketConnection implements Connection {
  private socket_: WebSocketLike | undefined;
  private platform_: WebSocketPlatform | undefined;
  private readonly handlers_: ConnectionHandlers;
  private connected_ = false;
  private ended_ = false;
  private errored_ = false;
  private closed_ = false;
  private corks_ = 0;
  private corked_: Uint8Array[] = [];
  private needDrain_ = false;
  private destroyed_ = false;
  private drainTimer_: TimerHandle | undefined;

  constructor(handlers: ConnectionHandlers, socket?: WebSocketLike, platform?: WebSocketPlatform) {
    this.handlers_ = handlers;
    if (socket && platform) this.attach(socket, platform);
  }

  /**
   * `ws` in Node stops reading from its socket (its pause()), so the peer's writes back up in TCP.
   * A browser WebSocket and a mini-program SocketTask have no such API: pause() does nothing, and
   * they keep delivering (types.ts `Connection.pause`).
   */
  pause(): void {
    (this.socket_ as { pause?: () => void } | undefined)?.pause?.();
  }

  resume(): void {
    (this.socket_ as { resume?: () => void } | undefined)?.resume?.();
  }

  attach(socket: WebSocketLike, platform: WebSocketPlatform): void {
    const handlers = this.handlers_;
    this.socket_ = socket;
    this.platform_ = platform;
    socket.binaryType = platform.binaryType ?? 'arraybuffer';
    socket.onopen = () => {
      if (this.connected_ || this.closed_) return;
      if (this.ended_) {
        socket.close(1000);
        return;
      }
      this.connected_ = true;
      handlers.connect();
    };
    socket.onmessage = (event) => {
      if (this.closed_ || this.destroyed_) return; // TCP too stops delivering at destroy()
      const bytes = messageBytes(event.data);
      if (bytes) {
        handlers.data(bytes);
        return;
      }
      // A text frame is a protocol error: close the connection [MQTT-6.0.0-1].
      this.fail_(webSocketError('received a text frame; MQTT over WebSocket is binary [MQTT-6.0.0-1]'));
      this.destroy();
    };
    socket.onerror = (event) => {
      // After our own end()/destroy() during the handshake the platform reports an abort: expected.
      if (!this.ended_) this.fail_(platform.errorOf(event));
    };
    socket.onclose = () => this.finish_();
    if (this.ended_) this.closeSocket_();
  }

  /** The socket could not be made: reports `error` (unless closing on purpose) and `close`. */
  failToOpen(error: Error): void {
    if (!this.ended_) this.fail_(error);
    this.finish_();
  }

  get writable(): boolean {
    return this.connected_ && !this.ended_ && !this.closed_ && this.socket_?.readyState === OPEN;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    if (this.corks_ > 0) {
      this.corked_.push(chunk);
      return true;
    }
    return this.sendFrame_(chunk);
  }

  cork(): void {
    this.corks_++;
  }

  uncork(): void {
    if (this.corks_ === 0 || --this.corks_ > 0) return;
    this.flushCorked_();
  }

  end(): void {
    if (this.ended_ || this.closed_) return;
    // Still connecting: nothing was written, nothing to flush; drop it now, as TCP does.
    if (!this.connected_) {
      this.destroy();
      return;
    }
    this.corks_ = 0;
    this.flushCorked_();
    this.ended_ = true;
    // Frames already queued go out before the close frame (RFC 6455 §5.5.1).
    if (this.socket_?.readyState === OPEN) this.socket_.close(1000);
  }

  destroy(): void {
    if (this.closed_) return;
    this.ended_ = true;
    this.destroyed_ = true;
    this.corked_ = [];
    this.closeSocket_();
  }

  private closeSocket_(): void {
    if (!this.socket_ || !this.platform_) return;
    if (this.platform_.destroy) this.platform_.destroy();
    // Closing while connecting fails the handshake; the error it reports is ignored (ended).
    else if (this.socket_.readyState <= OPEN) this.socket_.close(1000);
  }

  private flushCorked_(): void {
    if (this.corked_.length === 0) return;
    const chunks = this.corked_;
    this.corked_ = [];
    if (this.writable) this.sendFrame_(concat(chunks));
  }

  private sendFrame_(chunk: Uint8Array): boolean {
    const platform = this.platform_ as WebSocketPlatform;
    platform.send(chunk, () => this.checkDrain_());
    if ((this.socket_ as WebSocketLike).bufferedAmount <= HIGH_WATER_MARK) return true;
    this.needDrain_ = true;
    if (!platform.reportsSent) this.pollDrain_();
    return false;
  }

  private pollDrain_(): void {
    if (this.drainTimer_) return;
    this.drainTimer_ = timers.setTimeout(() => {
      this.drainTimer_ = undefined;
      if (!this.checkDrain_() && this.needDrain_ && !this.closed_) this.pollDrain_();
    }, DRAIN_POLL_MS);
  }

  /** Reports `drain` once the buffer is below the mark again; returns whether it did. */
  private checkDrain_(): boolean {
    // Not after end()/destroy(): a send failed by the close empties the buffer, flushing nothing.
    if (!this.needDrain_ || this.ended_ || (this.socket_?.bufferedAmount ?? 0) > HIGH_WATER_MARK)
      return false;
    this.needDrain_ = false;
    this.handlers_.drain();
    return true;
  }

  private fail_(error: Error): void {
    if (this.errored_ || this.closed_) return;
    this.errored_ = true;
    this.handlers_.error(error);
  }

  private finish_(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.ended_ = true;
    if (this.drainTimer_) timers.clearTimeout(this.drainTimer_);
    this.drainTimer_ = undefined;
    this.handlers_.close();
  }
}
