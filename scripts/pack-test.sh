#!/usr/bin/env bash
# Builds the package, packs it, and installs the tarball into an empty project, where a strict
# TypeScript file and a CommonJS file import it and run: what a user gets from `npm install`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm run build >/dev/null
# The public API has no `any`: look for it in the declarations (comments and the CLI's help text aside).
if grep -rnwE 'any' dist/runtime dist/generated --include='*.d.ts' --exclude-dir=cli | grep -vE '^[^:]+:[0-9]+:\s*(\*|//|/\*)'; then
  echo 'the public declarations above use `any`' >&2
  exit 1
fi
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"
listing=$(tar -tzf "$work/$tarball")
grep -q 'package/dist/runtime/index.d.ts' <<<"$listing"
if grep -Eq 'package/(test|bench|generator|runtime)/' <<<"$listing"; then
  echo 'the tarball contains sources or tests it should not' >&2
  exit 1
fi

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline "./$tarball" >/dev/null
cat >tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "noEmit": true, "skipLibCheck": false, "types": [] } }
JSON
cat >app.mts <<'TS'
import mqtt, { connect, type MqttClient } from 'mqttforge';
import { decode, encode, type Packet } from 'mqttforge/codec';

const bytes: Uint8Array = encode({ cmd: 'publish', topic: 'a/b', payload: 'hi', qos: 1, messageId: 7, dup: false, retain: false }, { protocolVersion: 5 });
const packet: Packet = decode(bytes, { protocolVersion: 5 });
if (packet.cmd !== 'publish' || packet.topic !== 'a/b' || packet.messageId !== 7) throw new Error('codec round trip failed');
const client: MqttClient = connect('mqtt://127.0.0.1:1', { manualConnect: true, reconnectPeriod: 0 });
client.on('message', (topic, payload, p) => {
  const t: string = topic;
  const n: number = payload.length;
  const q: 0 | 1 | 2 = p.qos;
  void [t, n, q];
});
if (mqtt.connect !== connect) throw new Error('default export differs from named export');
client.end(true, () => console.log('esm ok'));
TS
# Type-check with the project's compiler against the installed package (its .d.ts), then run it.
node "$root/node_modules/typescript/bin/tsc" -p .
node app.mts 2>/dev/null || (cp app.mts app.mjs && sed -i 's/, type [A-Za-z]*//g; s/: [A-Za-z0-9| ]*\( =\)/\1/g; s/const \([a-z]*\): [A-Za-z0-9| ]* =/const \1 =/g' app.mjs && node app.mjs)
cat >app.cjs <<'JS'
const mqtt = require('mqttforge');
const { encode, decode } = require('mqttforge/codec');
const back = decode(encode({ cmd: 'pingreq' }));
if (back.cmd !== 'pingreq') throw new Error('cjs codec failed');
const client = mqtt.connect({ host: '127.0.0.1', port: 1, manualConnect: true });
client.end(true, () => console.log('cjs ok'));
JS
node app.cjs
npx --no-install mqtt version
echo 'pack test ok'
