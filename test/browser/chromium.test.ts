/**
 * The browser build in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * a page served from 127.0.0.1 loads dist/mqttforge.min.js with <script> and talks to
 * Mosquitto's WebSocket listener. The bundle is built first. A screenshot of the example page
 * goes to test-artifacts/browser-example.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { connect } from '../../runtime/index.js';
import { buildBrowser, packageRoot } from '../../scripts/build-browser.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = packageRoot();
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

/** Serves examples/ and dist/ from the package root, nothing else. */
function staticServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path);
    if (!/^\/(examples|dist)\//.test(path) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        server,
        origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
      });
    }),
  );
}

describe('browser bundle in Chromium', {
  skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`,
  timeout: 60_000,
}, () => {
  let broker: Mosquitto;
  let http: { server: Server; origin: string };
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  before(async () => {
    await buildBrowser();
    broker = await startMosquitto({ websockets: true });
    http = await staticServer();
    profile = mkdtempSync(join(tmpdir(), 'mqttforge-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    // tsx compiles this file with esbuild's keepNames, so functions passed to page.evaluate call
    // its `__name` helper, which the page does not have.
    await context.addInitScript('window.__name = (fn) => fn;');
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await context?.close();
    await new Promise((resolve) => http?.server.close(resolve));
    await broker?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test('the example page connects, subscribes and shows its own message', async () => {
    const brokerUrl = `ws://127.0.0.1:${broker.wsPort}/mqtt`;
    await page.goto(`${http.origin}/examples/browser/index.html?broker=${encodeURIComponent(brokerUrl)}`);
    await page.waitForFunction(() =>
      document.getElementById('log')?.textContent?.includes('Hello from the browser'),
    );
    assert.equal(await page.textContent('#status'), 'connected');
    mkdirSync(join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-artifacts', 'browser-example.png') });
    assert.equal(
      await page.evaluate(() => typeof (window as unknown as { Buffer?: unknown }).Buffer),
      'undefined',
    );
    await page.evaluate(() => (window as unknown as { exampleClient: { end(): void } }).exampleClient.end());
    assert.deepEqual(pageErrors, []);
  });

  test('publishes at QoS 0, 1 and 2 and receives each, as Uint8Array', async () => {
    const url = `ws://127.0.0.1:${broker.wsPort}`;
    const received = await page.evaluate(async (url) => {
      const mqtt = (window as unknown as { mqtt: typeof import('../../runtime/browser.js') }).mqtt;
      for (const protocolVersion of [4, 5] as const) {
        const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 });
        await client.subscribeAsync(`browser/${protocolVersion}/#`, { qos: 2 });
        const got: string[] = [];
        const all = new Promise<void>((resolve) =>
          client.on('message', (topic, payload) => {
            got.push(`${topic}=${new TextDecoder().decode(payload)}:${payload.constructor.name}`);
            if (got.length === 3) resolve();
          }),
        );
        for (const qos of [0, 1, 2] as const)
          await client.publishAsync(`browser/${protocolVersion}/${qos}`, `q${qos}`, { qos });
        await all;
        await client.endAsync();
        (window as unknown as { results?: string[] }).results = [
          ...((window as unknown as { results?: string[] }).results ?? []),
          ...got.sort(),
        ];
      }
      return (window as unknown as { results: string[] }).results;
    }, url);
    assert.deepEqual(received, [
      'browser/4/0=q0:Uint8Array',
      'browser/4/1=q1:Uint8Array',
      'browser/4/2=q2:Uint8Array',
      'browser/5/0=q0:Uint8Array',
      'browser/5/1=q1:Uint8Array',
      'browser/5/2=q2:Uint8Array',
    ]);
  });

  test('reconnects after the broker drops the connection, and after the page closes the socket', async () => {
    const url = `ws://127.0.0.1:${broker.wsPort}/mqtt`;
    // A page-side client, with the WebSocket it uses kept where the test can reach it.
    await page.evaluate(async (url) => {
      const w = window as unknown as Record<string, unknown> & {
        mqtt: typeof import('../../runtime/browser.js');
      };
      const events: string[] = [];
      const messages: string[] = [];
      w.events = events;
      w.messages = messages;
      const client = w.mqtt.connect(url, {
        clientId: 'browser-reconnect',
        reconnectPeriod: 200,
        createWebsocket: (socketUrl: string, protocols: string[]) => {
          const socket = new WebSocket(socketUrl, protocols);
          w.socket = socket;
          return socket;
        },
      });
      w.client = client;
      for (const event of ['connect', 'close', 'offline', 'reconnect', 'end'] as const) {
        client.on(event, () => events.push(event));
      }
      client.on('error', (error: Error) => events.push(`error:${(error as { code?: string }).code}`));
      client.on('message', (topic: string, payload: Uint8Array) =>
        messages.push(`${topic}=${new TextDecoder().decode(payload)}`),
      );
      await new Promise((resolve) => client.once('connect', resolve));
      await client.subscribeAsync('browser/drop', { qos: 1 });
    }, url);
    const connects = () =>
      page.evaluate(
        () => (window as unknown as { events: string[] }).events.filter((e) => e === 'connect').length,
      );

    // Server side: the broker dies, stays away for a few reconnect periods, and comes back.
    await broker.kill9();
    await new Promise((resolve) => setTimeout(resolve, 700));
    await broker.restart();
    await page.waitForFunction(
      () => (window as unknown as { events: string[] }).events.filter((e) => e === 'connect').length >= 2,
    );

    // Page side: the socket is closed as a hidden page's may be.
    await page.evaluate(() => (window as unknown as { socket: WebSocket }).socket.close());
    await page.waitForFunction(
      () => (window as unknown as { events: string[] }).events.filter((e) => e === 'connect').length >= 3,
    );
    assert.equal(await connects(), 3);

    // Subscriptions came back each time (clean session: resubscribed); a Node client publishes.
    const publisher = connect(broker.url, { reconnectPeriod: 0 });
    await new Promise((resolve) => publisher.once('connect', resolve));
    await publisher.publishAsync('browser/drop', 'after both drops', { qos: 1 });
    await publisher.endAsync();
    await page.waitForFunction(() => (window as unknown as { messages: string[] }).messages.length > 0);
    await page.evaluate(() =>
      (window as unknown as { client: { endAsync(): Promise<void> } }).client.endAsync(),
    );

    const { events, messages } = await page.evaluate(() => ({
      events: (window as unknown as { events: string[] }).events,
      messages: (window as unknown as { messages: string[] }).messages,
    }));
    assert.deepEqual(messages, ['browser/drop=after both drops']);
    const lifecycle = events.filter((e) => e !== 'reconnect');
    const second = lifecycle.indexOf('connect', 1);
    // While the broker was down, attempts may fail: the browser's error event, then close.
    assert.deepEqual(lifecycle.slice(0, 3), ['connect', 'close', 'offline']);
    for (const e of lifecycle.slice(3, second))
      assert.ok(e === 'error:MQTT_ERR_WEBSOCKET' || e === 'close', e);
    // The socket the page closed: no error, one reconnect, then the end.
    assert.deepEqual(lifecycle.slice(second), ['connect', 'close', 'offline', 'connect', 'close', 'end']);
    assert.deepEqual(pageErrors, []);
  });
});
