/**
 * Fakes of the WeChat (`wx`) and Alipay (`my`) socket APIs that relay to a real server through
 * `ws`, keeping to what their documentation promises and refuses:
 *
 * - `connectSocket` returns a SocketTask (WeChat ≥ 1.7.0; Alipay with `multiple: true`); Alipay
 *   without `multiple` returns nothing and the global `my.onSocket…`/`my.sendSocketMessage`/
 *   `my.closeSocket` API drives the one socket.
 * - Events reach only the listeners registered when they happen; callbacks run asynchronously.
 * - WeChat `send` accepts a string or an ArrayBuffer (not a typed array) and fails when the socket
 *   is not open; frames arrive as ArrayBuffer.
 * - Alipay `send` takes binary as base64 text with `isBuffer: true` (or an ArrayBuffer); frames
 *   arrive as base64 text with `isBuffer: true`, or as ArrayBuffer with `arrayBufferFrames`.
 * - `onError` gets `{ errMsg }` (WeChat) or `{ error, errorMessage }` (Alipay); `onClose`
 *   gets `{ code, reason }`.
 */
import WebSocket from 'ws';

type Listener = (result?: unknown) => void;

interface Callbacks {
  success?(result?: unknown): void;
  fail?(error?: unknown): void;
  complete?(): void;
}

export interface FakeLog {
  /** The connectSocket calls' options. */
  connects: Array<Record<string, unknown>>;
  /** Every SocketTask made, newest last; `socket` is the relay to the server. */
  tasks: FakeTask[];
}

const later = (fn: () => void) => setImmediate(fn);

function settle(callbacks: Callbacks, ok: boolean, result: unknown): void {
  later(() => {
    if (ok) callbacks.success?.(result);
    else callbacks.fail?.(result);
    callbacks.complete?.();
  });
}

export class FakeTask {
  readonly socket: WebSocket;
  private readonly listeners: Record<'open' | 'message' | 'error' | 'close', Listener[]> = {
    open: [],
    message: [],
    error: [],
    close: [],
  };
  private readonly platform: 'wx' | 'my';
  private readonly options: FakeOptions;
  /** Whether `onClose` listeners were called (never with `neverReportsClose`). */
  closeReported = false;

  constructor(
    platform: 'wx' | 'my',
    url: string,
    protocols: string[],
    headers: unknown,
    options: FakeOptions,
  ) {
    this.platform = platform;
    this.options = options;
    this.socket = new WebSocket(url, protocols, { headers: headers as Record<string, string> });
    this.socket.binaryType = 'arraybuffer';
    this.socket.on('open', () => this.emit('open', { header: {} }));
    this.socket.on('message', (data: ArrayBuffer, isBinary: boolean) => {
      if (!isBinary) this.emit('message', { data: Buffer.from(data).toString() });
      else if (platform === 'wx' || options.arrayBufferFrames) this.emit('message', { data });
      else this.emit('message', { data: Buffer.from(data).toString('base64'), isBuffer: true });
    });
    this.socket.on('error', (error) =>
      this.emit(
        'error',
        platform === 'wx'
          ? { errMsg: `connectSocket:fail ${error.message}` }
          : { error: 1, errorMessage: error.message },
      ),
    );
    this.socket.on('close', (code, reason) => this.emit('close', { code, reason: reason.toString() }));
  }

  private emit(event: keyof FakeTask['listeners'], result: unknown): void {
    if (event === 'close') {
      if (this.options.neverReportsClose) return;
      this.closeReported = true;
    }
    for (const listener of [...this.listeners[event]]) listener(result);
  }

  on(event: keyof FakeTask['listeners'], listener: Listener): void {
    this.listeners[event].push(listener);
  }

  off(event: keyof FakeTask['listeners'], listener: Listener): void {
    const list = this.listeners[event];
    const index = list.indexOf(listener);
    if (index >= 0) list.splice(index, 1);
  }

  listenerCount(): number {
    return Object.values(this.listeners).reduce((sum, list) => sum + list.length, 0);
  }

  onOpen = (listener: Listener) => this.on('open', listener);
  onMessage = (listener: Listener) => this.on('message', listener);
  onError = (listener: Listener) => this.on('error', listener);
  onClose = (listener: Listener) => this.on('close', listener);

  send = (options: { data: unknown; isBuffer?: boolean } & Callbacks): void => {
    const prefix = this.platform === 'wx' ? 'sendSocketMessage:fail' : 'send:fail';
    if (this.socket.readyState !== WebSocket.OPEN) {
      settle(options, false, { errMsg: `${prefix} WebSocket is not connected` });
      return;
    }
    let frame: Buffer | string;
    if (typeof options.data === 'string') {
      frame = this.platform === 'my' && options.isBuffer ? Buffer.from(options.data, 'base64') : options.data;
    } else if (options.data instanceof ArrayBuffer) {
      frame = Buffer.from(options.data);
    } else {
      // Neither platform takes a typed array: its documented type is string or ArrayBuffer.
      settle(options, false, { errMsg: `${prefix} parameter error: data should be String or ArrayBuffer` });
      return;
    }
    this.socket.send(frame, { binary: typeof frame !== 'string' }, (error) =>
      settle(options, !error, error ? { errMsg: `${prefix} ${error.message}` } : {}),
    );
  };

  close = (options: { code?: number; reason?: string } & Callbacks = {}): void => {
    if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
    else this.socket.close(options.code ?? 1000, options.reason);
    settle(options, true, {});
  };
}

export interface FakeOptions {
  /** Alipay: deliver binary frames as ArrayBuffer instead of base64 text. */
  arrayBufferFrames?: boolean;
  /** Alipay: `connectSocket` ignores `multiple` and returns nothing (older base libraries). */
  singleSocketOnly?: boolean;
  /** `onClose` is never called, as on some WeChat and Alipay versions. */
  neverReportsClose?: boolean;
}

export function fakeWx(fakeOptions: FakeOptions = {}): {
  wx: { connectSocket(options: Record<string, unknown>): FakeTask };
  log: FakeLog;
} {
  const log: FakeLog = { connects: [], tasks: [] };
  return {
    log,
    wx: {
      connectSocket(options) {
        log.connects.push(options);
        const task = new FakeTask(
          'wx',
          options.url as string,
          options.protocols as string[],
          options.header,
          fakeOptions,
        );
        log.tasks.push(task);
        settle(options as Callbacks, true, { errMsg: 'connectSocket:ok' });
        return task;
      },
    },
  };
}

export function fakeMy(options: FakeOptions = {}): { my: Record<string, unknown>; log: FakeLog } {
  const log: FakeLog = { connects: [], tasks: [] };
  let current: FakeTask | undefined;
  const global =
    (event: 'open' | 'message' | 'error' | 'close', off = false) =>
    (listener: Listener) => {
      if (off) current?.off(event, listener);
      else current?.on(event, listener);
    };
  const my = {
    connectSocket(connect: Record<string, unknown>) {
      log.connects.push(connect);
      const protocols = connect.protocols as string[];
      const task = new FakeTask('my', connect.url as string, protocols, connect.header, options);
      log.tasks.push(task);
      settle(connect as Callbacks, true, {});
      if (connect.multiple && !options.singleSocketOnly) return task;
      current = task;
      return undefined;
    },
    onSocketOpen: global('open'),
    onSocketMessage: global('message'),
    onSocketError: global('error'),
    onSocketClose: global('close'),
    offSocketOpen: global('open', true),
    offSocketMessage: global('message', true),
    offSocketError: global('error', true),
    offSocketClose: global('close', true),
    sendSocketMessage: (send: Parameters<FakeTask['send']>[0]) => current?.send(send),
    closeSocket: (close: Parameters<FakeTask['close']>[0]) => current?.close(close),
  };
  return { my, log };
}
