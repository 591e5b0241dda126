/**
 * Sizes and start-up cost, beside MQTT.js, measured in the same run:
 *
 * - the browser IIFE (dist/mqttforge.min.js, built now) vs MQTT.js's dist/mqtt.min.js, minified
 *   and minified+gzipped, and their ratio; budget 30 KB gzipped for ours;
 * - the codec alone, tree-shaken: an esbuild bundle importing only `decode` and `encode`;
 * - Node import time of mqttforge (the ESM bundle package.json exports) and of `mqtt`:
 *   the median over several child processes of the time `await import()` takes in each;
 *   budget +10 ms for ours, set where MQTT.js adds about 50, so also shown scaled.
 *
 *   npm run bench:bundle [-- --quick] [-- --check]      (or npm run bench -- bundle)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_IIFE, buildBrowser, packageRoot } from '../scripts/build-browser.js';

/** The conventions of bench/harness.ts: short runs for CI, and an exit status for budgets. */
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const check = process.argv.includes('--check') || process.env.BENCH_CHECK === '1';

const BUNDLE_BUDGET = 30 * 1024;
const IMPORT_BUDGET_MS = 10;
/** What MQTT.js's import added on the machine the import budget was set on (issue 6). */
const MQTTJS_REFERENCE_MS = 50;

const root = packageRoot();
const require = createRequire(join(root, 'package.json'));

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const gzip = (code: Uint8Array | string) => gzipSync(code, { level: 9 }).byteLength;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function codecAlone(): Promise<{ min: number; gz: number }> {
  const result = await build({
    absWorkingDir: root,
    stdin: {
      contents: "export { decode, encode } from './generated/index.ts';",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    supported: { 'class-field': true }, // as scripts/build-browser.ts
    define: { 'globalThis.Buffer': 'undefined' },
    legalComments: 'none',
    write: false,
  });
  const code = result.outputFiles[0]!.contents;
  return { min: code.byteLength, gz: gzip(code) };
}

/**
 * Milliseconds `await import(specifier)` takes in a fresh `node`, from the package root (so
 * `mqttforge` resolves through package.json `exports`); the median over `runs` processes, the
 * subjects alternating so that machine load hits all alike. Timed inside the child: what the
 * import adds to a start, without the noise of process start and exit.
 */
function importTimes(subjects: Record<string, string>, runs: number): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(subjects)) samples[name] = [];
  for (let i = 0; i <= runs; i++) {
    for (const [name, specifier] of Object.entries(subjects)) {
      const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(`${name}: node exited with ${run.status}: ${run.stderr}`);
      if (i > 0) samples[name]!.push(Number(run.stdout)); // the first round warms the file cache
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

/** A bare `node` start, wall clock, for scale. */
function bareStart(runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * tsc's per-module output (dist/runtime/index.js, which the CLI and the .d.ts use), compiled now
 * into .tmp/ so that a stale dist/ is never measured: for comparison with the bundle.
 */
function compiledNodeEntry(): string {
  const outDir = join(root, '.tmp', 'bench-bundle', 'dist');
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('tsc -p tsconfig.build.json failed');
  return pathToFileURL(join(outDir, 'runtime', 'index.js')).href;
}

/**
 * The Node entry as package.json exports it (`import` → dist/esm/runtime/index.js): esbuild's
 * ESM bundle with the codec split into a shared chunk, built as `npm run build:esm` does.
 */
async function exportedNodeEntry(): Promise<string> {
  const outdir = join(root, '.tmp', 'bench-bundle', 'esm');
  await build({
    absWorkingDir: root,
    entryPoints: ['runtime/index.ts', 'generated/index.ts'],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: ['node20'],
    external: ['ws', 'debug'],
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });
  return pathToFileURL(join(outdir, 'runtime', 'index.js')).href;
}

async function main(): Promise<void> {
  let failed = false;
  const verdict = (ok: boolean) => {
    if (!ok) failed = true;
    return ok ? 'within budget' : 'OVER BUDGET';
  };

  await buildBrowser();
  const ours = readFileSync(join(root, BROWSER_IIFE));
  const theirs = readFileSync(join(dirname(require.resolve('mqtt/package.json')), 'dist', 'mqtt.min.js'));
  const oursGz = gzip(ours);
  const theirsGz = gzip(theirs);
  console.log('browser bundle (minified IIFE)      min        min+gzip');
  console.log(
    `  mqttforge  ${BROWSER_IIFE.padEnd(24)}${kb(ours.byteLength).padStart(9)}  ${kb(oursGz).padStart(9)}`,
  );
  console.log(
    `  mqtt       dist/mqtt.min.js        ${kb(theirs.byteLength).padStart(9)}  ${kb(theirsGz).padStart(9)}`,
  );
  console.log(
    `  ratio mqttforge/mqtt: ${(oursGz / theirsGz).toFixed(2)} gzipped (${(theirsGz / oursGz).toFixed(1)}x smaller); ` +
      `budget ${kb(BUNDLE_BUDGET)}: ${verdict(oursGz <= BUNDLE_BUDGET)}`,
  );

  const codec = await codecAlone();
  console.log(`codec alone (decode + encode, tree-shaken): ${kb(codec.min)} min, ${kb(codec.gz)} min+gzip`);

  const runs = quick ? 5 : 15;
  const times = importTimes(
    { mqttforge: await exportedNodeEntry(), 'mqttforge-single-file': compiledNodeEntry(), mqtt: 'mqtt' },
    runs,
  );
  const oursMs = times.mqttforge!;
  const theirsMs = times.mqtt!;
  console.log(
    `Node import time (median of ${runs} processes, timed inside each; bare node start ${bareStart(runs).toFixed(0)} ms)`,
  );
  console.log(
    `  mqttforge  +${oursMs.toFixed(1)} ms  budget +${IMPORT_BUDGET_MS} ms: ${verdict(oursMs <= IMPORT_BUDGET_MS)}`,
  );
  console.log(`  mqtt       +${theirsMs.toFixed(1)} ms  (${(theirsMs / oursMs).toFixed(1)}x ours)`);
  // The budget was set where MQTT.js adds about 50 ms; on a slower machine, scale it alike.
  const scaled = (IMPORT_BUDGET_MS * theirsMs) / MQTTJS_REFERENCE_MS;
  console.log(
    `  budget scaled to this machine (MQTT.js +${MQTTJS_REFERENCE_MS} ms there, +${theirsMs.toFixed(0)} ms here): ` +
      `+${scaled.toFixed(1)} ms: ${oursMs <= scaled ? 'within budget' : 'over budget'}`,
  );
  console.log(
    `  mqttforge as tsc's separate modules (for comparison): +${times['mqttforge-single-file']!.toFixed(1)} ms`,
  );
  if (check && failed) process.exitCode = 1;
}

await main();
