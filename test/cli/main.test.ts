/** `mqtt` help, version and the exit codes of bad invocations and failed connections. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { killAll, run } from './support.js';

after(killAll);

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('mqtt', { concurrency: true }, () => {
  test('version prints the package.json version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const result = await run(['version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), `${pkg.version}\n`);
  });

  test('help lists the commands, help <command> shows its options', async () => {
    const all = await run(['help']);
    assert.equal(all.code, 0);
    for (const name of ['pub', 'sub', 'trace', 'decode', 'encode', 'bench']) {
      assert.match(all.stdout.toString(), new RegExp(`^  ${name} `, 'm'));
    }
    const pub = await run(['help', 'publish']);
    assert.equal(pub.code, 0);
    assert.match(pub.stdout.toString(), /-h, --hostname HOST/);
    assert.match(pub.stdout.toString(), /--user-property NAME:VALUE/);
  });

  test('--help after a command shows its help, as -h is the host name', async () => {
    const result = await run(['sub', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout.toString(), /^Usage: mqtt sub/);
  });

  test('an unknown flag exits 2 with one line and the usage on stderr', async () => {
    const result = await run(['pub', '-t', 'a', '--frobnicate']);
    assert.equal(result.code, 2);
    const [first, ...rest] = result.stderr.trimEnd().split('\n');
    assert.equal(first, "mqtt pub: unknown option '--frobnicate'");
    assert.match(rest.join('\n'), /^Usage: mqtt pub/);
    assert.equal(result.stdout.length, 0);
  });

  test('a missing topic, a flag without its value, a bad number, topic, URL or file each exit 2', async () => {
    const results = await Promise.all([
      run(['pub', '-m', 'x']),
      run(['sub', '-t']),
      run(['sub', '-t', 'a', '-q', '3']),
      run(['bench', 'nope']),
      run(['nope']),
      run([]),
      run(['pub', '-t', 'a/+', '-m', 'x']),
      run(['sub', '-t', 'a/#/b']),
      run(['pub', '-l', 'nonsense', '-t', 'a']),
      run(['pub', '-t', 'a', '-f', '/nonexistent/message']),
      run(['sub', '-t', 'a', '--no-clean']),
      run(['sub', '-t', 'a', '--nl']),
      run(['pub', '-t', 'a', '-m', 'b', '--content-type', 'text/plain']),
    ]);
    for (const r of results) assert.equal(r.code, 2, r.stderr);
    assert.match(results[0]!.stderr, /^mqtt pub: missing topic/);
    assert.match(results[1]!.stderr, /^mqtt sub: Option '-t, --topic <value>' argument missing/);
    assert.match(results[2]!.stderr, /^mqtt sub: --qos must be an integer from 0 to 2, got '3'/);
    assert.match(results[3]!.stderr, /^mqtt bench: unknown bench mode 'nope'/);
    assert.match(results[4]!.stderr, /^mqtt: unknown command 'nope'/);
    assert.match(results[5]!.stderr, /^mqtt: missing command/);
    assert.match(
      results[6]!.stderr,
      /^mqtt pub: --topic 'a\/\+': must not contain the wildcard '\+' \(MQTT 5\.0 §4\.7 \[MQTT-4\.7\.0-1\]\)/,
    );
    assert.match(
      results[7]!.stderr,
      /^mqtt sub: --topic 'a\/#\/b': must have '#' only as the last level, on its own/,
    );
    assert.match(results[8]!.stderr, /^mqtt pub: Missing protocol or invalid broker URL: nonsense/);
    assert.match(results[9]!.stderr, /^mqtt pub: cannot read --file \/nonexistent\/message: ENOENT/);
    assert.match(results[10]!.stderr, /^mqtt sub: --no-clean needs a client id/);
    assert.match(results[11]!.stderr, /^mqtt sub: --nl, --rap and --rh need --protocol-version 5/);
    assert.match(results[12]!.stderr, /^mqtt pub: MQTT 5 properties need --protocol-version 5/);
  });

  test('a refused TCP connection exits 1 and says ECONNREFUSED', async () => {
    const port = await closedPort();
    const results = await Promise.all([
      run(['pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'a', '-m', 'b']),
      run(['sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'a']),
    ]);
    for (const r of results) {
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)`),
      );
    }
  });

  test('an unknown host exits 1 and says the DNS lookup failed', async () => {
    const result = await run(['pub', '-h', 'no-such-host.invalid', '-t', 'a', '-m', 'b']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot resolve host 'no-such-host\.invalid' \(DNS lookup failed: (ENOTFOUND|EAI_AGAIN)\)/,
    );
  });
});
