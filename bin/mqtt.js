#!/usr/bin/env node
// The `mqtt` (and `mqttforge`) command. In a development checkout (the TypeScript sources are
// there) it runs them through tsx, so it never runs a stale build; an installed package ships
// only dist/ and runs that.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../runtime/cli/main.ts', import.meta.url));
let entry;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = pathToFileURL(source).href;
} else {
  entry = new URL('../dist/runtime/cli/main.js', import.meta.url).href;
}
const { cli } = await import(entry);
await cli(process.argv.slice(2));
