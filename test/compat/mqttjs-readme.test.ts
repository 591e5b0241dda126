/**
 * MQTT.js v5's README examples run on mqttforge with only the import and the broker address
 * changed (issue 3). Each file in `examples/` runs in its own process through tsx, against a
 * Mosquitto on free loopback ports, once on mqttforge and once on MQTT.js itself (npm `mqtt`, a
 * dev dependency), so every expected output below is what MQTT.js prints too.
 *
 * The files are of two kinds:
 *  - copied from node_modules/mqtt/README.md, verbatim: readme-example.cjs ("Example"),
 *    import-require.cjs, import-default.mjs, import-named.mjs ("Import styles"), typescript.mts
 *    ("Usage with TypeScript"), and the snippets transform-ws-url.txt, create-websocket.txt
 *    ("About Reconnection"), mqtt31-options.txt and timer-variant.txt (client options). The
 *    snippets are not whole programs; `wrap` below puts them into one without touching their text.
 *  - written for this test from facts the README states about options and methods, in the
 *    README's style (the README has no code for them): async-await, qos, clean-session, will,
 *    mqtt5-properties, reconnect-period, manual-connect, handle-message, websocket,
 *    keepalive, remove-outgoing, reconnect.
 *
 * Substitutions, and nothing else: `require("mqtt")` / `from "mqtt"` point at the library under
 * test; `mqtt://test.mosquitto.org`, `mqtt://localhost:1883`, `ws://localhost:8080` and the
 * `<wss url>` placeholder become the local broker. Two README snippets need more, listed at
 * their entry (`...,` placeholders, an undefined name).
 *
 * Not covered, and why:
 *  - the `mqtt sub` / `mqtt pub` shell commands: not JavaScript; test/cli covers our CLI.
 *  - the WeChat (`wxs://`) and Alipay (`alis://`) snippets: they need the mini-program runtimes
 *    (`wx`, `my` globals) and polyfill packages; test/transport covers those transports.
 *  - the browser bundle imports (`mqtt/dist/mqtt`, `mqtt/dist/mqtt.esm`): MQTT.js's own file
 *    layout; our bundle has its own tests in test/browser.
 *  - `customHandleAcks: function(...) {/*some logic...*\/}`: its body is a placeholder that
 *    never calls `done`, so as written it stalls every QoS 1/2 message (on both libraries);
 *    test/mqtt5 covers customHandleAcks with real bodies.
 *  - the `socksProxy` option and `MQTTJS_SOCKS_PROXY` (prose, no snippet): test/transport/socks.test.ts
 *    covers them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = fileURLToPath(new URL('./examples/', import.meta.url));
const libraries = {
  mqttforge: join(root, 'runtime/index.ts'),
  'MQTT.js': require.resolve('mqtt'),
};
type Library = keyof typeof libraries;

interface Example {
  file: string;
  /** Makes a whole program of a snippet, or adds the lines that observe a bare example. */
  wrap?: (text: string) => string;
  /** The exact stdout, or a check of it. */
  expect: string | ((stdout: string, library: Library) => void);
}

/** Appended to the "Import styles" examples, which only create a client. */
const reportConnect = '\nclient.on("connect", () => { console.log("connected"); client.end(); });\n';

const cases: Example[] = [
  { file: 'readme-example.cjs', expect: 'Hello mqtt' },
  { file: 'import-require.cjs', wrap: (t) => t + reportConnect, expect: 'connected' },
  { file: 'import-default.mjs', wrap: (t) => t + reportConnect, expect: 'connected' },
  { file: 'import-named.mjs', wrap: (t) => t + reportConnect, expect: 'connected' },
  { file: 'typescript.mts', wrap: (t) => t + reportConnect, expect: 'connected' },
  {
    // Beyond the usual substitutions: `...,` (the README's "your other options") is dropped, and
    // `transformUrl` becomes `transformWsUrl`, the name the snippet defines one line up (the
    // README's typo: as written it is a ReferenceError on both libraries). The snippet uses
    // `this`, so it runs as a method of an object that has the three helpers it calls.
    file: 'transform-ws-url.txt',
    wrap: (t) => `import mqtt from "mqtt";
let signed = 0;
class App {
  get_current_auth_token() { return "t" + (signed + 1); }
  get_updated_clientId() { return "compat-signed-" + (signed + 1); }
  get_signed_cloud_url(url) { signed += 1; return url + "?signature=" + signed; }
  async run() {
${t.replace('...,', '').replace('transformWsUrl: transformUrl', 'transformWsUrl: transformWsUrl')}
    return connection;
  }
}
const connection = await new App().run();
console.log("first", connection.options.clientId, connection.options.username, signed);
connection.once("connect", () => {
  console.log("again", connection.options.clientId, connection.options.username, signed);
  connection.end();
  taker.end();
});
// Taking the session over drops the first connection; the client reconnects on its own.
const taker = mqtt.connect("ws://localhost:8080", { clientId: "compat-signed-1", reconnectPeriod: 0 });
`,
    expect: 'first compat-signed-1 token=t1 1\nagain compat-signed-2 token=t2 2',
  },
  {
    // `...,` is dropped as above. Node 20 has no global WebSocket, so `ws`'s class stands in.
    file: 'create-websocket.txt',
    wrap: (t) => `import mqtt from "mqtt";
import WebSocket from ${JSON.stringify(require.resolve('ws'))};
${t.replace('...,', '')}
console.log("connected", client.connected);
client.end();
`,
    expect: 'connected true',
  },
  {
    file: 'mqtt31-options.txt',
    wrap: (t) => `import mqtt from "mqtt";
const client = mqtt.connect("mqtt://localhost:1883", ${t});
client.on("connect", () => {
  console.log("connected", client.options.protocolId, client.options.protocolVersion);
  client.end();
});
`,
    expect: 'connected MQIsdp 3',
  },
  {
    file: 'timer-variant.txt',
    wrap: (t) => `import mqtt from "mqtt";
const client = mqtt.connect("mqtt://localhost:1883", {
  keepalive: 1,
${t}
});
client.on("packetreceive", (p) => { if (p.cmd === "pingresp") { console.log("pingresp"); client.end(); } });
`,
    expect: 'pingresp',
  },
  { file: 'async-await.mjs', expect: 'granted presence:1\npresence Hello mqtt\nconnected false' },
  {
    file: 'qos.mjs',
    expect: (out) => {
      const lines = out.split('\n');
      assert.deepEqual(lines.filter((l) => l.startsWith('published')).sort(), [
        'published qos 0',
        'published qos 1',
        'published qos 2',
      ]);
      assert.deepEqual(
        lines.filter((l) => l.startsWith('qos/')),
        ['qos/0 at 0 qos=0', 'qos/1 at 1 qos=1', 'qos/2 at 2 qos=2'],
      );
    },
  },
  { file: 'clean-session.mjs', expect: 'sessionPresent true\noffline/a sent while away' },
  { file: 'will.mjs', expect: 'device closed\nstatus/device gone qos=1 retain=false' },
  {
    file: 'mqtt5-properties.mjs',
    expect: [
      'serverProperties object',
      'v5/props {"on":true}',
      'contentType application/json',
      'responseTopic v5/reply',
      'correlationData req-1',
      'userProperties {"a":"1","b":["2","3"]}',
      'messageExpiryInterval true',
    ].join('\n'),
  },
  {
    file: 'reconnect-period.mjs',
    expect: (out, library) => {
      // 'taker closed' is printed by the taker's own close at exit; its place varies.
      const lines = out.split('\n').filter((l) => l !== 'taker closed');
      // MQTT.js emits 'offline' from its own 'close' listener, before the application's; ours
      // comes after 'close' (README, "Migrating from MQTT.js").
      const drop = library === 'MQTT.js' ? ['offline', 'close'] : ['close', 'offline'];
      assert.deepEqual(lines, ['connect 1', ...drop, 'reconnect', 'connect 2', 'close', 'end']);
    },
  },
  { file: 'manual-connect.mjs', expect: 'before connect() false\nconnected true' },
  {
    file: 'handle-message.mjs',
    expect: ['start m1', 'done m1', 'start m2', 'done m2', 'start m3', 'done m3'].join('\n'),
  },
  { file: 'websocket.mjs', expect: 'ws/presence Hello over ws' },
  { file: 'keepalive.mjs', expect: 'before 30\nconnected 30' },
  { file: 'remove-outgoing.mjs', expect: 'id is a number true\ncallback Message removed' },
  {
    file: 'reconnect.mjs',
    expect: 'connect 1 compat-reconnect-call\nconnect 2 compat-reconnect-call',
  },
];

function substitute(text: string, library: Library, broker: Mosquitto): string {
  const path = JSON.stringify(libraries[library]);
  return text
    .replace(/require\((["'])mqtt\1\)/g, `require(${path})`)
    .replace(/from (["'])mqtt\1/g, `from ${path}`)
    .replaceAll('mqtt://test.mosquitto.org', broker.url)
    .replaceAll('mqtt://localhost:1883', broker.url)
    .replaceAll('ws://localhost:8080', broker.wsUrl!)
    .replaceAll('<wss url>', JSON.stringify(broker.wsUrl));
}

function run(example: Example, library: Library, broker: Mosquitto): Promise<string> {
  const text = readFileSync(join(examples, example.file), 'utf8');
  const program = substitute(example.wrap ? example.wrap(text) : text, library, broker);
  const extension = extname(example.file) === '.txt' ? '.mjs' : extname(example.file);
  const dir = mkdtempSync(join(tmpdir(), 'mqttjs-readme-'));
  const file = join(dir, `example${extension}`);
  writeFileSync(file, program);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: root, timeout: 15_000 },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        if (error) reject(new Error(`${example.file} on ${library}: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(stdout.trim());
      },
    );
  });
}

// The two libraries run side by side, each on its own broker; one library's examples run one
// after another, as they share topics and client ids.
describe('MQTT.js README examples', { concurrency: 2 }, () => {
  for (const library of Object.keys(libraries) as Library[]) {
    describe(`on ${library}`, () => {
      let broker: Mosquitto;
      before(async () => {
        broker = await startMosquitto({ websockets: true });
      });
      after(() => broker?.stop());

      for (const example of cases) {
        test(`${example.file} runs and prints what MQTT.js documents`, async () => {
          const stdout = await run(example, library, broker);
          if (typeof example.expect === 'string') assert.equal(stdout, example.expect);
          else example.expect(stdout, library);
        });
      }
    });
  }
});
