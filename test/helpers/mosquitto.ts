/**
 * Runs a real Mosquitto broker for a test file, on free loopback ports, with its config, log and
 * persistence in a temporary directory. Never uses port 1883, so a system broker does not matter.
 *
 *   const broker = await startMosquitto({ websockets: true });
 *   after(() => broker.stop());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export const MOSQUITTO_PATH = process.env.MOSQUITTO_PATH ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Also listen for MQTT over WebSocket on a second port. */
  websockets?: boolean;
  /** Keep sessions and retained messages across `restart()` (saved on a graceful stop). */
  persistence?: boolean;
  /** Appended to the generated config file. */
  extraConfig?: string;
  /**
   * What the broker logs (mosquitto's `log_type`; default `['all']`, every packet, for tests to
   * read in `logTail()`). Logging every packet costs the broker more than routing it: benchmarks
   * pass `['error', 'warning']`.
   */
  logTypes?: string[];
  /** How long to wait for the port to accept connections (default 5000 ms). */
  startTimeoutMs?: number;
}

export interface Mosquitto {
  port: number;
  wsPort?: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<wsPort>` when websockets is on. */
  wsUrl?: string;
  dir: string;
  /** The last lines of the broker's log. */
  logTail(lines?: number): string;
  /** SIGTERM, wait for exit, remove the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL (no persistence save); `restart()` brings it back on the same ports. */
  kill9(): Promise<void>;
  /** Stops the broker if it runs, then starts it again on the same ports and config. */
  restart(): Promise<void>;
}

export function isMosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_PATH);
}

function configFor(dir: string, port: number, wsPort: number | undefined, options: MosquittoOptions): string {
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    // As root, mosquitto would switch to the "mosquitto" user, who cannot write to our temp dir.
    `user ${userInfo().username}`,
    `listener ${port} 127.0.0.1`,
  ];
  if (wsPort !== undefined) lines.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets');
  lines.push(`log_dest file ${join(dir, 'mosquitto.log')}`, 'log_timestamp_format %H:%M:%S');
  for (const type of options.logTypes ?? ['all']) lines.push(`log_type ${type}`);
  if (options.persistence)
    lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 0');
  else lines.push('persistence false');
  if (options.extraConfig) lines.push(options.extraConfig);
  return `${lines.join('\n')}\n`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  if (!isMosquittoAvailable()) {
    throw new Error(`mosquitto not found at ${MOSQUITTO_PATH} (install it: apt-get install mosquitto)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mqttforge-mosquitto-'));
  const port = await freePort();
  const wsPort = options.websockets ? await freePort() : undefined;
  const confPath = join(dir, 'mosquitto.conf');
  const logPath = join(dir, 'mosquitto.log');
  writeFileSync(confPath, configFor(dir, port, wsPort, options));
  const timeoutMs = options.startTimeoutMs ?? 5000;
  // Listeners added through extraConfig are waited for too, so a test never races their opening.
  const extraPorts = [...(options.extraConfig ?? '').matchAll(/^listener\s+(\d+)/gm)].map((m) =>
    Number(m[1]),
  );

  let child: ChildProcess | undefined;
  let stderr = '';
  let stopped = false;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const logTail = (lines = 20): string => {
    const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    return `${log}${stderr}`.trimEnd().split('\n').slice(-lines).join('\n');
  };

  async function launch(): Promise<void> {
    stderr = '';
    const current = spawn(MOSQUITTO_PATH, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = current;
    current.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ready = [port, wsPort, ...extraPorts].filter((p): p is number => p !== undefined);
      if ((await Promise.all(ready.map(canConnect))).every(Boolean)) return;
      if (current.exitCode !== null || current.signalCode !== null || Date.now() > deadline) {
        const why =
          current.exitCode !== null ? `exited with code ${current.exitCode}` : 'did not accept connections';
        current.kill('SIGKILL');
        throw new Error(`mosquitto on port ${port} ${why} within ${timeoutMs} ms. Log:\n${logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    if (!child) return;
    child.kill(signal);
    if (!(await waitForExit(child, 3000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 3000);
    }
  }

  try {
    await launch();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    port,
    wsPort,
    url: `mqtt://127.0.0.1:${port}`,
    wsUrl: wsPort === undefined ? undefined : `ws://127.0.0.1:${wsPort}`,
    dir,
    logTail,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM');
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
    async kill9() {
      await terminate('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('mosquitto was stopped; start a new one');
      await terminate('SIGTERM');
      await launch();
    },
  };
}
