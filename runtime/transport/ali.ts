/**
 * MQTT in an Alipay mini-program (`ali://`, `alis://`) on `my.connectSocket`. With
 * `multiple: true` it returns a SocketTask; where it does not (older base libraries, one socket
 * per app), the global `my.onSocketOpen`/`my.sendSocketMessage`/`my.closeSocket`… API is used,
 * and its listeners are removed with `my.offSocket…` when the connection closes. Binary frames
 * go as base64 text with `isBuffer: true`, the form every base library accepts; received frames
 * may be base64 text or ArrayBuffer. `my` is the `my` option, else the global.
 * `createWebsocket(url, protocols)`, when given, must return a SocketTask.
 */
import { webSocketError } from '../errors.js';
import { openSocketTask, type SocketTaskLike } from './socket-task.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

type Listener = (result?: unknown) => void;

/** The documented `my` socket API, the SocketTask form and the older global one. */
interface Alipay {
  connectSocket(
    options: { url: string; protocols: string[]; multiple: boolean } & Record<string, unknown>,
  ): SocketTaskLike | undefined;
  sendSocketMessage?: SocketTaskLike['send'];
  closeSocket?: SocketTaskLike['close'];
  onSocketOpen?(listener: Listener): void;
  onSocketMessage?(listener: Listener): void;
  onSocketError?(listener: Listener): void;
  onSocketClose?(listener: Listener): void;
  offSocketOpen?(listener: Listener): void;
  offSocketMessage?(listener: Listener): void;
  offSocketError?(listener: Listener): void;
  offSocketClose?(listener: Listener): void;
}

/** The `my` whose last global socket's close has not come: set on dispose, cleared by a close. */
let unclosed: Alipay | undefined;

/**
 * The global socket API as a SocketTask. Its events name no socket: one socket per app, so the
 * close of a previous socket that was given up on (socket-task.ts, CLOSE_WAIT_MS) may come after
 * the next connection began listening. That close is ignored, once, until this socket opens (the
 * platform cannot open it while the previous one lives).
 */
function globalTask(my: Alipay): SocketTaskLike {
  const added: Array<[keyof Alipay, Listener]> = [];
  const on =
    (name: 'Open' | 'Message' | 'Error' | 'Close') =>
    (listener: Listener): void => {
      my[`onSocket${name}`]?.(listener);
      added.push([`offSocket${name}`, listener]);
    };
  return {
    send: (options) => my.sendSocketMessage?.(options),
    close: (options) => my.closeSocket?.(options),
    onOpen: (listener) =>
      on('Open')((result) => {
        unclosed = undefined;
        listener(result);
      }),
    onMessage: on('Message') as SocketTaskLike['onMessage'],
    onError: on('Error'),
    onClose: (listener) =>
      on('Close')((result) => {
        if (unclosed !== my) listener(result); // which disposes: the close came
        unclosed = undefined;
      }),
    dispose() {
      unclosed = my;
      for (const [off, listener] of added.splice(0))
        (my[off] as ((l: Listener) => void) | undefined)?.(listener);
    },
  };
}

export function openAli(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  return openSocketTask(options, handlers, 'base64', (url, protocols, fail) => {
    const my = (options.my ?? (globalThis as { my?: unknown }).my) as Alipay | undefined;
    if (typeof my?.connectSocket !== 'function') throw webSocketError('my.connectSocket is not available');
    const task = my.connectSocket({ ...options.wsOptions, url, protocols, multiple: true, fail });
    return typeof task?.onOpen === 'function' ? task : globalTask(my);
  });
}
