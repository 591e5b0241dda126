/**
 * MQTT in a WeChat mini-program (`wx://`, `wxs://`) on `wx.connectSocket`, which returns a
 * SocketTask (base library ≥ 1.7.0). Frames are sent and received as ArrayBuffer. `wsOptions`
 * are passed to `connectSocket` (`header`, `tcpNoDelay`, `perMessageDeflate`, `timeout`).
 * `createWebsocket(url, protocols)`, when given, must return a SocketTask.
 */
import { webSocketError } from '../errors.js';
import { openSocketTask, type SocketTaskLike } from './socket-task.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

interface WeChat {
  connectSocket(options: { url: string; protocols: string[] } & Record<string, unknown>): SocketTaskLike;
}

export function openWx(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  return openSocketTask(options, handlers, 'arraybuffer', (url, protocols, fail) => {
    const wx = (globalThis as { wx?: WeChat }).wx;
    if (typeof wx?.connectSocket !== 'function') throw webSocketError('wx.connectSocket is not available');
    return wx.connectSocket({ ...options.wsOptions, url, protocols, fail });
  });
}
