/**
 * Transports by protocol. Adding a transport is one `register()` call; `node.ts` registers TCP
 * and TLS, and the WebSocket, WeChat and Alipay modules will each register their own names.
 *
 * A unix domain socket variant is registered under `<protocol>+unix` (e.g. `mqtt+unix`), so a
 * transport states that it supports unix sockets by registering that name.
 */
import { unknownProtocol } from '../errors.js';
import type { Connection, ConnectionHandlers, TransportFactory, TransportOptions } from './types.js';

/** The protocols MQTT.js knows, in its order of preference when falling back. */
const FALLBACK_ORDER = ['mqtt', 'mqtts', 'ws', 'wss', 'wx', 'wxs', 'ali', 'alis'] as const;
const SECURE = new Set(['mqtts', 'tls', 'ssl', 'wss', 'wxs', 'alis']);

export function isSecureProtocol(protocol: string): boolean {
  return SECURE.has(protocol);
}

export interface TransportChoice {
  /** The protocol actually used; differs from the one asked for after a fallback. */
  protocol: string;
  factory: TransportFactory;
}

export class TransportRegistry {
  private readonly factories_ = new Map<string, TransportFactory>();

  /** Registers `factory` under each name; a later registration replaces an earlier one. */
  register(names: string | readonly string[], factory: TransportFactory): this {
    for (const name of typeof names === 'string' ? [names] : names) this.factories_.set(name, factory);
    return this;
  }

  unregister(name: string): boolean {
    return this.factories_.delete(name);
  }

  has(name: string): boolean {
    return this.factories_.has(name);
  }

  get(name: string): TransportFactory | undefined {
    return this.factories_.get(name);
  }

  names(): string[] {
    return [...this.factories_.keys()];
  }

  /**
   * The transport for `protocol`. As MQTT.js does, a protocol with no transport here falls back to
   * the first registered of mqtt, mqtts, ws, wss, wx, wxs, ali, alis (only the secure ones when
   * `protocol` is secure), so `mqtt://` works in a browser over `ws`. Unix sockets never fall back.
   * Returns null when nothing fits.
   */
  choose(protocol: string, unixSocket = false): TransportChoice | null {
    if (unixSocket) {
      const factory = this.factories_.get(`${protocol}+unix`);
      return factory ? { protocol, factory } : null;
    }
    const exact = this.factories_.get(protocol);
    if (exact) return { protocol, factory: exact };
    const secure = isSecureProtocol(protocol);
    for (const candidate of FALLBACK_ORDER) {
      if (secure && !isSecureProtocol(candidate)) continue;
      const factory = this.factories_.get(candidate);
      if (factory) return { protocol: candidate, factory };
    }
    return null;
  }

  /**
   * Opens a connection for `options`. Never throws: with no transport for the protocol, the
   * returned connection reports an `MQTT_ERR_UNKNOWN_PROTOCOL` error and then close.
   */
  open(options: TransportOptions, handlers: ConnectionHandlers): Connection {
    const choice = this.choose(options.protocol, options.unixSocket === true);
    if (!choice) {
      const name = options.unixSocket ? `${options.protocol}+unix` : options.protocol;
      return failedConnection(unknownProtocol(name), handlers);
    }
    const resolved =
      choice.protocol === options.protocol ? options : { ...options, protocol: choice.protocol };
    try {
      return choice.factory(resolved, handlers);
    } catch (error) {
      // A factory must not throw; if one does, keep the contract anyway.
      return failedConnection(error instanceof Error ? error : new Error(String(error)), handlers);
    }
  }
}

/** A connection that never opened: reports `error` then `close` on a later microtask. */
export function failedConnection(error: Error, handlers: ConnectionHandlers): Connection {
  queueMicrotask(() => {
    handlers.error(error);
    handlers.close();
  });
  return {
    write: () => false,
    cork() {},
    uncork() {},
    end() {},
    destroy() {},
    writable: false,
  };
}

/** The registry `connect()` uses unless given another. */
export const transports = new TransportRegistry();
