/**
 * TCP and TLS through a SOCKS proxy (`socksProxy`, or `MQTTJS_SOCKS_PROXY` in the environment,
 * as in MQTT.js): `socks5://` (RFC 1928, with username/password from the URL, RFC 1929),
 * `socks5h://`, `socks4://` and `socks4a://`. With `socks5` and `socks4` the broker's name is
 * resolved here and the proxy is given an address; with `socks5h` and `socks4a` the proxy
 * resolves it. TLS runs inside the tunnel, end to end with the broker.
 *
 * One `SocksConnection` stands for the whole attempt: it reports the tunnel's failures itself,
 * and once the proxy has connected hands the socket to a `SocketConnection`, which reports the
 * rest to the same handlers.
 */
import { Buffer } from 'node:buffer';
import { lookup } from 'node:dns';
import { connect, isIP, type Socket } from 'node:net';
import { ClientErrorCode, invalidOptions, MqttClientError } from '../errors.js';
import { type TimerHandle, timers } from '../timers.js';
import { SocketConnection } from './node-socket.js';
import { failedConnection } from './registry.js';
import { loadTls, tlsConnectOptions } from './tls.js';
import type { Connection, ConnectionHandlers, TransportOptions } from './types.js';

export interface SocksProxy {
  version: 4 | 5;
  /** The proxy resolves the broker's name (`socks5h`, `socks4a`). */
  remoteDns: boolean;
  host: string;
  port: number;
  /** SOCKS5: username/password authentication (RFC 1929). SOCKS4: the USERID field. */
  username?: string;
  password?: string;
}

const SCHEMES: Readonly<Record<string, Pick<SocksProxy, 'version' | 'remoteDns'>>> = {
  'socks5:': { version: 5, remoteDns: false },
  'socks5h:': { version: 5, remoteDns: true },
  'socks4:': { version: 4, remoteDns: false },
  'socks4a:': { version: 4, remoteDns: true },
};

/** How long the proxy has to open the tunnel when `socksTimeout` is not set. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The SOCKS proxy for a TCP or TLS connection: `socksProxy`, else (only when it is not set at all)
 * `MQTTJS_SOCKS_PROXY` from the environment, as MQTT.js: `socksProxy: ''` connects directly. None
 * for unix sockets.
 */
export function socksProxyFor(options: TransportOptions): string | undefined {
  if (options.unixSocket) return undefined;
  return (options.socksProxy ?? process.env.MQTTJS_SOCKS_PROXY) || undefined;
}

/** Opens a TCP (or, `secure`, TLS) connection through the proxy at `proxyUrl`. */
export function openSocks(
  proxyUrl: string,
  options: TransportOptions,
  handlers: ConnectionHandlers,
  secure: boolean,
): Connection {
  let proxy: SocksProxy;
  try {
    proxy = parseSocksUrl(proxyUrl);
  } catch (error) {
    return failedConnection(error as Error, handlers);
  }
  return new SocksConnection(proxy, options, handlers, secure, options.socksTimeout ?? DEFAULT_TIMEOUT_MS);
}

/** The port SOCKS proxies listen on when the URL names none (RFC 1928 §3). */
const DEFAULT_PORT = 1080;

/** Parses a `socksProxy` URL; throws `MQTT_ERR_INVALID_OPTIONS` naming what is wrong. */
export function parseSocksUrl(text: string): SocksProxy {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw invalidOptions(`socksProxy '${redact(text)}' is not a URL`, error);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) {
    throw invalidOptions(
      `socksProxy: unknown scheme '${url.protocol}' (socks5:, socks5h:, socks4: or socks4a:)`,
    );
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw invalidOptions(`socksProxy '${redact(text)}' has a path, query or fragment`);
  }
  if (!url.hostname) throw invalidOptions(`socksProxy '${redact(text)}' names no host`);
  const proxy: SocksProxy = {
    ...scheme,
    // URL keeps the brackets of an IPv6 host; net.connect wants the address alone.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : DEFAULT_PORT,
  };
  try {
    if (url.username) proxy.username = decodeURIComponent(url.username);
    if (url.password) proxy.password = decodeURIComponent(url.password);
  } catch (error) {
    throw invalidOptions('socksProxy: the user or password has a bad percent-escape', error);
  }
  if (proxy.password !== undefined && proxy.username === undefined) {
    throw invalidOptions('socksProxy: a password needs a username (RFC 1929)');
  }
  if (proxy.version === 4 && proxy.password !== undefined) {
    throw invalidOptions('socksProxy: SOCKS4 has no passwords (only a user id)');
  }
  if (Buffer.byteLength(proxy.username ?? '') > 255 || Buffer.byteLength(proxy.password ?? '') > 255) {
    throw invalidOptions('socksProxy: username and password are at most 255 bytes (RFC 1929)');
  }
  return proxy;
}

/** The URL without its password, for messages. */
function redact(text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** SOCKS5 reply codes (RFC 1928 §6). */
const SOCKS5_REPLIES = [
  'succeeded',
  'general SOCKS server failure',
  'connection not allowed by ruleset',
  'network unreachable',
  'host unreachable',
  'connection refused',
  'TTL expired',
  'command not supported',
  'address type not supported',
];

/** SOCKS4 reply codes (90 is success). */
const SOCKS4_REPLIES: Readonly<Record<number, string>> = {
  91: 'request rejected or failed',
  92: 'rejected: the proxy cannot reach identd on the client',
  93: 'rejected: identd reports a different user id',
};

function socksError(message: string, cause?: unknown): MqttClientError {
  return new MqttClientError(ClientErrorCode.Socks, `SOCKS proxy: ${message}`, { cause });
}

enum Step {
  /** Waiting for TCP to the proxy, or for the broker's address. */
  Opening,
  /** SOCKS5: sent the methods we offer, waiting for the one chosen. */
  Method,
  /** SOCKS5: sent username/password, waiting for the verdict. */
  Auth,
  /** Sent CONNECT, waiting for the reply. */
  Reply,
  /** The tunnel is up: `inner_` has the socket. */
  Open,
  Closed,
}

/**
 * A Connection through a SOCKS proxy: the handshake here, then `inner_` (a SocketConnection on
 * the tunnel, or on TLS inside it) does everything.
 */
export class SocksConnection implements Connection {
  private readonly socket_: Socket;
  private readonly proxy_: SocksProxy;
  private readonly options_: TransportOptions;
  private readonly handlers_: ConnectionHandlers;
  private readonly secure_: boolean;
  private step_ = Step.Opening;
  private socketOpen_ = false;
  private errored_ = false;
  /** The broker's address (or name, with remote DNS) once known. */
  private target_: string | undefined;
  private pending_: Buffer = Buffer.alloc(0);
  private timer_: TimerHandle | undefined;
  private inner_: Connection | undefined;

  constructor(
    proxy: SocksProxy,
    options: TransportOptions,
    handlers: ConnectionHandlers,
    secure: boolean,
    timeoutMs: number,
  ) {
    this.proxy_ = proxy;
    this.options_ = options;
    this.handlers_ = handlers;
    this.secure_ = secure;
    this.socket_ = connect({ host: proxy.host, port: proxy.port });
    this.socket_.setNoDelay(true);
    this.socket_.on('connect', this.onSocketOpen_);
    this.socket_.on('data', this.onHandshakeData_);
    this.socket_.on('error', this.onSocketError_);
    this.socket_.on('close', this.onSocketClose_);
    if (timeoutMs > 0) {
      this.timer_ = timers.setTimeout(() => {
        this.timer_ = undefined;
        this.fail_(socksError(`no tunnel to the broker within ${timeoutMs} ms (socksTimeout)`));
      }, timeoutMs);
    }
    this.resolveTarget_();
  }

  private resolveTarget_(): void {
    const host = this.options_.host;
    const family = isIP(host);
    if (family !== 0 || this.proxy_.remoteDns) {
      if (family === 6 && this.proxy_.version === 4) {
        this.failSoon_(socksError(`SOCKS4 carries only IPv4 addresses, not ${host}`));
        return;
      }
      this.target_ = host;
      return;
    }
    // SOCKS4 carries IPv4 only; SOCKS5 takes either family.
    lookup(host, { family: this.proxy_.version === 4 ? 4 : 0 }, (error, address) => {
      if (this.step_ === Step.Closed) return;
      if (error) {
        this.fail_(error);
        return;
      }
      this.target_ = address;
      this.begin_();
    });
  }

  /** An error found synchronously, reported after the constructor returns (the contract). */
  private failSoon_(error: Error): void {
    queueMicrotask(() => this.fail_(error));
  }

  private readonly onSocketOpen_ = (): void => {
    this.socketOpen_ = true;
    this.begin_();
  };

  /** Sends the first request once both the proxy is connected and the target is known. */
  private begin_(): void {
    if (this.step_ !== Step.Opening || !this.socketOpen_ || this.target_ === undefined) return;
    if (this.proxy_.version === 5) {
      this.step_ = Step.Method;
      // No authentication (0x00), and username/password (0x02) when the URL has a user.
      this.socket_.write(Buffer.from(this.proxy_.username === undefined ? [5, 1, 0x00] : [5, 2, 0x00, 0x02]));
      return;
    }
    this.sendSocks4Connect_(this.target_);
  }

  private sendSocks4Connect_(target: string): void {
    const port = this.options_.port;
    const remote = isIP(target) === 0;
    // SOCKS4a: an address of 0.0.0.x (x not 0) says the name follows the user id.
    const address = remote ? [0, 0, 0, 1] : target.split('.').map(Number);
    const parts = [
      Buffer.from([4, 1, port >> 8, port & 0xff, ...address]),
      Buffer.from(this.proxy_.username ?? '', 'utf8'),
      Buffer.from([0]),
    ];
    if (remote) parts.push(Buffer.from(target, 'utf8'), Buffer.from([0]));
    this.step_ = Step.Reply;
    this.socket_.write(Buffer.concat(parts));
  }

  private sendSocks5Connect_(target: string): void {
    const port = this.options_.port;
    const family = isIP(target);
    let address: Buffer;
    if (family === 4) address = Buffer.from([1, ...target.split('.').map(Number)]);
    else if (family === 6) address = Buffer.concat([Buffer.from([4]), ipv6Bytes(target)]);
    else {
      const name = Buffer.from(target, 'utf8');
      if (name.length > 255) {
        this.fail_(socksError(`the host name is longer than 255 bytes: ${target.slice(0, 40)}…`));
        return;
      }
      address = Buffer.concat([Buffer.from([3, name.length]), name]);
    }
    this.step_ = Step.Reply;
    this.socket_.write(
      Buffer.concat([Buffer.from([5, 1, 0]), address, Buffer.from([port >> 8, port & 0xff])]),
    );
  }

  private readonly onHandshakeData_ = (chunk: Buffer): void => {
    this.pending_ = this.pending_.length === 0 ? chunk : Buffer.concat([this.pending_, chunk]);
    // Each step consumes its reply and may leave the next one's bytes (a proxy may answer early).
    while (this.step_ !== Step.Open && this.step_ !== Step.Closed) {
      const used = this.handleReply_(this.pending_);
      if (used === 0) return;
      this.pending_ = this.pending_.subarray(used);
    }
  };

  /** Handles one reply at the start of `bytes`; returns the bytes it used (0: not all here yet). */
  private handleReply_(bytes: Buffer): number {
    switch (this.step_) {
      case Step.Opening:
        this.fail_(socksError('the proxy sent data before it was asked anything'));
        return 0;
      case Step.Method: {
        if (bytes.length < 2) return 0;
        if (bytes[0] !== 5) return this.fail_(socksError(`not a SOCKS5 proxy (version byte ${bytes[0]})`));
        const method = bytes[1];
        if (method === 0x00) this.sendSocks5Connect_(this.target_ as string);
        else if (method === 0x02 && this.proxy_.username !== undefined) this.sendAuth_();
        else if (method === 0xff) {
          return this.fail_(
            socksError(
              this.proxy_.username === undefined
                ? 'the proxy requires authentication (put user:password in the socksProxy URL)'
                : 'the proxy accepts none of our authentication methods',
            ),
          );
        } else return this.fail_(socksError(`the proxy chose a method we did not offer (${method})`));
        return 2;
      }
      case Step.Auth: {
        if (bytes.length < 2) return 0;
        if (bytes[1] !== 0) {
          return this.fail_(socksError(`username/password refused (RFC 1929 status ${bytes[1]})`));
        }
        this.sendSocks5Connect_(this.target_ as string);
        return 2;
      }
      case Step.Reply:
        return this.proxy_.version === 5 ? this.handleSocks5Reply_(bytes) : this.handleSocks4Reply_(bytes);
      default:
        return 0;
    }
  }

  private sendAuth_(): void {
    const user = Buffer.from(this.proxy_.username ?? '', 'utf8');
    const password = Buffer.from(this.proxy_.password ?? '', 'utf8');
    this.step_ = Step.Auth;
    this.socket_.write(
      Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([password.length]), password]),
    );
  }

  private handleSocks5Reply_(bytes: Buffer): number {
    if (bytes.length < 5) return 0;
    if (bytes[0] !== 5) return this.fail_(socksError(`not a SOCKS5 reply (version byte ${bytes[0]})`));
    const reply = bytes[1] as number;
    if (reply !== 0) {
      const name = SOCKS5_REPLIES[reply] ?? 'unassigned reply code';
      return this.fail_(socksError(`${name} (reply 0x${reply.toString(16).padStart(2, '0')}, RFC 1928 §6)`));
    }
    const addressType = bytes[3];
    const addressLength =
      addressType === 1 ? 4 : addressType === 4 ? 16 : addressType === 3 ? 1 + (bytes[4] as number) : -1;
    if (addressLength < 0) return this.fail_(socksError(`reply with unknown address type ${addressType}`));
    const length = 4 + addressLength + 2;
    if (bytes.length < length) return 0;
    this.open_(bytes.subarray(length));
    return length;
  }

  private handleSocks4Reply_(bytes: Buffer): number {
    if (bytes.length < 8) return 0;
    if (bytes[0] !== 0) return this.fail_(socksError(`not a SOCKS4 reply (version byte ${bytes[0]})`));
    const reply = bytes[1] as number;
    if (reply !== 90) {
      return this.fail_(socksError(`${SOCKS4_REPLIES[reply] ?? 'unknown reply'} (reply ${reply})`));
    }
    this.open_(bytes.subarray(8));
    return 8;
  }

  /** The proxy connected us to the broker: from here on the socket carries MQTT (or TLS). */
  private open_(early: Buffer): void {
    if (early.length > 0) {
      // Neither an MQTT server nor a TLS server speaks before the client: these bytes can only be
      // the proxy's, and a proxy that sends more than its reply cannot be trusted with the stream.
      this.fail_(socksError(`${early.length} unexpected bytes after the proxy's reply`));
      return;
    }
    this.step_ = Step.Open;
    this.clearTimer_();
    const socket = this.socket_;
    socket.off('connect', this.onSocketOpen_);
    socket.off('data', this.onHandshakeData_);
    socket.off('error', this.onSocketError_);
    socket.off('close', this.onSocketClose_);
    if (this.secure_) {
      // `host` stays: with `socket` given Node connects nowhere, but checks the certificate
      // against it (an IP address has no servername); without it, against the proxy's host.
      const { port: _port, path: _path, ...tls } = tlsConnectOptions(this.options_);
      let tlsSocket: Socket;
      try {
        tlsSocket = loadTls().connect({ ...tls, socket });
      } catch (error) {
        // Bad TLS options: the tunnel is up but unusable.
        this.step_ = Step.Closed;
        this.errored_ = true;
        socket.destroy();
        this.handlers_.error(error as Error);
        this.handlers_.close();
        return;
      }
      this.inner_ = new SocketConnection(
        tlsSocket,
        'secureConnect',
        this.handlers_,
        this.options_.batchReadsMs,
      );
      return;
    }
    const inner = new SocketConnection(socket, 'connect', this.handlers_, this.options_.batchReadsMs);
    this.inner_ = inner;
    inner.opened();
  }

  private readonly onSocketError_ = (error: Error): void => {
    this.fail_(error);
  };

  private readonly onSocketClose_ = (): void => {
    if (this.step_ !== Step.Closed && !this.errored_) {
      // The proxy hung up before the tunnel was up: say so rather than close without a reason.
      this.errored_ = true;
      this.handlers_.error(socksError('the proxy closed the connection during the handshake'));
    }
    this.finish_();
  };

  /** Reports `error` (once), then close once the socket is gone. Returns 0 for handleReply_. */
  private fail_(error: Error): 0 {
    if (this.step_ === Step.Closed || this.step_ === Step.Open) return 0;
    if (!this.errored_) {
      this.errored_ = true;
      this.handlers_.error(error);
    }
    this.step_ = Step.Closed;
    this.clearTimer_();
    // 'close' follows destroy() (later, never from inside it); finish_ reports it from there.
    this.socket_.destroy();
    return 0;
  }

  private closedReported_ = false;

  private finish_(): void {
    this.step_ = Step.Closed;
    this.clearTimer_();
    if (this.closedReported_) return;
    this.closedReported_ = true;
    this.handlers_.close();
  }

  private clearTimer_(): void {
    if (this.timer_ !== undefined) timers.clearTimeout(this.timer_);
    this.timer_ = undefined;
  }

  get writable(): boolean {
    return this.inner_?.writable ?? false;
  }

  write(chunk: Uint8Array): boolean {
    return this.inner_?.write(chunk) ?? false;
  }

  cork(): void {
    this.inner_?.cork();
  }

  uncork(): void {
    this.inner_?.uncork();
  }

  pause(): void {
    this.inner_?.pause?.();
  }

  resume(): void {
    this.inner_?.resume?.();
  }

  end(): void {
    if (this.inner_) this.inner_.end();
    else this.destroy();
  }

  destroy(): void {
    if (this.inner_) {
      this.inner_.destroy();
      return;
    }
    if (this.step_ === Step.Closed) return;
    // Ended during the handshake: no error to report, only the close.
    this.errored_ = true;
    this.step_ = Step.Closed;
    this.clearTimer_();
    this.socket_.destroy(); // its 'close' reports ours
  }
}

/** The 16 bytes of an IPv6 address in text form (any valid form `isIP` accepts). */
function ipv6Bytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  let text = address.replace(/%.*$/, ''); // a zone id is local to this host
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  for (let i = 0; i < 8; i++) bytes.writeUInt16BE(Number.parseInt(groups[i] ?? '0', 16), i * 2);
  return bytes;
}

/** For tests: the bytes the CONNECT request carries for an IPv6 address. */
export const ipv6BytesForTest = ipv6Bytes;
