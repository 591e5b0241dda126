/**
 * `mqtt decode` and `mqtt encode`: the generated codec on the command line. Decoding bad bytes
 * reports the codec's error code, the MQTT 5 reason code it maps to and the spec reference.
 */
import {
  decode,
  encode,
  isMqttError,
  type MqttError,
  type Packet,
  type PacketInput,
  type ProtocolVersion,
  reasonCodeName,
} from '../../generated/index.js';
import { scanVbi } from '../wire/vbi.js';
import { bool, CliError, type OptionSpec, parse, protocolVersion, UsageError } from './args.js';
import { readStdin } from './io.js';
import { bytesToHex, hexToBytes, JsonPacketError, jsonToPacket, packetToJson } from './json.js';

export const CODEC_OPTIONS = {
  'protocol-version': { type: 'string', short: 'V' },
  compact: { type: 'boolean', short: 'c' },
  raw: { type: 'boolean' },
  help: { type: 'boolean', short: 'H' },
} as const satisfies OptionSpec;

export const DECODE_USAGE = 'Usage: mqtt decode [-V 3|4|5] [--compact] [--raw] <HEX… | ->';

export const DECODE_HELP = `${DECODE_USAGE}

Decodes MQTT packets and prints each as JSON. The bytes are hex (spaces, colons, commas and 0x
prefixes are ignored) from the arguments or, with '-', from stdin; several packets one after
the other are decoded in turn. A CONNECT switches the protocol version to its own, as a server
would.

Byte fields print as {"utf8": "…"} when they are printable UTF-8, else as {"hex": "…"}.
Bad bytes print the error code, reason code and spec reference on stderr and exit with 1.

Options:
  -V, --protocol-version V   3 (3.1), 4 (3.1.1, default) or 5
  -c, --compact              one line of JSON per packet
  --raw                      stdin holds the bytes themselves, not hex
  -H, --help                 show this help`;

export const ENCODE_USAGE = 'Usage: mqtt encode [-V 3|4|5] [--raw] <JSON | ->';

export const ENCODE_HELP = `${ENCODE_USAGE}

Encodes packets given as JSON (the shapes of docs/packet-shapes.md, as 'mqtt decode' prints
them) and prints each packet's bytes in hex, one line per packet. The JSON is one packet object,
an array of them, or (from stdin with '-') one object per line. Byte fields are {"utf8": "…"},
{"hex": "…"} or, where the codec takes text, a plain string.

Options:
  -V, --protocol-version V   3 (3.1), 4 (3.1.1, default) or 5; a CONNECT uses its own
  --raw                      write the bytes themselves to stdout instead of hex
  -H, --help                 show this help`;

/** Where a codec error came from, as printed on stderr. */
export function describeCodecError(error: MqttError, offset?: number): string {
  const spec = error.spec ? ` (${error.spec})` : '';
  const message = spec && error.message.endsWith(spec) ? error.message.slice(0, -spec.length) : error.message;
  const lines = [
    offset === undefined ? message : `bad packet at byte ${offset}: ${message}`,
    `  code:        ${error.code}`,
  ];
  if (error.reasonCode !== undefined) {
    const name = reasonCodeName('DISCONNECT', error.reasonCode);
    lines.push(
      `  reason code: 0x${error.reasonCode.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''}`,
    );
  }
  if (error.spec) lines.push(`  spec:        ${error.spec}`);
  return lines.join('\n');
}

async function inputBytes(positionals: string[], raw: boolean): Promise<Uint8Array> {
  if (positionals.length === 0) throw new UsageError('missing hex bytes (or - for stdin)');
  const fromStdin = positionals.length === 1 && positionals[0] === '-';
  if (raw) {
    if (!fromStdin) throw new UsageError('--raw reads stdin: give - as the argument');
    return readStdin();
  }
  const text = fromStdin ? (await readStdin()).toString('utf8') : positionals.join(' ');
  const bytes = hexToBytes(text);
  if (!bytes) throw new UsageError('the input is not hex: expected pairs of hex digits');
  return bytes;
}

export async function decodeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CODEC_OPTIONS);
  if (bool(values, 'help')) {
    process.stdout.write(`${DECODE_HELP}\n`);
    return 0;
  }
  const version = protocolVersion(values);
  const bytes = await inputBytes(positionals, bool(values, 'raw'));
  if (bytes.length === 0) throw new UsageError('no bytes to decode');
  const indent = bool(values, 'compact') ? undefined : 2;
  const print = (packet: Packet) =>
    process.stdout.write(`${JSON.stringify(packetToJson(packet), null, indent)}\n`);

  // Frame by the Remaining Length, then decode each packet on its own, so the packets before a
  // bad one are printed and the error names the offset where the bad one starts.
  let current: ProtocolVersion = version;
  const scan = { next: 0 };
  for (let offset = 0; offset < bytes.length; ) {
    const length = scanVbi(bytes, offset + 1, bytes.length, scan);
    const end = length >= 0 ? scan.next + length : bytes.length;
    let packet: Packet;
    try {
      // A bad Remaining Length or a short packet: decode() of the rest reports it.
      packet = decode(bytes.subarray(offset, Math.min(end, bytes.length)), { protocolVersion: current });
    } catch (error) {
      if (isMqttError(error)) throw new CliError(describeCodecError(error, offset));
      throw error;
    }
    print(packet);
    if (packet.cmd === 'connect') current = packet.protocolVersion;
    offset = end;
  }
  return 0;
}

function parseJsonInput(text: string, fromStdin: boolean): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch (error) {
    if (!fromStdin) throw new UsageError(`the argument is not JSON: ${(error as Error).message}`);
  }
  // Not one JSON value: one per line.
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch (error) {
      throw new UsageError(`line ${i + 1} is not JSON: ${(error as Error).message}`);
    }
  });
}

export async function encodeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CODEC_OPTIONS);
  if (bool(values, 'help')) {
    process.stdout.write(`${ENCODE_HELP}\n`);
    return 0;
  }
  const version = protocolVersion(values);
  if (positionals.length !== 1) throw new UsageError('expected one JSON argument (or - for stdin)');
  const fromStdin = positionals[0] === '-';
  const text = fromStdin ? (await readStdin()).toString('utf8') : (positionals[0] as string);
  const items = parseJsonInput(text, fromStdin);
  const out: Uint8Array[] = [];
  items.forEach((item, i) => {
    let packet: PacketInput;
    try {
      packet = jsonToPacket(item);
    } catch (error) {
      if (error instanceof JsonPacketError) throw new UsageError(`packet ${i + 1}: ${error.message}`);
      throw error;
    }
    try {
      out.push(encode(packet, { protocolVersion: version }));
    } catch (error) {
      if (isMqttError(error)) throw new CliError(`packet ${i + 1}: ${describeCodecError(error)}`);
      throw error;
    }
  });
  if (bool(values, 'raw')) process.stdout.write(Buffer.concat(out));
  else process.stdout.write(out.map((b) => `${bytesToHex(b)}\n`).join(''));
  return 0;
}
