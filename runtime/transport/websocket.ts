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
  private socket: WebSocketLike | undefined;
  private platform: WebSocketPlatform | undefined;
  private readonly handlers: ConnectionHandlers;
  private connected = false;
  private ended = false;
  private errored = false;
  private closed = false;
  private corks = 0;
  private corked: Uint8Array[] = [];
  private needDrain = false;
  private drainTimer: TimerHandle | undefined;

  constructor(handlers: ConnectionHandlers, socket?: WebSocketLike, platform?: WebSocketPlatform) {
    this.handlers = handlers;
    if (socket && platform) this.attach(socket, platform);
  }

  attach(socket: WebSocketLike, platform: WebSocketPlatform): void {
    const handlers = this.handlers;
    this.socket = socket;
    this.platform = platform;
    socket.binaryType = platform.binaryType ?? 'arraybuffer';
    socket.onopen = () => {
      if (this.connected || this.closed) return;
      if (this.ended) {
        socket.close(1000);
        return;
      }
      this.connected = true;
      handlers.connect();
    };
    socket.onmessage = (event) => {
      if (this.closed) return;
      const bytes = messageBytes(event.data);
      if (bytes) {
        handlers.data(bytes);
        return;
      }
      // A text frame is a protocol error: close the connection [MQTT-6.0.0-1].
      this.fail(webSocketError('received a text frame; MQTT over WebSocket is binary [MQTT-6.0.0-1]'));
      this.destroy();
    };
    socket.onerror = (event) => {
      // After our own end()/destroy() during the handshake the platform reports an abort: expected.
      if (!this.ended) this.fail(platform.errorOf(event));
    };
    socket.onclose = () => this.finish();
    if (this.ended) this.closeSocket();
  }

  /** The socket could not be made: reports `error` (unless closing on purpose) and `close`. */
  failToOpen(error: Error): void {
    if (!this.ended) this.fail(error);
    this.finish();
  }

  get writable(): boolean {
    return this.connected && !this.ended && !this.closed && this.socket?.readyState === OPEN;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    if (this.corks > 0) {
      this.corked.push(chunk);
      return true;
    }
    return this.sendFrame(chunk);
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    this.flushCorked();
  }

  end(): void {
    if (this.ended || this.closed) return;
    this.corks = 0;
    this.flushCorked();
    this.ended = true;
    // Frames already queued go out before the close frame (RFC 6455 §5.5.1).
    if (this.socket?.readyState === OPEN) this.socket.close(1000);
  }

  destroy(): void {
    if (this.closed) return;
    this.ended = true;
    this.corked = [];
    this.closeSocket();
  }

  private closeSocket(): void {
    if (!this.socket || !this.platform) return;
    if (this.platform.destroy) this.platform.destroy();
    // Closing while connecting fails the handshake; the error it reports is ignored (ended).
    else if (this.socket.readyState <= OPEN) this.socket.close(1000);
  }

  private flushCorked(): void {
    if (this.corked.length === 0) return;
    const chunks = this.corked;
    this.corked = [];
    if (this.writable) this.sendFrame(concat(chunks));
  }

  private sendFrame(chunk: Uint8Array): boolean {
    const platform = this.platform as WebSocketPlatform;
    platform.send(chunk, () => this.checkDrain());
    if ((this.socket as WebSocketLike).bufferedAmount <= HIGH_WATER_MARK) return true;
    this.needDrain = true;
    if (!platform.reportsSent) this.pollDrain();
    return false;
  }

  private pollDrain(): void {
    if (this.drainTimer) return;
    this.drainTimer = timers.setTimeout(() => {
      this.drainTimer = undefined;
      if (!this.checkDrain() && this.needDrain && !this.closed) this.pollDrain();
    }, DRAIN_POLL_MS);
  }

  /** Reports `drain` once the buffer is below the mark again; returns whether it did. */
  private checkDrain(): boolean {
    if (!this.needDrain || this.closed || (this.socket?.bufferedAmount ?? 0) > HIGH_WATER_MARK) return false;
    this.needDrain = false;
    this.handlers.drain();
    return true;
  }

  private fail(error: Error): void {
    if (this.errored || this.closed) return;
    this.errored = true;
    this.handlers.error(error);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    if (this.drainTimer) timers.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.handlers.close();
  }
}
