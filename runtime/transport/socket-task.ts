/**
 * Mini-program sockets (WeChat `wx.connectSocket`, Alipay `my.connectSocket`) return a
 * `SocketTask`: callbacks instead of events, `send({ data, success, fail })` instead of
 * `send(data)`, and no `readyState` or `bufferedAmount`. `SocketTaskSocket` gives a task the
 * WebSocket shape, so `WebSocketConnection` does the cork, drain and lifecycle work for every
 * transport. Its `bufferedAmount` counts the bytes whose `send` has not called back yet.
 *
 * Like a WebSocket's events, what the task reports reaches `onopen`… a microtask later, never
 * from inside a call into the task: a platform may call a listener as it is added (to report an
 * open or a failure that already happened), or from inside `send()` or `close()`, and the
 * connection must not report from inside `open()`, `write()`, `end()` or `destroy()` (types.ts).
 * The microtask queue keeps the reports in the order they came; `readyState` changes at once.
 *
 * A SocketTask cannot stop reading (no pause API): the connection's `pause()` does nothing, and
 * the client's `handleMessage` backpressure does not bound its memory here (docs/browser.md).
 */
import { webSocketError } from '../errors.js';
import { timers } from '../timers.js';
import { failedConnection } from './registry.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';
import { WebSocketConnection, type WebSocketLike } from './websocket.js';
import { subprotocolFor, webSocketUrl } from './websocket-url.js';

interface Callbacks {
  success?(result?: unknown): void;
  fail?(error?: unknown): void;
}

/** The documented SocketTask methods both platforms share (WeChat ≥ 1.7.0, Alipay `multiple`). */
export interface SocketTaskLike {
  send(options: { data: string | ArrayBuffer; isBuffer?: boolean } & Callbacks): void;
  close(options?: { code?: number; reason?: string } & Callbacks): void;
  onOpen(listener: (result?: unknown) => void): void;
  onMessage(listener: (result: { data: unknown; isBuffer?: boolean }) => void): void;
  onError(listener: (result?: unknown) => void): void;
  onClose(listener: (result?: unknown) => void): void;
  /** Removes the listeners (for Alipay's global socket API, whose listeners outlive a connection). */
  dispose?(): void;
}

/** How binary frames travel: as ArrayBuffer (WeChat) or base64 text with `isBuffer` (Alipay). */
export type FrameEncoding = 'arraybuffer' | 'base64';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * How long `close()` waits for the platform's `onClose` before reporting the close itself: some
 * WeChat and Alipay base libraries never report it, always or for a socket that never opened.
 * The close handshake is one round trip, well under this on a mobile network; the client's
 * `end()` callback and its reconnection wait no longer than this for a platform that is silent.
 */
const CLOSE_WAIT_MS = 2000;

/** An ArrayBuffer holding exactly `chunk` (a Node Buffer may be a view into a shared pool). */
function ownBuffer(chunk: Uint8Array): ArrayBuffer {
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  // new Uint8Array(view) copies; Buffer#slice would not (it is subarray).
  return (whole ? chunk.buffer : new Uint8Array(chunk).buffer) as ArrayBuffer;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    // 3 bytes -> 24 bits -> four 6-bit digits; '=' pads a short last group.
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out +=
      (ALPHABET[n >> 18] as string) +
      ALPHABET[(n >> 12) & 63] +
      (i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=') +
      (i + 2 < bytes.length ? ALPHABET[n & 63] : '=');
  }
  return out;
}

export function fromBase64(text: string): Uint8Array {
  const out = new Uint8Array((text.length * 3) >> 2);
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) continue; // '=' padding, line breaks
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

function errorOf(result: unknown): Error {
  if (result instanceof Error) return result;
  const r = result as { errMsg?: unknown; errorMessage?: unknown; error?: unknown } | undefined;
  // WeChat's errMsg, Alipay's errorMessage; Alipay's `error` is a code, in some versions a message.
  const message = r?.errMsg ?? r?.errorMessage ?? r?.error;
  return webSocketError(typeof message === 'string' ? message : 'socket error', result);
}

export class SocketTaskSocket implements WebSocketLike {
  readyState = CONNECTING;
  bufferedAmount = 0;
  // Set by the connection as it attaches (websocket.ts), before anything is reported.
  binaryType!: string;
  onopen!: ((event: unknown) => void) | null;
  onmessage!: ((event: { data: unknown }) => void) | null;
  onerror!: ((event: unknown) => void) | null;
  onclose!: ((event: unknown) => void) | null;
  /** Called when a `send` calls back; the connection checks for drain (set before any send). */
  sent!: () => void;
  private readonly task_: SocketTaskLike;
  private readonly encoding_: FrameEncoding;

  /** `connect` makes the task, passing on `fail` as connectSocket's `fail` callback. */
  constructor(connect: (fail: (result: unknown) => void) => SocketTaskLike, encoding: FrameEncoding) {
    // A URL or domain the platform refuses may be reported only through `fail`, even from
    // inside connectSocket. No socket opens, so there is no close to wait for; an onError and
    // onClose the platform may report as well are then ignored.
    const task = connect((result) =>
      queueMicrotask(() => {
        this.onerror?.(result);
        this.closed_(result);
      }),
    );
    this.task_ = task;
    this.encoding_ = encoding;
    // Listen at once: WeChat reports open only to listeners present when it happens.
    task.onOpen((result) => {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      queueMicrotask(() => this.onopen?.(result));
    });
    task.onMessage((result) => {
      const data =
        typeof result.data === 'string' && (this.encoding_ === 'base64' || result.isBuffer)
          ? fromBase64(result.data)
          : result.data;
      queueMicrotask(() => this.onmessage?.({ data }));
    });
    task.onError((result) => this.error_(result));
    task.onClose((result) => this.closed_(result));
  }

  send(chunk: Uint8Array): void {
    const size = chunk.byteLength;
    this.bufferedAmount += size;
    const done = () => {
      this.bufferedAmount -= size;
      this.sent();
    };
    const data = this.encoding_ === 'base64' ? toBase64(chunk) : ownBuffer(chunk);
    this.task_.send({
      data,
      ...(this.encoding_ === 'base64' ? { isBuffer: true } : {}),
      success: () => queueMicrotask(done),
      fail: (error) =>
        queueMicrotask(() => {
          done();
          // A failed send leaves the stream with a hole: the connection cannot go on.
          this.error_(error);
        }),
    });
  }

  close(code = 1000): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.task_.close({ code });
    // Not cleared when the platform reports first: closed_() acts once.
    timers.setTimeout(() => this.closed_(), CLOSE_WAIT_MS);
  }

  /** An error ends the socket as it does a WebSocket's; close() bounds the wait for its close. */
  private error_(result: unknown): void {
    queueMicrotask(() => this.onerror?.(result));
    this.close();
  }

  /** Reported once, by the platform or by close()'s timer; a late `onClose` is ignored. */
  private closed_(result?: unknown): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    // No task when connectSocket called `fail` and returned none (the constructor threw).
    this.task_?.dispose?.();
    queueMicrotask(() => this.onclose?.(result));
  }
}

/**
 * Opens a `Connection` on a SocketTask: the one `createWebsocket(url, protocols)` returns when
 * given, else the one `connect` gets from the platform, passing it `fail` for connectSocket's
 * `fail` callback. What either throws is reported as `error` then `close`.
 */
export function openSocketTask(
  options: TransportOptions,
  handlers: ConnectionHandlers,
  encoding: FrameEncoding,
  connect: (url: string, protocols: string[], fail: (result: unknown) => void) => SocketTaskLike,
): Connection {
  try {
    const url = webSocketUrl(options, true);
    const protocols = [subprotocolFor(options)];
    const socket = new SocketTaskSocket(
      (fail) => (options.createWebsocket ?? connect)(url, protocols, fail) as SocketTaskLike,
      encoding,
    );
    return new WebSocketConnection(handlers, socket, {
      reportsSent: true,
      send: (chunk, sent) => {
        socket.sent = sent;
        socket.send(chunk);
      },
      errorOf,
    });
  } catch (error) {
    return failedConnection(error instanceof Error ? error : webSocketError(String(error)), handlers);
  }
}
