/**
 * Argument parsing shared by the commands: `util.parseArgs` with strict checking, the
 * connection flags of `pub`, `sub`, `trace` and `bench` (MQTT.js's names and short letters),
 * and their translation into `connect()` options.
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { ClientOptions, WillOptions } from '../options.js';
import { validateTopicFilter, validateTopicName } from '../topic.js';

/** A bad invocation: printed as one line plus the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure at run time (connection refused, bad bytes…): printed as is, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

/** `parseArgs` in strict mode, its errors turned into one-line UsageErrors. */
export function parse(args: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${/'[^']*'/.exec(message)?.[0] ?? message}`);
    }
    if (code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(message.split('. ')[0] ?? message);
    throw error;
  }
}

export function str(values: Values, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = values[name];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export function bool(values: Values, name: string): boolean {
  return values[name] === true;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** An integer flag in [min, max]; `undefined` when the flag is absent. */
export function int(values: Values, name: string, min: number, max: number): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

/** A non-negative number flag (seconds, rates). */
export function num(values: Values, name: string, min = 0): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} must be a number of at least ${min}, got '${text}'`);
  }
  return n;
}

export function qos(values: Values, name = 'qos'): 0 | 1 | 2 {
  return (int(values, name, 0, 2) ?? 0) as 0 | 1 | 2;
}

const VERSIONS: Readonly<Record<string, 3 | 4 | 5>> = {
  '3': 3,
  '31': 3,
  '3.1': 3,
  mqttv31: 3,
  '4': 4,
  '311': 4,
  '3.1.1': 4,
  mqttv311: 4,
  '5': 5,
  '5.0': 5,
  mqttv5: 5,
};

/** `-V`: 3, 4 or 5, also written as mosquitto does (31, 311, mqttv5, 3.1.1, 5.0). */
export function protocolVersion(values: Values, fallback: 3 | 4 | 5 = 4): 3 | 4 | 5 {
  const text = str(values, 'protocol-version');
  if (text === undefined) return fallback;
  const version = VERSIONS[text.toLowerCase()];
  if (version === undefined) throw new UsageError(`--protocol-version must be 3, 4 or 5, got '${text}'`);
  return version;
}

export function readFileArg(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
}

/** The flags every connecting command takes. */
export const CONNECTION_OPTIONS = {
  hostname: { type: 'string', short: 'h' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  url: { type: 'string', short: 'l' },
  protocol: { type: 'string', short: 'C' },
  'protocol-version': { type: 'string', short: 'V' },
  clientId: { type: 'string', short: 'i' },
  'client-id': { type: 'string' },
  id: { type: 'string' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string', short: 'P' },
  keepalive: { type: 'string', short: 'k' },
  'session-expiry': { type: 'string', short: 'x' },
  'will-topic': { type: 'string' },
  'will-message': { type: 'string' },
  'will-payload': { type: 'string' },
  'will-qos': { type: 'string' },
  'will-retain': { type: 'boolean' },
  key: { type: 'string' },
  cert: { type: 'string' },
  ca: { type: 'string' },
  cafile: { type: 'string' },
  insecure: { type: 'boolean' },
  debug: { type: 'boolean', short: 'd' },
  trace: { type: 'boolean' },
  help: { type: 'boolean', short: 'H' },
} as const satisfies OptionSpec;

export const CONNECTION_USAGE = `Connection options:
  -h, --hostname HOST        broker host (default localhost)
  -p, --port PORT            broker port (default 1883, 8883 for mqtts)
  -l, --url URL              broker URL, e.g. mqtts://user:pass@host:8883 (flags override it)
  -C, --protocol PROTO       mqtt, mqtts, ws or wss
  -V, --protocol-version V   3 (3.1), 4 (3.1.1, default) or 5
  -i, --clientId ID          client identifier (default mqttjs_ and 8 hex digits)
  -u, --username USER        user name
  -P, --password PASS        password
  -k, --keepalive SEC        keep alive interval (default 60)
  -x, --session-expiry SEC   MQTT 5 Session Expiry Interval (4294967295: never)
  --will-topic TOPIC         will topic
  --will-message BODY        will payload
  --will-qos 0|1|2           will QoS
  --will-retain              retain the will
  --key PATH                 client private key (PEM)
  --cert PATH                client certificate (PEM)
  --ca PATH                  CA certificate(s) to trust (PEM); implies mqtts
  --insecure                 do not verify the server certificate
  -d, --debug                log the client's debug output and each packet in brief to stderr
  --trace                    print every packet sent and received, decoded, to stderr
  -H, --help                 show this help`;

const PROTOCOLS = new Set(['mqtt', 'mqtts', 'tcp', 'tls', 'ssl', 'ws', 'wss']);

/** `connect()` options from the connection flags. Only flags the user gave are set. */
export function connectionOptions(values: Values): { url?: string; options: ClientOptions } {
  const version = protocolVersion(values);
  const options: ClientOptions = { protocolVersion: version };
  const url = str(values, 'url');
  const host = str(values, 'hostname', 'host');
  if (host !== undefined) options.host = host;
  const port = int(values, 'port', 1, 65535);
  if (port !== undefined) options.port = port;
  const protocol = str(values, 'protocol');
  if (protocol !== undefined) {
    if (!PROTOCOLS.has(protocol))
      throw new UsageError(`--protocol must be mqtt, mqtts, ws or wss, got '${protocol}'`);
    options.protocol = protocol as ClientOptions['protocol'];
  }
  const clientId = str(values, 'clientId', 'client-id', 'id');
  if (clientId !== undefined) options.clientId = clientId;
  const username = str(values, 'username');
  if (username !== undefined) options.username = username;
  const password = str(values, 'password');
  if (password !== undefined) options.password = password;
  const keepalive = int(values, 'keepalive', 0, 65535);
  if (keepalive !== undefined) options.keepalive = keepalive;
  const expiry = int(values, 'session-expiry', 0, 0xffff_ffff);
  if (expiry !== undefined) {
    if (version !== 5) throw new UsageError('--session-expiry needs --protocol-version 5');
    options.properties = { sessionExpiryInterval: expiry };
  }
  const will = willOptions(values);
  if (will) options.will = will;

  const key = str(values, 'key');
  const cert = str(values, 'cert');
  const ca = str(values, 'ca', 'cafile');
  if (key !== undefined) options.key = readFileArg(key, '--key');
  if (cert !== undefined) options.cert = readFileArg(cert, '--cert');
  if (ca !== undefined) options.ca = readFileArg(ca, '--ca');
  if (bool(values, 'insecure')) options.rejectUnauthorized = false;
  // As mosquitto_pub: a CA file means TLS. (cert + key upgrades to mqtts in resolveOptions.)
  if (ca !== undefined && protocol === undefined && url === undefined) options.protocol = 'mqtts';
  return url === undefined ? { options } : { url, options };
}

function willOptions(values: Values): WillOptions | undefined {
  const topic = str(values, 'will-topic');
  const message = str(values, 'will-message', 'will-payload');
  const willQos = int(values, 'will-qos', 0, 2) as 0 | 1 | 2 | undefined;
  const retain = bool(values, 'will-retain');
  if (topic === undefined) {
    if (message !== undefined || willQos !== undefined || retain) {
      throw new UsageError('--will-message, --will-qos and --will-retain need --will-topic');
    }
    return undefined;
  }
  checkTopic(topic, false, '--will-topic');
  return { topic, payload: message ?? '', qos: willQos ?? 0, retain };
}

/** `k:v` (split at the first colon) into a userProperties record; repeated names become arrays. */
export function userProperties(pairs: string[], flag = '--user-property'): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon < 0) throw new UsageError(`${flag} must be name:value, got '${pair}'`);
    const name = pair.slice(0, colon);
    const value = pair.slice(colon + 1);
    const existing = out[name];
    out[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

/** Checks a topic name (`filter` false) or filter before connecting: a bad one is a usage error. */
export function checkTopic(topic: string, filter: boolean, flag = '--topic'): void {
  const problem = filter ? validateTopicFilter(topic) : validateTopicName(topic);
  if (problem) throw new UsageError(`${flag} '${topic}': ${problem.message} (${problem.spec})`);
}
