/**
 * `resolveOptions(url?, options?)`: what MQTT.js's `connect()` does to its arguments before
 * building a client — parse the URL, merge it under the options, apply the v5 defaults — without
 * touching the caller's object. `transportOptionsFor()` then picks the server for each attempt.
 *
 * Where this differs from MQTT.js on purpose: an option set to `undefined` does not erase the
 * URL's value; `protocolVersion: 3` defaults `protocolId` to 'MQIsdp' (3.1 requires it);
 * `cert` + `key` with `tcp` upgrades to `mqtts` and with `tls`/`ssl` is accepted (MQTT.js throws);
 * the generated client id always has 8 hex digits.
 */
import { parseBrokerUrl } from './broker-url.js';
import { invalidOptions } from './errors.js';
import type {
  AckHandler,
  BaseProtocol,
  ClientOptions,
  ResolvedOptions,
  ServerOption,
} from './options-types.js';
import { TLS_OPTION_KEYS } from './transport/tls-option-keys.js';
import type { TlsOptions, TransportOptions } from './transport/types.js';

export type * from './options-types.js';

export const DEFAULT_OPTIONS = {
  keepalive: 60,
  reschedulePings: true,
  protocolId: 'MQTT',
  protocolVersion: 4,
  reconnectPeriod: 1000,
  connectTimeout: 30 * 1000,
  clean: true,
  resubscribe: true,
  queueQoSZero: true,
  batchReadsMs: 1,
  manualConnect: false,
  reconnectOnConnackError: false,
} as const;

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  mqtt: 1883,
  tcp: 1883,
  mqtts: 8883,
  tls: 8883,
  ssl: 8883,
  ws: 80,
  wx: 80,
  ali: 80,
  wss: 443,
  wxs: 443,
  alis: 443,
};

/** What a plain protocol becomes when `cert` and `key` are given. */
const SECURE_VARIANT: Readonly<Record<string, BaseProtocol>> = {
  mqtt: 'mqtts',
  tcp: 'mqtts',
  ws: 'wss',
  wx: 'wxs',
  ali: 'alis',
};

export function defaultPort(protocol: string): number {
  return DEFAULT_PORTS[protocol] ?? 1883;
}

/** `mqttjs_` and 8 random hex digits, as MQTT.js. */
export function defaultClientId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(4));
  let hex = '';
  for (let i = 0; i < 4; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return `mqttjs_${hex}`;
}

/** The default `customHandleAcks`: accept every message with reason code 0. */
export const acceptAllAcks: AckHandler = (_topic, _message, _packet, done) => done(null, 0);

/** Copies into `target` the keys of `source` whose value is not undefined. */
function assignDefined<T extends object>(target: T, source: T): T {
  const keys = Object.keys(source) as Array<keyof T>;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    // An own "__proto__" key (JSON.parse makes one) would set target's prototype: not an option.
    if (key === '__proto__' || source[key] === undefined) continue;
    target[key] = source[key];
  }
  return target;
}

/** MQTT.js's `auth` rule: `user:pass` splits at the last colon; anything else is a user name. */
function splitAuth(auth: string): { username: string; password?: string } {
  const match = /^(.+):(.+)$/.exec(auth);
  return match ? { username: match[1] as string, password: match[2] as string } : { username: auth };
}

function normalizeArguments(
  url: string | URL | ClientOptions | null | undefined,
  options: ClientOptions | undefined,
): { fromUrl: ClientOptions; urlAuth?: { username: string; password?: string }; given: ClientOptions } {
  if (url === null || url === undefined || url === '') return { fromUrl: {}, given: options ?? {} };
  if (typeof url === 'string' || url instanceof URL) {
    const parts = parseBrokerUrl(url);
    const fromUrl: ClientOptions = {
      protocol: parts.protocol as ClientOptions['protocol'],
      query: parts.query,
    };
    if (parts.hostname !== undefined) fromUrl.host = parts.hostname;
    if (parts.port !== undefined) fromUrl.port = parts.port;
    if (parts.path !== undefined) fromUrl.path = parts.path;
    const urlAuth =
      parts.username === undefined ? undefined : { username: parts.username, password: parts.password };
    return { fromUrl, urlAuth, given: options ?? {} };
  }
  // An options object alone, or (unlike MQTT.js, which ignores it) a URL-like object merged under options.
  return options ? { fromUrl: url, given: options } : { fromUrl: {}, given: url };
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidOptions(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * Resolves `connect(url?, options?)` arguments. `url` may be a string, a `URL`, or the options
 * object itself. Throws `MQTT_ERR_INVALID_OPTIONS` for what can never connect.
 */
export function resolveOptions(
  url?: string | URL | ClientOptions | null,
  options?: ClientOptions,
): ResolvedOptions {
  const { fromUrl, urlAuth, given } = normalizeArguments(url, options);
  const merged: ClientOptions = assignDefined(assignDefined({}, fromUrl), given);

  let protocol = String(merged.protocol ?? 'mqtt')
    .replace(/:$/, '')
    .toLowerCase();
  const unixSocket = merged.unixSocket === true || protocol.endsWith('+unix');
  protocol = protocol.replace(/\+unix$/, '');
  if (merged.cert && merged.key) protocol = SECURE_VARIANT[protocol] ?? protocol;

  // As MQTT.js: `auth` (the option, else the URL's user:pass) wins over `username`/`password`.
  const auth =
    given.auth !== undefined
      ? splitAuth(given.auth)
      : (urlAuth ?? (fromUrl.auth !== undefined ? splitAuth(fromUrl.auth) : undefined));
  let { username, password } = merged;
  if (auth) {
    username = auth.username;
    if (auth.password !== undefined) password = auth.password;
  }

  const query = { ...(merged.query ?? {}) };
  const givenClientId = typeof query.clientId === 'string' ? query.clientId : merged.clientId;
  if (givenClientId !== undefined && givenClientId !== null && typeof givenClientId !== 'string') {
    // A number would otherwise give way to a random id: a persistent session lost at each start.
    throw invalidOptions(`clientId must be a string, got ${typeof givenClientId}`);
  }
  if (merged.clean === false && !givenClientId) throw invalidOptions('Missing clientId for unclean clients');
  const clientId = typeof givenClientId === 'string' ? givenClientId : defaultClientId();

  const protocolVersion = merged.protocolVersion ?? DEFAULT_OPTIONS.protocolVersion;
  if (protocolVersion !== 3 && protocolVersion !== 4 && protocolVersion !== 5) {
    throw invalidOptions(`protocolVersion must be 3, 4 or 5, got ${String(protocolVersion)}`);
  }
  const keepalive = merged.keepalive ?? DEFAULT_OPTIONS.keepalive;
  checkInteger('keepalive', keepalive, 0, 65535);
  if (merged.batchReadsMs !== undefined) checkInteger('batchReadsMs', merged.batchReadsMs, 0, 1000);
  // MQTT.js treats port 0 as unset too.
  const port = merged.port || defaultPort(protocol);
  if (!unixSocket) checkInteger('port', port, 1, 65535);
  const hostname = merged.hostname || merged.host || 'localhost';
  const keepPath = unixSocket || /^(ws|wx|ali)/.test(protocol);

  // An object of its own only when some TLS option was given (else NO_TLS, shared).
  let tls: TlsOptions | undefined;
  // An index loop: for-of makes an iterator result per key until V8 optimizes this function.
  for (let i = 0; i < TLS_OPTION_KEYS.length; i++) {
    const key = TLS_OPTION_KEYS[i]!;
    if (merged[key] === undefined) continue;
    tls ??= {};
    (tls as Record<string, unknown>)[key] = merged[key];
  }
  const d = DEFAULT_OPTIONS;
  // Every client's fields in one object literal, then the application's other options: objects
  // built so share one hidden class. (From V8's optimized code, `{ ...DEFAULT_OPTIONS, ...rest,
  // key }` gives each object a hidden class of its own, and Object.assign into `{}` a dictionary:
  // 0.7 to 1.6 KiB more per client.)
  const resolved: Record<string, unknown> = {
    keepalive,
    reschedulePings: merged.reschedulePings ?? d.reschedulePings,
    protocolId: merged.protocolId ?? (protocolVersion === 3 ? 'MQIsdp' : 'MQTT'),
    protocolVersion,
    reconnectPeriod: merged.reconnectPeriod ?? d.reconnectPeriod,
    connectTimeout: merged.connectTimeout ?? d.connectTimeout,
    clean: merged.clean ?? d.clean,
    resubscribe: merged.resubscribe ?? d.resubscribe,
    queueQoSZero: merged.queueQoSZero ?? d.queueQoSZero,
    batchReadsMs: merged.batchReadsMs ?? d.batchReadsMs,
    manualConnect: merged.manualConnect ?? d.manualConnect,
    reconnectOnConnackError: merged.reconnectOnConnackError ?? d.reconnectOnConnackError,
    protocol: protocol as BaseProtocol,
    defaultProtocol: protocol as BaseProtocol,
    host: hostname,
    hostname,
    port,
    unixSocket,
    username,
    password,
    query,
    clientId,
    customHandleAcks:
      protocolVersion === 5 && merged.customHandleAcks ? merged.customHandleAcks : acceptAllAcks,
    tls: tls ?? NO_TLS,
  } satisfies Partial<ResolvedOptions>;
  const keys = Object.keys(merged) as (keyof ClientOptions)[];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!(key in resolved) && !NOT_COPIED.has(key)) resolved[key] = merged[key];
  }
  if (keepPath && merged.path !== undefined) resolved.path = merged.path;
  if (merged.servers) resolved.servers = merged.servers.map((server: ServerOption) => ({ ...server }));
  return resolved as unknown as ResolvedOptions;
}

/** `options.tls` of every client given no TLS option: one frozen object serves them all. */
const NO_TLS: Readonly<TlsOptions> = Object.freeze({});

/** Options resolveOptions reads and does not keep as given. */
const NOT_COPIED: ReadonlySet<string> = new Set(['auth', 'path', 'servers']);

/**
 * The transport options for connection attempt `attempt` (0-based). With `servers`, attempts go
 * round the list, each entry using its own protocol or else `defaultProtocol`. The client adds
 * `transformWsUrl`/`createWebsocket`, which need the client instance.
 */
export function transportOptionsFor(options: ResolvedOptions, attempt = 0): TransportOptions {
  const servers = options.servers;
  const server = servers && servers.length > 0 ? servers[attempt % servers.length] : undefined;
  const protocol = server ? (server.protocol ?? options.defaultProtocol) : options.protocol;
  const result: TransportOptions = {
    protocol,
    host: server?.host ?? options.hostname,
    port: server ? server.port || defaultPort(protocol) : options.port,
    unixSocket: options.unixSocket,
    tls: options.tls,
    protocolId: options.protocolId,
    protocolVersion: options.protocolVersion,
    batchReadsMs: options.batchReadsMs,
  };
  for (const key of PASSED_TO_TRANSPORT) {
    if (options[key] !== undefined) (result as unknown as Record<string, unknown>)[key] = options[key];
  }
  return result;
}

/** Options the transports read as given, set only when given. */
const PASSED_TO_TRANSPORT = ['path', 'wsOptions', 'socksProxy', 'socksTimeout', 'my'] as const;
