/** `mqtt pub`: publish one message, the whole of stdin, each stdin line, or a file. */
import type { PublishProperties } from '../../generated/index.js';
import type { MqttClient } from '../client.js';
import type { PublishOptions } from '../session/args.js';
import {
  bool,
  CONNECTION_OPTIONS,
  CONNECTION_USAGE,
  checkTopic,
  connectionOptions,
  int,
  list,
  type OptionSpec,
  parse,
  qos,
  readFileArg,
  str,
  UsageError,
  userProperties,
  type Values,
} from './args.js';
import { connectClient, createClient, describeError } from './connection.js';
import { readStdin, stdinLines } from './io.js';

export const PUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: 'string', short: 't' },
  message: { type: 'string', short: 'm' },
  qos: { type: 'string', short: 'q' },
  retain: { type: 'boolean', short: 'r' },
  stdin: { type: 'boolean', short: 's' },
  multiline: { type: 'boolean', short: 'M' },
  file: { type: 'string', short: 'f' },
  'user-property': { type: 'string', multiple: true },
  'content-type': { type: 'string' },
  'response-topic': { type: 'string' },
  'correlation-data': { type: 'string' },
  'message-expiry': { type: 'string' },
} as const satisfies OptionSpec;

export const PUB_USAGE = `Usage: mqtt pub [options] -t TOPIC [-m MESSAGE | -s | -M | -f FILE]
       mqtt pub [options] TOPIC [MESSAGE]`;

export const PUB_HELP = `${PUB_USAGE}

Publishes a message and exits once it is acknowledged (QoS 1/2) or written (QoS 0).

Message options:
  -t, --topic TOPIC          topic to publish to
  -m, --message MSG          message body (default: empty)
  -q, --qos 0|1|2            QoS (default 0)
  -r, --retain               retain the message
  -s, --stdin                read the whole of stdin as one message (binary safe)
  -M, --multiline            publish each line of stdin as a message, as lines arrive
  -f, --file PATH            publish the file's contents as one message

MQTT 5 properties (need -V 5):
  --user-property NAME:VALUE   user property; repeat for more
  --content-type TYPE          Content Type
  --response-topic TOPIC       Response Topic
  --correlation-data DATA      Correlation Data (UTF-8)
  --message-expiry SEC         Message Expiry Interval

${CONNECTION_USAGE}`;

/** At most this many publishes wait for their acknowledgement while -M reads more lines. */
const LINE_WINDOW = 100;

function publishProperties(values: Values, version: number): PublishProperties | undefined {
  const props: PublishProperties = {};
  const users = list(values, 'user-property');
  if (users.length > 0) props.userProperties = userProperties(users);
  const contentType = str(values, 'content-type');
  if (contentType !== undefined) props.contentType = contentType;
  const responseTopic = str(values, 'response-topic');
  if (responseTopic !== undefined) props.responseTopic = responseTopic;
  const correlation = str(values, 'correlation-data');
  if (correlation !== undefined) props.correlationData = Buffer.from(correlation, 'utf8');
  const expiry = int(values, 'message-expiry', 0, 0xffff_ffff);
  if (expiry !== undefined) props.messageExpiryInterval = expiry;
  if (Object.keys(props).length === 0) return undefined;
  if (version !== 5) throw new UsageError('MQTT 5 properties need --protocol-version 5');
  return props;
}

export async function pub(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, PUB_OPTIONS);
  if (bool(values, 'help')) {
    process.stdout.write(`${PUB_HELP}\n`);
    return 0;
  }
  const rest = [...positionals];
  const topic = str(values, 'topic') ?? rest.shift();
  if (topic === undefined) throw new UsageError('missing topic (-t)');
  checkTopic(topic, false);
  const message = str(values, 'message') ?? rest.shift();
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const file = str(values, 'file');
  const multiline = bool(values, 'multiline');
  const stdin = bool(values, 'stdin') && !multiline;
  const sources = [message !== undefined, stdin, multiline, file !== undefined].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give only one of -m, -s, -M and -f');

  const { url, options } = connectionOptions(values);
  const publishOptions: PublishOptions = { qos: qos(values), retain: bool(values, 'retain') };
  const properties = publishProperties(values, options.protocolVersion ?? 4);
  if (properties) publishOptions.properties = properties;
  const payload: Buffer | string | undefined =
    file !== undefined ? readFileArg(file, '--file') : stdin ? await readStdin() : message;

  const client = createClient({
    url,
    options: { ...options, reconnectPeriod: 0 },
    debug: bool(values, 'debug'),
    ...(bool(values, 'trace') ? { trace: process.stderr } : {}),
  });
  await connectClient(client);
  const target = `${client.options.hostname}:${client.options.port}`;
  let failure: Error | undefined;
  client.on('error', (error) => {
    failure ??= error;
    process.stderr.write(`mqtt pub: ${describeError(error, target)}\n`);
  });
  try {
    if (multiline) await publishLines(client, topic, publishOptions);
    else await client.publishAsync(topic, payload ?? '', publishOptions);
  } catch (error) {
    failure ??= error as Error;
    process.stderr.write(`mqtt pub: ${describeError(error as Error, target)}\n`);
  }
  await client.endAsync(failure !== undefined);
  return failure ? 1 : 0;
}

async function publishLines(client: MqttClient, topic: string, options: PublishOptions): Promise<void> {
  const pending = new Set<Promise<void>>();
  let failure: Error | undefined;
  for await (const line of stdinLines()) {
    const p: Promise<void> = client.publishAsync(topic, line, options).then(
      () => {
        pending.delete(p);
      },
      (error: Error) => {
        pending.delete(p);
        failure ??= error;
      },
    );
    pending.add(p);
    if (pending.size >= LINE_WINDOW) await Promise.race(pending);
    if (failure) throw failure;
  }
  await Promise.all(pending);
  if (failure) throw failure;
}
