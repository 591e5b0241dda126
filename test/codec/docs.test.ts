/** docs/reference/*.md are generated from the schema: the checked-in files must match it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { emitDocs } from '../../generator/emit-docs.js';
import { model, schemaDir } from '../helpers/examples.js';

describe('docs/reference', () => {
  for (const [path, text] of emitDocs(model())) {
    test(`${path} matches the schema (run \`npm run generate\` if not)`, () => {
      const onDisk = readFileSync(join(schemaDir, '..', path), 'utf8');
      assert.equal(onDisk, text.endsWith('\n') ? text : `${text}\n`);
    });
  }

  test('names every packet, property and reason code of the schema', () => {
    const docs = Object.fromEntries(emitDocs(model()));
    for (const p of model().packets)
      assert.ok(docs['docs/reference/packets.md']!.includes(`## ${p.name} (`), p.name);
    for (const p of model().properties)
      assert.ok(docs['docs/reference/properties.md']!.includes(`| ${p.name} |`), p.name);
    for (const r of model().reasonCodes)
      assert.ok(docs['docs/reference/reason-codes.md']!.includes(`| ${r.name} |`), r.name);
  });
});
