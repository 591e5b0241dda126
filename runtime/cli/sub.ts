/**
 * `mqtt sub`: subscribe and print messages; `mqtt trace`: the same connection, printing every
 * packet sent and received, decoded, instead of the messages.
 */
import type { PublishPacket, QoS } from '../../generated/index.js';
import type { SubscribeOptions } from '../session/args.js';
import {
  bool,
  CONNECTION_OPTIONS,
  CONNECTION_USAGE,
  checkTopic,
  connectionOptions,
  int,
  list,
  num,
  type OptionSpec,
  parse,
  qos,
  str,
  UsageError,
  type Values,
} from './args.js';
import { connectClient, createClient, describeError } from './connection.js';
import { writeOut } from './io.js';
import { bytesToHex, displayPacket, packetToJson } from './json.js';

export const SUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't', multiple: true },
  qos: { type: 'string', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  count: { type: 'string', short: 'n' },
  timeout: { type: 'string', short: 'W' },
  'no-clean': { type: 'boolean' },
  format: { type: 'string' },
  nl: { type: 'boolean' },
  rap: { type: 'boolean' },
  rh: { type: 'string' },
} as const satisfies OptionSpec;

export const SUB_USAGE = `Usage: mqtt sub [options] -t TOPIC [-t TOPIC…]
       mqtt sub [options] TOPIC…`;

export const SUB_HELP = `${SUB_USAGE}

Subscribes and prints each message on its own line until interrupted.

Subscription options:
  -t, --topic FILTER         topic filter; repeat for more
  -q, --qos 0|1|2            maximum QoS (default 0)
  -v, --verbose              print the topic before the message
  -n, --count N              exit after N messages
  -W, --timeout SEC          exit after SEC seconds (exit code 1 if --count was not reached)
  --no-clean                 keep the session (needs -i; with -V 5 and no -x, never expires)
  --format text|json|hex     text: the payload as is (default); json: one JSON object per
                             message with its properties; hex: the payload in hex
  --nl                       MQTT 5 No Local: not our own messages
  --rap                      MQTT 5 Retain As Published
  --rh 0|1|2                 MQTT 5 Retain Handling: 0 send retained, 1 only if new, 2 never
  --trace                    also print every packet, decoded, to stderr

${CONNECTION_USAGE}`;

export const TRACE_USAGE = 'Usage: mqtt trace [options] [-t TOPIC…]';

export const TRACE_HELP = `${TRACE_USAGE}

Connects, subscribes to the topics if any are given, and prints every packet sent and received,
decoded, one per line: seconds since start, '>' sent or '<' received, the packet as JSON
(binary fields as {"utf8": …} or {"hex": …}; the password is redacted). Stops on Ctrl-C,
after --count messages or --timeout seconds. Takes the options of 'mqtt sub'; --format json
prints {"time", "dir", "packet"} objects instead.

${CONNECTION_USAGE}`;

type Format = 'text' | 'json' | 'hex';

function subscriptions(values: Values, topics: string[], version: number): Record<string, SubscribeOptions> {
  const options: SubscribeOptions = { qos: qos(values) as QoS };
  const rh = int(values, 'rh', 0, 2) as 0 | 1 | 2 | undefined;
  const v5 = bool(values, 'nl') || bool(values, 'rap') || rh !== undefined;
  if (v5 && version !== 5) throw new UsageError('--nl, --rap and --rh need --protocol-version 5');
  if (bool(values, 'nl')) options.nl = true;
  if (bool(values, 'rap')) options.rap = true;
  if (rh !== undefined) options.rh = rh;
  return Object.fromEntries(topics.map((t) => [t, options]));
}

function formatMessage(format: Format, verbose: boolean, packet: PublishPacket): string | Uint8Array {
  if (format === 'json') return `${JSON.stringify(packetToJson(packet))}\n`;
  const prefix = verbose ? `${packet.topic} ` : '';
  if (format === 'hex') return `${prefix}${bytesToHex(packet.payload)}\n`;
  return Buffer.concat([Buffer.from(prefix), packet.payload, Buffer.from('\n')]);
}

export function sub(args: string[]): Promise<number> {
  return run(args, 'sub');
}

export function trace(args: string[]): Promise<number> {
  return run(args, 'trace');
}

async function run(args: string[], mode: 'sub' | 'trace'): Promise<number> {
  const { values, positionals } = parse(args, SUB_OPTIONS);
  if (bool(values, 'help')) {
    process.stdout.write(`${mode === 'sub' ? SUB_HELP : TRACE_HELP}\n`);
    return 0;
  }
  const topics = [...list(values, 'topic'), ...positionals];
  if (mode === 'sub' && topics.length === 0) throw new UsageError('missing topic (-t)');
  for (const topic of topics) checkTopic(topic, true);
  const format = (str(values, 'format') ?? 'text') as Format;
  if (format !== 'text' && format !== 'json' && format !== 'hex') {
    throw new UsageError(`--format must be text, json or hex, got '${format}'`);
  }
  const count = int(values, 'count', 1, Number.MAX_SAFE_INTEGER);
  const timeout = num(values, 'timeout');
  const { url, options } = connectionOptions(values);
  if (bool(values, 'no-clean')) {
    if (options.clientId === undefined) throw new UsageError('--no-clean needs a client id (-i)');
    options.clean = false;
    // As mosquitto_sub -c: an MQTT 5 session kept by --no-clean does not expire unless -x says so.
    if (options.protocolVersion === 5 && options.properties?.sessionExpiryInterval === undefined) {
      options.properties = { ...options.properties, sessionExpiryInterval: 0xffff_ffff };
    }
  }
  const subs = topics.length > 0 ? subscriptions(values, topics, options.protocolVersion ?? 4) : undefined;

  const traceOut = mode === 'trace' ? process.stdout : bool(values, 'trace') ? process.stderr : undefined;
  const client = createClient({
    url,
    options,
    debug: bool(values, 'debug'),
    ...(traceOut && !(mode === 'trace' && format === 'json') ? { trace: traceOut } : {}),
  });
  if (mode === 'trace' && format === 'json') {
    const start = process.hrtime.bigint();
    const write = (dir: 'send' | 'receive') => (packet: object) => {
      const time = Number(process.hrtime.bigint() - start) / 1e9;
      process.stdout.write(`${JSON.stringify({ time, dir, packet: displayPacket(packet as never) })}\n`);
    };
    client.on('packetsend', write('send'));
    client.on('packetreceive', write('receive'));
  }
  const target = `${client.options.hostname}:${client.options.port}`;

  let received = 0;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveRun!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    resolveRun = resolve;
  });
  const onSignal = () => finish(0);
  const finish = (code: number) => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    client.end(code !== 0, () => resolveRun(code));
  };
  // Before connecting: a session's queued messages can arrive in the same read as the CONNACK.
  client.on('message', (_topic, _payload, packet) => {
    if (done) return;
    received++;
    if (mode === 'sub') void writeOut(formatMessage(format, bool(values, 'verbose'), packet));
    if (count !== undefined && received >= count) finish(0);
  });

  await connectClient(client);
  if (done) return finished;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (timeout !== undefined) {
    timer = setTimeout(() => {
      if (count !== undefined)
        process.stderr.write(`mqtt ${mode}: timed out with ${received} of ${count} messages\n`);
      finish(count === undefined ? 0 : 1);
    }, timeout * 1000);
  }
  let lastError = '';
  client.on('connect', () => {
    lastError = '';
  });
  client.on('error', (error) => {
    // While reconnecting, the same failure comes back every second: say it once.
    const line = describeError(error, target);
    if (line !== lastError) process.stderr.write(`mqtt ${mode}: ${line}\n`);
    lastError = line;
    // A refused CONNACK on reconnect leaves the client down for good.
    if ((error as { code?: string }).code === 'MQTT_ERR_CONNACK_REFUSED') finish(1);
  });
  client.on('offline', () => process.stderr.write(`mqtt ${mode}: connection lost, reconnecting\n`));
  if (subs) {
    client.subscribe(subs, (error) => {
      if (!error || done) return;
      process.stderr.write(`mqtt ${mode}: subscribe failed: ${describeError(error, target)}\n`);
      finish(1);
    });
  }
  return finished;
}
