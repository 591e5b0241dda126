#!/usr/bin/env node
// The `mqtt` (and `mqttforge`) command. Runs the built CLI from dist/ when there is one, else the
// TypeScript sources through tsx (a development checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/runtime/cli/main.js', import.meta.url));
let entry;
if (existsSync(built)) {
  entry = pathToFileURL(built).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../runtime/cli/main.ts', import.meta.url).href;
}
const { cli } = await import(entry);
await cli(process.argv.slice(2));
