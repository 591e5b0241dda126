import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run demo', () => {
  test('delivers every QoS on Aedes and on the MQTT 5 mini-broker, properties included', async () => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile('npm', ['run', '--silent', 'demo'], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout }),
      );
    });
    const received = stdout.split('\n').filter((l) => l.includes('received'));
    assert.equal(received.length, 6);
    for (const qos of [0, 1, 2]) {
      assert.ok(stdout.includes(`received  demo/qos${qos}  "hello at QoS ${qos}"  qos=${qos}`));
      assert.ok(stdout.includes(`correlationData=request-${qos}`));
    }
    assert.match(stdout, /userProperties=\{"unit":"celsius","source":\["demo","qos2"\]\}/);
    assert.match(stdout, /done\.\s*$/);
  });
});
