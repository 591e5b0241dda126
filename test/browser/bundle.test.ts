import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import {
  BROWSER_ESM,
  BROWSER_IIFE,
  browserProblems,
  buildBrowser,
  packageRoot,
} from '../../scripts/build-browser.js';

const root = packageRoot();

function metafile(imports: string[]): Metafile {
  return {
    inputs: {
      'runtime/x.ts': { bytes: 1, imports: imports.map((path) => ({ path, kind: 'import-statement' })) },
    },
    outputs: {},
  };
}

/** The names an entry module exports, as esbuild sees them. */
async function exportsOf(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    packages: 'external',
    write: false,
    metafile: true,
    outdir: 'out',
    logLevel: 'silent',
  });
  return Object.values(result.metafile.outputs)[0]?.exports.sort() ?? [];
}

describe('browser build', () => {
  before(async () => {
    await buildBrowser();
  });

  test('the IIFE defines the global mqtt with the API, in a context with only web globals', () => {
    const { TextEncoder, TextDecoder, URL, crypto, performance, queueMicrotask, setTimeout, clearTimeout } =
      globalThis;
    const context: Record<string, unknown> = {
      ...{ TextEncoder, TextDecoder, URL, crypto, performance, queueMicrotask, setTimeout, clearTimeout },
    };
    runInNewContext(readFileSync(join(root, BROWSER_IIFE), 'utf8'), context);
    const mqtt = context.mqtt as Record<string, unknown>;
    for (const name of ['connect', 'connectAsync', 'MqttClient', 'Store']) {
      assert.equal(typeof mqtt[name], 'function', name);
    }
    assert.equal(typeof (mqtt.default as Record<string, unknown>).connect, 'function');
  });

  test('the IIFE also sets module.exports, for mini-programs that require() a copied-in build', () => {
    const module = { exports: {} as Record<string, unknown> };
    const { TextEncoder, TextDecoder, URL, crypto, performance, queueMicrotask, setTimeout, clearTimeout } =
      globalThis;
    runInNewContext(readFileSync(join(root, BROWSER_IIFE), 'utf8'), {
      ...{ TextEncoder, TextDecoder, URL, crypto, performance, queueMicrotask, setTimeout, clearTimeout },
      module,
    });
    assert.equal(typeof module.exports.connect, 'function');
  });

  test('the ESM file and the IIFE hold no Node built-in, Buffer, process or require', () => {
    for (const file of [BROWSER_ESM, BROWSER_IIFE]) {
      const code = readFileSync(join(root, file), 'utf8');
      assert.deepEqual(browserProblems(code, metafile([])), [], file);
      assert.doesNotMatch(code, /readable-stream|node:/, file);
    }
  });

  test("the client's log calls are left out of the IIFE, and marked pure in the ESM file", () => {
    // The log is silent in browsers (scripts/stubs/log.ts); a bundler minifying the ESM file
    // drops calls marked pure, as esbuild did for the IIFE.
    const source = readFileSync(join(root, 'runtime', 'client.ts'), 'utf8');
    const formats = [...source.matchAll(/^\s*log\('([^']+)'/gm)].map((m) => m[1]!);
    assert.ok(formats.length > 0, 'runtime/client.ts has log calls to look for');
    const iife = readFileSync(join(root, BROWSER_IIFE), 'utf8');
    const esm = readFileSync(join(root, BROWSER_ESM), 'utf8');
    for (const format of formats) {
      assert.ok(!iife.includes(format), `the IIFE has log('${format}')`);
      assert.ok(
        esm.includes(`/* @__PURE__ */ log("${format}"`),
        `the ESM file has log('${format}') unmarked`,
      );
    }
  });

  test('the minified IIFE stays within 30 KB gzipped', () => {
    // Issue 6's budget; bench/bundle.ts prints the size beside MQTT.js's.
    const gzipped = gzipSync(readFileSync(join(root, BROWSER_IIFE)), { level: 9 }).byteLength;
    assert.ok(gzipped <= 30 * 1024, `${(gzipped / 1024).toFixed(1)} KB gzipped`);
  });

  test('private members of the bundled classes end in _, which the build shortens', async () => {
    // scripts/build-browser.ts mangles /_$/.
    const pending = new Set<string>();
    const result = await build({
      absWorkingDir: root,
      entryPoints: ['runtime/browser.ts'],
      bundle: true,
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const long: string[] = [];
    for (const input of Object.keys(result.metafile.inputs)) {
      if (pending.has(input) || !input.endsWith('.ts')) continue;
      const text = readFileSync(join(root, input), 'utf8');
      for (const [, name] of text.matchAll(
        /\b(?:private|protected)(?: (?:static|readonly|override|abstract))* ([A-Za-z]\w*)/g,
      )) {
        if (!name!.endsWith('_') && !pending.has(`${input} ${name}`)) long.push(`${input} ${name}`);
      }
      // esbuild leaves the field declaration of a parameter property unshortened.
      for (const [params] of text.matchAll(/constructor\([^{]*\{/g)) {
        if (/\b(?:private|protected)\b/.test(params!)) long.push(`${input}: a private parameter property`);
      }
    }
    assert.deepEqual(long, []);
  });

  test('the guard catches a Node import, a Buffer and a require()', () => {
    assert.equal(browserProblems('', metafile(['node:fs'])).length, 1);
    assert.equal(browserProblems('', metafile(['events'])).length, 1);
    assert.equal(browserProblems('const b = Buffer.from(x);', metafile([])).length, 1);
    assert.equal(browserProblems('require("ws")', metafile([])).length, 1);
    assert.deepEqual(browserProblems('const a = 1;', metafile(['./y.js'])), []);
  });

  test('the browser entry exports what the Node entry does, but for the Node-only ones', async () => {
    // Exports that need Node (the file system); a new one belongs here or in runtime/browser.ts.
    const nodeOnly = new Set(['FileStore', 'fileStores']);
    const node = (await exportsOf('runtime/index.ts')).filter((name) => !nodeOnly.has(name));
    assert.deepEqual(await exportsOf('runtime/browser.ts'), node);
  });

  test('package.json resolves the browser build under the browser condition', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const dot = manifest.exports['.'];
    assert.equal(dot.browser, `./${BROWSER_ESM}`);
    // Conditions match in key order: browser must come before import/require/default.
    const keys = Object.keys(dot);
    assert.ok(keys.indexOf('browser') < keys.indexOf('import'), keys.join(', '));
    assert.ok(manifest.sideEffects.includes(`./${BROWSER_ESM}`), 'the ESM build registers its transports');
  });
});
