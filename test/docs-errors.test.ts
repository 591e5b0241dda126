import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs/errors.md', () => {
  test('documents every error code the code base can raise', () => {
    const used = execFileSync('grep', ['-rhoE', 'MQTT_ERR_[A-Z0-9_]+', 'runtime', 'generated', 'schema'], {
      cwd: root,
      encoding: 'utf8',
    });
    const documented = readFileSync(`${root}/docs/errors.md`, 'utf8');
    const missing = [...new Set(used.split('\n').filter(Boolean))].filter(
      (code) => !documented.includes(`\`${code}\``),
    );
    assert.deepEqual(missing, []);
  });
});
