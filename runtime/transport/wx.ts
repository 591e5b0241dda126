/**
 * MQTT in a WeChat mini-program (`wx://`, `wxs://`) on `wx.connectSocket`, which returns a
 * SocketTask (base library ≥ 1.7.0). Frames are sent and received as ArrayBuffer. `wsOptions`
 * are passed to `connectSocket` (`header`, `tcpNoDelay`, `perMessageDeflate`, `timeout`).
 * `createWebsocket(url, protocols)`, when given, must return a SocketTask.
 */
import { webSocketError } from '../errors.js';
import { failedConnection } from './registry.js';
import { openSocketTask, type SocketTaskLike } from './socket-task.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';
import { subprotocolFor, webSocketUrl } from './websocket-url.js';

interface WeChat {
  connectSocket(options: { url: string; protocols: string[] } & Record<string, unknown>): SocketTaskLike;
}

export function openWx(options: TransportOptions, handlers: ConnectionHandlers): Connection {
  try {
    const url = webSocketUrl(options, true);
    const protocols = [subprotocolFor(options)];
    let task: SocketTaskLike;
    if (options.createWebsocket) task = options.createWebsocket(url, protocols) as SocketTaskLike;
    else {
      const wx = (globalThis as { wx?: WeChat }).wx;
      if (typeof wx?.connectSocket !== 'function') {
        return failedConnection(webSocketError('wx.connectSocket is not available'), handlers);
      }
      task = wx.connectSocket({ ...options.wsOptions, url, protocols });
    }
    return openSocketTask(task, 'arraybuffer', handlers);
  } catch (error) {
    return failedConnection(error instanceof Error ? error : webSocketError(String(error)), handlers);
  }
}
