/**
 * The one connection interface the session core uses for every transport: TCP, TLS, WebSocket
 * (Node `ws` and the browser's), WeChat and Alipay mini-program sockets. A transport turns
 * `TransportOptions` into a `Connection` and reports what happens through `ConnectionHandlers`.
 *
 * Lifecycle, the same for every transport:
 *
 *   open() ──► connect ──► data* / drain* ──► close
 *      │                        │
 *      └──────► error ──────────┴──────────► close      (error at most once, always before close)
 *
 * - No handler is called synchronously from `open()`, `write()`, `end()` or `destroy()`: a
 *   transport that fails at once (bad port, missing API) reports `error` then `close` later.
 * - `close` is reported exactly once, whatever ended the connection (`end()`, `destroy()`, the peer,
 *   a network or TLS or DNS error). Nothing is reported after `close`.
 * - `connect` is reported at most once, when bytes can flow (after the TLS handshake for TLS,
 *   after the WebSocket upgrade for WebSocket), and never after `end()` or `destroy()`: a
 *   connection given up while connecting reports nothing but its `close`.
 * - Errors are the platform's own (`err.code` `ECONNREFUSED`, `ENOTFOUND`, TLS codes) and are
 *   always followed by `close`.
 */

export interface ConnectionHandlers {
  connect(): void;
  /**
   * Bytes from the peer. The chunk may be a view into a larger buffer; copy it to keep it.
   * Return true when what the chunk carried can stand to wait a little (messages to deliver, not
   * acknowledgements a sender is waiting on): the transport may then gather the next reads into
   * one (`TransportOptions.batchReadsMs`).
   */
  data(chunk: Uint8Array): boolean | undefined;
  /** A `write()` that returned false has been flushed; writing may resume. */
  drain(): void;
  error(error: Error): void;
  close(): void;
}

export interface Connection {
  /**
   * Queues bytes for the peer. Returns false when the transport's buffer is full: wait for `drain`.
   * When `writable` is false the chunk is discarded and false is returned (no `drain` follows).
   */
  write(chunk: Uint8Array): boolean;
  /** Buffers writes until `uncork()`, so a header and payload go out together (one TCP segment,
   * one WebSocket message). */
  cork(): void;
  uncork(): void;
  /** Flushes what was written, then closes gracefully. */
  end(): void;
  /** Closes now, dropping anything unsent. */
  destroy(): void;
  /**
   * Stops reading until `resume()` (the application is still handling a message); what the
   * current read brought may still be delivered. Optional, and a no-op where the platform has no
   * way to stop reading (a browser WebSocket, a WeChat or Alipay SocketTask): such a transport
   * keeps delivering, and nothing bounds what then waits in the client (docs/browser.md).
   */
  pause?(): void;
  resume?(): void;
  /** True from `connect` until `end()`, `destroy()` or `close`. */
  readonly writable: boolean;
}

/** TLS options handed to the platform (Node's `tls.connect`); a pass-through subset of its options. */
export interface TlsOptions {
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  key?:
    | string
    | Uint8Array
    | ReadonlyArray<string | Uint8Array | { pem: string | Uint8Array; passphrase?: string }>;
  passphrase?: string;
  pfx?:
    | string
    | Uint8Array
    | ReadonlyArray<string | Uint8Array | { buf: string | Uint8Array; passphrase?: string }>;
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** SNI name; defaults to the host unless the host is an IP address. */
  servername?: string;
  ALPNProtocols?: ReadonlyArray<string> | ReadonlyArray<Uint8Array> | Uint8Array;
  ciphers?: string;
  ecdhCurve?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  crl?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  sigalgs?: string;
  secureProtocol?: string;
  session?: Uint8Array;
  /** A platform secure context (Node: `tls.createSecureContext()`), used instead of ca/cert/key. */
  secureContext?: object;
  /**
   * Returns an Error to reject the server's identity; `certificate` is Node's peer certificate.
   * Method syntax on purpose: it lets a function typed with Node's `PeerCertificate` fit.
   */
  checkServerIdentity?(hostname: string, certificate: unknown): Error | undefined;
}

/** Everything a transport needs for one connection attempt. */
export interface TransportOptions {
  /** The protocol the registry chose, without `+unix` (e.g. `mqtt`, `wss`). */
  protocol: string;
  host: string;
  port: number;
  /** Connect to the unix domain socket at `path` instead of host:port. */
  unixSocket?: boolean;
  /** The unix socket path, or the WebSocket path (with query), e.g. `/mqtt`. */
  path?: string;
  /** For secure protocols (mqtts, tls, wss, wxs, alis). */
  tls?: TlsOptions;
  /** MQTT protocol level and name; WebSocket transports choose the subprotocol from them. */
  protocolId?: string;
  protocolVersion?: number;
  /** Node TCP/TLS read batching under load, in ms (0: off). See `ClientOptions.batchReadsMs`. */
  batchReadsMs?: number;
  /** Node TCP/TLS: the SOCKS proxy URL (`ClientOptions.socksProxy`) and its timeout in ms. */
  socksProxy?: string;
  socksTimeout?: number;
  /** Options for the WebSocket implementation (e.g. `ws` client options, headers). */
  wsOptions?: Readonly<Record<string, unknown>>;
  /** Rewrites the WebSocket URL before each attempt (e.g. to sign it). */
  transformWsUrl?: (url: string) => string;
  /**
   * Builds the socket instead of the platform's constructor: a WebSocket (`ws`, browser) or a
   * mini-program SocketTask (`wx`, `ali`).
   */
  createWebsocket?: (url: string, subprotocols: string[]) => unknown;
  /** Alipay mini-program: the `my` object to use instead of the global. */
  my?: unknown;
}

/** Opens one connection. Must not throw and must not call a handler synchronously. */
export type TransportFactory = (options: TransportOptions, handlers: ConnectionHandlers) => Connection;
