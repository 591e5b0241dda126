/**
 * The README's examples run as written: each `js` block of the Quick start is executed against
 * a Mosquitto on a free port, with only the broker URL and the package path substituted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function blocks(section: string): string[] {
  const start = readme.indexOf(`## ${section}`);
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end);
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function run(code: string, broker: Mosquitto): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  const file = join(dir, 'example.mts');
  const source = code
    .replaceAll("'mqtt://localhost'", `'${broker.url}'`)
    .replaceAll("from 'mqttforge'", `from '${join(root, 'runtime/index.ts')}'`);
  writeFileSync(file, source);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: root, timeout: 20_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('README quick start', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.stop());

  test('has the callback and the promise examples', () => {
    assert.equal(blocks('Quick start').length, 2);
  });

  test('the callback example prints the message and exits', async () => {
    assert.equal((await run(blocks('Quick start')[0]!, broker)).trim(), 'Hello mqtt');
  });

  test('the promise example prints the message and exits', async () => {
    assert.equal((await run(blocks('Quick start')[1]!, broker)).trim(), 'presence Hello mqtt');
  });
});
