/**
 * Builds the browser bundles from runtime/browser.ts with esbuild:
 *
 *   dist/mqttforge.esm.js   ES module, for bundlers (the `browser` condition of package.json)
 *   dist/mqttforge.min.js   minified IIFE for <script>, global `mqtt`; also a CommonJS module
 *
 * Fails when a Node built-in or a Node global reaches the bundle: a `node:` or bare built-in
 * import, `Buffer`, `process`, `require(`. The codec reaches `Buffer` only through
 * `globalThis.Buffer` (runtime/wire/alloc.ts), defined away here so the Uint8Array branch is
 * all that remains. runtime/log.ts is replaced by scripts/stubs/log.ts, which is silent, and the
 * client's `log(...)` statements are marked pure, so the minified build drops them.
 *
 *   npm run build:browser
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';

/** The package root: the nearest directory up from here whose package.json is mqttforge's (this
 * file also runs compiled, from .tmp/bench-build/scripts/). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'mqttforge') return dir;
    if (dirname(dir) === dir) throw new Error(`no mqttforge package.json above ${from}`);
  }
}

const root = packageRoot();

export const BROWSER_ESM = 'dist/mqttforge.esm.js';
export const BROWSER_IIFE = 'dist/mqttforge.min.js';

const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Runtime modules and what the browser bundle uses instead (paths from the package root). */
const BROWSER_SUBSTITUTES: Readonly<Record<string, string>> = {
  'runtime/log.ts': 'scripts/stubs/log.ts',
  'runtime/transport/tls-option-keys.ts': 'scripts/stubs/tls-option-keys.ts',
};

/** Resolves imports of the modules in BROWSER_SUBSTITUTES to their substitutes. */
const substitutes: Plugin = {
  name: 'browser-substitutes',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      const path = join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const substitute = BROWSER_SUBSTITUTES[relative(root, path).split(sep).join('/')];
      return substitute === undefined ? undefined : { path: join(root, substitute) };
    });
    // The log is silent here (the stub): a `log(...)` statement in runtime/ is marked pure, so
    // the call and its format string go (about 0.1 KB). Only a call whose value is unused is
    // dropped, and only `log` made by createLog is named so in runtime/.
    b.onLoad({ filter: /[\\/]runtime[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return { contents: source.replace(/^(\s*)log\(/gm, '$1/* @__PURE__ */ log('), loader: 'ts' };
    });
  },
};

const common: BuildOptions = {
  absWorkingDir: root,
  entryPoints: ['runtime/browser.ts'],
  bundle: true,
  platform: 'browser',
  // Browsers with WebSocket binaryType and ES2020 syntax; newer syntax is lowered, but for public
  // instance class fields (Chrome 72, Firefox 69, Safari 14), whose lowering to __publicField
  // calls costs 0.25 KB gzipped. That moves the oldest Safari from 13.1 to 14; MQTT.js's
  // dist/mqtt.min.js ships class fields, private ones included.
  target: ['es2020'],
  supported: { 'class-field': true },
  plugins: [substitutes],
  // Members whose names end in `_` are private to their class (the convention of runtime/, which
  // test/browser/bundle.test.ts checks): both builds shorten them, 0.3 KB gzipped.
  mangleProps: /_$/,
  define: { 'globalThis.Buffer': 'undefined' },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

/** Problems that keep a bundle from being a browser build; empty when it is clean. */
export function browserProblems(code: string, metafile: Metafile): string[] {
  const problems: string[] = [];
  for (const [input, info] of Object.entries(metafile.inputs)) {
    for (const imported of info.imports) {
      if (builtins.has(imported.path) || imported.path.startsWith('node:')) {
        problems.push(`${input} imports the Node built-in "${imported.path}"`);
      }
    }
  }
  for (const [pattern, what] of [
    [/\bBuffer\b/, 'a Buffer reference'],
    [/\bprocess\.(env|nextTick|versions)\b/, 'a process reference'],
    [/\brequire\(/, 'a require() call'],
  ] as const) {
    const match = pattern.exec(code);
    if (match) problems.push(`${what}: …${code.slice(Math.max(0, match.index - 60), match.index + 40)}…`);
  }
  return problems;
}

export async function buildBrowser(): Promise<{ esm: string; iife: string }> {
  const results = await Promise.all([
    build({ ...common, format: 'esm', outfile: BROWSER_ESM, write: false }),
    build({
      ...common,
      format: 'iife',
      globalName: 'mqtt',
      minify: true,
      outfile: BROWSER_IIFE,
      write: false,
      // As MQTT.js's mqtt.min.js, the file also works as a CommonJS module, which is how
      // mini-programs load a copied-in build: const mqtt = require('./mqttforge.min.js').
      footer: { js: 'typeof module=="object"&&module&&module.exports&&(module.exports=mqtt);' },
    }),
  ]);
  const problems: string[] = [];
  for (const result of results) {
    const file = result.outputFiles[0];
    if (!file) throw new Error('esbuild produced no output');
    for (const problem of browserProblems(file.text, result.metafile!))
      problems.push(`${file.path}: ${problem}`);
  }
  if (problems.length > 0) {
    throw new Error(`the browser bundle is not browser-only:\n  ${problems.join('\n  ')}`);
  }
  await mkdir(join(root, 'dist'), { recursive: true });
  for (const result of results) {
    const file = result.outputFiles[0]!;
    await writeFile(file.path, file.contents);
  }
  return { esm: join(root, BROWSER_ESM), iife: join(root, BROWSER_IIFE) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildBrowser().then(
    (out) => console.log(`built ${out.esm} and ${out.iife}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
