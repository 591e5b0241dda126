/**
 * The `mqtt` command: dispatch, help, version and exit codes.
 *
 *   0  success
 *   1  a failure at run time: connection refused or lost, bad bytes, a refused subscription
 *   2  a bad invocation: unknown command or flag, missing argument, unreadable file
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, UsageError } from './args.js';
import { BENCH_HELP, BENCH_USAGE, bench } from './bench.js';
import {
  DECODE_HELP,
  DECODE_USAGE,
  decodeCommand,
  ENCODE_HELP,
  ENCODE_USAGE,
  encodeCommand,
} from './codec.js';
import { PUB_HELP, PUB_USAGE, pub } from './pub.js';
import { SUB_HELP, SUB_USAGE, sub, TRACE_HELP, TRACE_USAGE, trace } from './sub.js';

interface Command {
  run: (args: string[]) => Promise<number>;
  usage: string;
  help: string;
  summary: string;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  pub: { run: pub, usage: PUB_USAGE, help: PUB_HELP, summary: 'publish a message' },
  sub: { run: sub, usage: SUB_USAGE, help: SUB_HELP, summary: 'subscribe and print messages' },
  trace: {
    run: trace,
    usage: TRACE_USAGE,
    help: TRACE_HELP,
    summary: 'print every packet of a session, decoded',
  },
  decode: {
    run: decodeCommand,
    usage: DECODE_USAGE,
    help: DECODE_HELP,
    summary: 'decode packet bytes (hex) to JSON',
  },
  encode: {
    run: encodeCommand,
    usage: ENCODE_USAGE,
    help: ENCODE_HELP,
    summary: 'encode a JSON packet to bytes (hex)',
  },
  bench: { run: bench, usage: BENCH_USAGE, help: BENCH_HELP, summary: 'load generator: pub, sub, conn' },
};

/** MQTT.js's command names, and short forms. */
const ALIASES: Readonly<Record<string, string>> = { publish: 'pub', subscribe: 'sub' };

const MAIN_USAGE = 'Usage: mqtt <command> [options]';

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `${MAIN_USAGE}

Commands:
${rows.join('\n')}
  help     help about a command: mqtt help <command>
  version  print the version

'pub' and 'sub' are also 'publish' and 'subscribe'. Note that -h is the host name, as in
MQTT.js: help is --help (or -H).`;
}

/** package.json's version: the nearest package.json named mqttforge above this module. */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'mqttforge' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function lookup(name: string): [string, Command] | undefined {
  const key = ALIASES[name] ?? name;
  const command = COMMANDS[key];
  return command ? [key, command] : undefined;
}

function usageError(prefix: string, message: string, usage: string, helpName?: string): number {
  const more = helpName
    ? `Run 'mqtt help ${helpName}' for all options.`
    : "Run 'mqtt help' for the commands.";
  process.stderr.write(`${prefix}: ${message}\n${usage}\n${more}\n`);
  return 2;
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) return usageError('mqtt', 'missing command', MAIN_USAGE);
  if (name === '--help' || name === '-H') {
    process.stdout.write(`${mainHelp()}\n`);
    return 0;
  }
  if (name === 'version' || name === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    if (args.length === 0) {
      process.stdout.write(`${mainHelp()}\n`);
      return 0;
    }
    const found = lookup(args[0] as string);
    if (!found) return usageError('mqtt help', `unknown command '${args[0]}'`, MAIN_USAGE);
    process.stdout.write(`${found[1].help}\n`);
    return 0;
  }
  const found = lookup(name);
  if (!found) return usageError('mqtt', `unknown command '${name}'`, MAIN_USAGE);
  const [key, command] = found;
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) return usageError(`mqtt ${key}`, error.message, command.usage, key);
    if (error instanceof CliError) {
      process.stderr.write(`mqtt ${key}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`mqtt ${key}: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}

/** The launcher's entry: run, set the exit code, and make sure nothing keeps the process alive. */
export async function cli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const code = await main(argv);
  process.exitCode = code;
  // Sockets and timers should all be closed by now; if one is not, exit anyway a moment later.
  setTimeout(() => process.exit(code), 1000).unref();
}
