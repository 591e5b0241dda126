/**
 * `npm run generate`: reads schema/*.yaml and writes generated/*.ts and docs/reference/*.md.
 * Output is a pure function of the schema: no timestamps, stable order.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project } from 'ts-morph';
import { emitDecode } from './emit-decode.js';
import { emitDocs } from './emit-docs.js';
import { emitEncode } from './emit-encode.js';
import { emitIndex } from './emit-index.js';
import { emitPackets } from './emit-packets.js';
import { emitProperties } from './emit-properties.js';
import { emitReasonCodes } from './emit-reason-codes.js';
import { loadModel, SchemaError } from './model.js';
import { HEADER } from './names.js';
import { verifyCoverage } from './verify.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function main(): void {
  process.chdir(root);
  const model = loadModel(join(root, 'schema'));
  verifyCoverage(model);
  const outputs: [string, string, string][] = [
    ['generated/reason-codes.ts', 'generator/emit-reason-codes.ts', emitReasonCodes(model)],
    ['generated/properties.ts', 'generator/emit-properties.ts', emitProperties(model)],
    ['generated/packets.ts', 'generator/emit-packets.ts', emitPackets(model)],
    ['generated/encode.ts', 'generator/emit-encode.ts', emitEncode(model)],
    ['generated/decode.ts', 'generator/emit-decode.ts', emitDecode(model)],
    ['generated/index.ts', 'generator/emit-index.ts', emitIndex()],
  ];
  const project = new Project({ skipAddingFilesFromTsConfig: true });
  mkdirSync(join(root, 'generated'), { recursive: true });
  for (const [path, source, text] of outputs) {
    const file = project.createSourceFile(join(root, path), `${HEADER(source, model.files)}\n${text}\n`, {
      overwrite: true,
    });
    file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  }
  project.saveSync();
  // The reference documents: markdown from the same model, so they cannot disagree with the codec.
  const docs = emitDocs(model);
  mkdirSync(join(root, 'docs', 'reference'), { recursive: true });
  for (const [path, text] of docs) writeFileSync(join(root, path), text.endsWith('\n') ? text : `${text}\n`);
  console.log(
    `generated ${outputs.length + docs.length} files from ${model.packets.length} packets, ${model.properties.length} properties, ${model.reasonCodes.length} reason codes, ${model.examples.length} examples`,
  );
}

try {
  main();
} catch (err) {
  if (err instanceof SchemaError) {
    console.error(`schema error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
