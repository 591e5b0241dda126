/**
 * Opening a client for a command: packet tracing and debug output wired up before CONNECT goes
 * out, waiting for the CONNACK, and turning connection failures into one readable line.
 */
import createDebug from 'debug';
import type { ConnackPacket, Packet, PacketInput } from '../../generated/index.js';
import type { MqttClient } from '../client.js';
import { isMqttError, MqttConnackError } from '../errors.js';
import { connect } from '../index.js';
import type { ClientOptions } from '../options.js';
import { transports } from '../transport/registry.js';
import { CliError, UsageError } from './args.js';
import { displayPacket } from './json.js';

export interface OpenOptions {
  url?: string;
  options: ClientOptions;
  /** Where `--trace` lines go (stderr for pub/sub, stdout for `mqtt trace`); off when undefined. */
  trace?: NodeJS.WritableStream;
  /** `-d`: the client's debug namespaces and a one-line summary of each packet, on stderr. */
  debug?: boolean;
}

/** Creates the client (not yet connected), with tracing attached. Call `client.connect()`. */
export function createClient(open: OpenOptions): MqttClient {
  if (open.debug) createDebug.enable('mqttforge*');
  const options: ClientOptions = { ...open.options, manualConnect: true };
  let client: MqttClient;
  try {
    client = open.url === undefined ? connect(options) : connect(open.url, options);
  } catch (error) {
    // A URL or option the client cannot use is a bad argument.
    if (isMqttError(error) && error.code === 'MQTT_ERR_INVALID_OPTIONS') throw new UsageError(error.message);
    throw error;
  }
  // The registry would fall back to another transport (MQTT.js's browser rule); a CLI user who
  // asked for ws:// should hear that it is missing instead.
  const { protocol, unixSocket } = client.options;
  if (!transports.has(unixSocket ? `${protocol}+unix` : protocol)) {
    throw new CliError(`the ${protocol} transport is not available in this build`);
  }
  const start = process.hrtime.bigint();
  const out = open.trace;
  if (out) {
    const line = (dir: string, packet: Packet | PacketInput) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      out.write(`${(ms / 1000).toFixed(3)}s ${dir} ${JSON.stringify(displayPacket(packet))}\n`);
    };
    client.on('packetsend', (p) => line('>', p));
    client.on('packetreceive', (p) => line('<', p));
  }
  if (open.debug) {
    client.on('packetsend', (p) => process.stderr.write(`mqtt: sending ${summary(p)}\n`));
    client.on('packetreceive', (p) => process.stderr.write(`mqtt: received ${summary(p)}\n`));
  }
  return client;
}

/** mosquitto_pub -d style: `PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))`. */
export function summary(packet: Packet | PacketInput): string {
  const p = packet as unknown as Record<string, unknown>;
  const name = String(p.cmd).toUpperCase();
  const parts: string[] = [];
  if (p.cmd === 'connect')
    parts.push(`c${p.clean === false ? 0 : 1}`, `k${String(p.keepalive)}`, `id '${String(p.clientId)}'`);
  if (p.cmd === 'publish') {
    const payload = p.payload;
    const size =
      typeof payload === 'string'
        ? Buffer.byteLength(payload)
        : ((payload as Uint8Array | undefined)?.length ?? 0);
    parts.push(`d${p.dup ? 1 : 0}`, `q${String(p.qos)}`, `r${p.retain ? 1 : 0}`);
    if (p.messageId !== undefined) parts.push(`m${String(p.messageId)}`);
    parts.push(`'${String(p.topic)}'`, `(${size} bytes)`);
  } else if (p.messageId !== undefined) parts.push(`m${String(p.messageId)}`);
  if (typeof p.reasonCode === 'number' && p.reasonCode !== 0) parts.push(`rc 0x${p.reasonCode.toString(16)}`);
  if (typeof p.returnCode === 'number' && p.returnCode !== 0) parts.push(`rc ${p.returnCode}`);
  return parts.length ? `${name} (${parts.join(', ')})` : name;
}

/**
 * Connects and resolves with the CONNACK. On a failure before that (an error event, or the
 * server closing without a CONNACK) the client is ended and the promise rejects with a CliError
 * whose message says why.
 */
export function connectClient(client: MqttClient): Promise<ConnackPacket> {
  const target = `${client.options.hostname}:${client.options.port}`;
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const fail = (error: CliError) => {
      cleanup();
      client.end(true);
      reject(error);
    };
    const onConnect = (connack: ConnackPacket) => {
      cleanup();
      resolve(connack);
    };
    const onError = (error: Error) => fail(new CliError(describeError(error, target), { cause: error }));
    const onClose = () => fail(new CliError(`connection to ${target} closed before CONNACK`));
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    client.connect();
  });
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/;

/** One line on why a connection failed or broke. */
export function describeError(error: Error, target: string): string {
  const code = (error as { code?: unknown }).code;
  if (error instanceof MqttConnackError) {
    const sent =
      error.protocolVersion === 5
        ? `reason code 0x${error.returnCode.toString(16).padStart(2, '0')}`
        : `return code ${error.returnCode}`;
    return `connection refused by ${target}: ${error.reasonName} (${sent})`;
  }
  if (typeof code === 'string') {
    const hostname = target.slice(0, target.lastIndexOf(':'));
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return `cannot resolve host '${hostname}' (DNS lookup failed: ${code})`;
    if (code === 'ECONNREFUSED') return `cannot connect to ${target}: connection refused (ECONNREFUSED)`;
    if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ECONNRESET')
      return `cannot connect to ${target}: ${error.message} (${code})`;
    if (TLS_CODES.test(code))
      return `TLS error with ${target}: ${error.message} (${code}); see --ca and --insecure`;
    if (code === 'MQTT_ERR_CONNECT_TIMEOUT') return `no CONNACK from ${target} in time (${code})`;
  }
  if (isMqttError(error)) return `${error.message} [${error.code}]`;
  return error.message || String(error);
}
