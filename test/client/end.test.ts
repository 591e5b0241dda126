/** end(): callbacks always called, pending operations settled, the process left free to exit. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../../runtime/index.js';
import { freePort } from '../helpers/free-port.js';
import { isMosquittoAvailable, type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { collectErrors, once, sleep, startScriptedBroker, waitFor } from './support.js';

const child = fileURLToPath(new URL('./fixtures/end-child.ts', import.meta.url));

function runChild(url: string, mode: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, url, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child (${mode}) still running after 10 s; stdout: ${stdout}`));
    }, 10_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, ms: Date.now() - started });
    });
  });
}

describe('end', { skip: !isMosquittoAvailable() }, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.stop());

  test('calls back even when the connection is already closed, every time', async () => {
    const client = connect(broker.url, { reconnectPeriod: 0 });
    await once(client, 'connect');
    await new Promise<void>((resolve) => client.end(() => resolve()));
    assert.equal(client.disconnected, true);
    await new Promise<void>((resolve) => client.end(() => resolve()));
    await client.endAsync();
    await client.endAsync(true);
  });

  test('calls back for a client that never connected (manualConnect)', async () => {
    const client = connect(broker.url, { manualConnect: true });
    let ended = 0;
    client.on('end', () => ended++);
    await client.endAsync();
    assert.equal(ended, 1);
  });

  test('stops reconnecting when called between attempts', async () => {
    const port = await freePort();
    const client = connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 30 });
    collectErrors(client);
    let reconnects = 0;
    client.on('reconnect', () => reconnects++);
    await waitFor(() => reconnects >= 2);
    await client.endAsync();
    const seen = reconnects;
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(reconnects, seen);
    assert.equal(client.reconnecting, false);
  });

  test('waits for in-flight messages unless forced', async () => {
    const fake = await startScriptedBroker(4);
    after(() => fake.stop());
    const client = connect(fake.url, { reconnectPeriod: 0 });
    const conn = await fake.accept();
    await once(client, 'connect');
    let acked: Error | null | undefined;
    client.publish('t', 'x', { qos: 1 }, (e) => {
      acked = e ?? null;
    });
    const ended = client.endAsync();
    const pub = (await fake.next(conn)) as { cmd: string; messageId: number };
    assert.equal(pub.cmd, 'publish');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(conn.packets.length, 2, 'no DISCONNECT while the PUBLISH is unacknowledged');
    await fake.send(conn, { cmd: 'puback', messageId: pub.messageId });
    await ended;
    assert.equal(acked, null);
    assert.equal((await fake.next(conn)).cmd, 'disconnect');
  });

  test('end(true) fails every pending operation with MQTT_ERR_CLIENT_ENDED', async () => {
    const fake = await startScriptedBroker(4);
    after(() => fake.stop());
    const client = connect(fake.url, { reconnectPeriod: 0 });
    await fake.accept();
    await once(client, 'connect');
    const pending = [
      client.publishAsync('t', '1', { qos: 1 }),
      client.publishAsync('t', '2', { qos: 2 }),
      client.subscribeAsync('t'),
      client.unsubscribeAsync('t'),
    ];
    await client.endAsync(true);
    for (const p of pending) await assert.rejects(p, { code: 'MQTT_ERR_CLIENT_ENDED' });
    await assert.rejects(client.publishAsync('t', '3', { qos: 1 }), { code: 'MQTT_ERR_CLIENT_ENDED' });
  });

  test('fails a subscribe and an unsubscribe made after the end with MQTT_ERR_CLIENT_ENDED, as a publish', async () => {
    const client = connect(broker.url, { reconnectPeriod: 0 });
    await once(client, 'connect');
    await client.endAsync();
    const outcomes: (string | undefined)[] = [];
    const settle = (error?: Error | null) => outcomes.push((error as { code?: string } | null)?.code ?? 'ok');
    client.publish('t', 'x', { qos: 1 }, settle);
    client.subscribe('t', settle);
    client.unsubscribe('t', settle);
    await waitFor(() => outcomes.length === 3, 500, 'every callback').catch(() => {});
    assert.deepEqual(outcomes, Array(3).fill('MQTT_ERR_CLIENT_ENDED'));
  });

  test('rejects a publish made offline when the client ends', async () => {
    const port = await freePort();
    const client = connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 50 });
    collectErrors(client);
    const pending = client.publishAsync('t', 'x', { qos: 1 });
    await client.endAsync();
    await assert.rejects(pending, { code: 'MQTT_ERR_CLIENT_ENDED' });
  });

  for (const mode of ['connected', 'reconnecting', 'end-twice']) {
    test(`lets the process exit after end() (${mode})`, async () => {
      const url = mode === 'reconnecting' ? `mqtt://127.0.0.1:${await freePort()}` : broker.url;
      const result = await runChild(url, mode);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, 'ended\n');
    });
  }
});

describe('end() in an event handler', () => {
  for (const event of ['offline', 'close', 'error', 'reconnect'] as const) {
    test(`ends for good when a handler of '${event}' calls it: no reconnect by itself`, async (t) => {
      const broker = await startScriptedBroker(4);
      t.after(() => broker.stop());
      const client = connect(broker.url, { reconnectPeriod: 20 });
      t.after(() => client.end(true));
      collectErrors(client);
      const conn = await broker.accept();
      await once(client, 'connect');
      let calledBack = 0;
      client.once(event, () => client.end(() => calledBack++));
      const ended = once(client, 'end');
      // A PUBACK for no flow of ours is a protocol error: `error`, then the connection closes.
      if (event === 'error') await broker.send(conn, { cmd: 'puback', messageId: 7 });
      else conn.drop();
      await ended;
      let reconnects = 0;
      client.on('reconnect', () => reconnects++);
      await sleep(150); // several reconnect periods
      assert.equal(calledBack, 1);
      assert.equal(reconnects, 0, 'no reconnect after end()');
      assert.equal(broker.connections.length, 1, 'no new connection after end()');
      assert.equal(client.reconnecting, false);
      assert.equal(client.disconnected, true);
    });
  }
});
