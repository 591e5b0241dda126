/**
 * Runs the benchmarks in bench/, each in its own node process, against JavaScript compiled
 * by tsc: the code the package ships. Not through tsx: its esbuild transform keeps function
 * names by wrapping each function expression in a `__name(fn, "…")` call, an
 * Object.defineProperty every time a closure is created. While the encoders made a closure per
 * field, that made the 3.1.1 PUBLISH encode 4.7x slower under tsx than compiled.
 *
 * Every .ts file directly in bench/ is a benchmark except those in HELPERS; put other shared
 * code in a subfolder.
 *
 *   npm run bench [-- [--quick] [--check] [codec …]]
 *
 * With names, only those bench files run. --quick and --check are passed on (bench/harness.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files in bench/ that are not benchmarks. */
const HELPERS = new Set(['index.ts', 'harness.ts']);

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, '.tmp', 'bench-build');

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const wanted = args.filter((a) => !a.startsWith('--'));

const all = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}; there are: ${all.join(', ')}`);
  process.exit(2);
}
const benches = wanted.length > 0 ? wanted : all;

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
// Compile bench/ and what it imports, with the project's options: errors elsewhere (a test
// being written) do not stop a benchmark.
const config = join(outDir, 'tsconfig.json');
writeFileSync(
  config,
  JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    include: [join(root, 'bench')],
    compilerOptions: { rootDir: root, outDir, declaration: false, noEmit: false },
  }),
);
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
if (compiled.status !== 0) {
  // tsc still emits on type errors; a benchmark of that output is worth having.
  console.error('bench: tsc reported errors (above); benchmarking what it emitted');
}

let failed = false;
for (const name of benches) {
  const file = join(outDir, 'bench', `${name}.js`);
  if (!existsSync(file)) {
    console.error(`bench: tsc did not emit ${file}`);
    failed = true;
    continue;
  }
  const run = spawnSync(process.execPath, [file, ...flags], { stdio: 'inherit' });
  if (run.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
