/**
 * `mqtt pub`, `mqtt sub`, `mqtt trace` and `mqtt bench` through the real launcher against
 * Mosquitto: one open broker, and one that wants a password and also listens with TLS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSelfSignedCert } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { killAll, lines, run, start, subscribed, uniqueTopic } from './support.js';

let open: Mosquitto;
let secure: Mosquitto;
let tlsPort: number;
let dir: string;
let caFile: string;

/** The flags that reach the open broker. */
const at = () => ['-h', '127.0.0.1', '-p', String(open.port)];
const json = (line: string) => JSON.parse(line) as Record<string, unknown>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mqttforge-cli-'));
  const cert = makeSelfSignedCert();
  caFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(caFile, cert.cert);
  writeFileSync(keyFile, cert.key);
  cert.cleanup();
  const passwords = join(dir, 'passwords');
  execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'alice', 's3cret'], { stdio: 'ignore' });
  tlsPort = await freePort();
  [open, secure] = await Promise.all([
    startMosquitto(),
    startMosquitto({
      extraConfig: [
        'allow_anonymous false',
        `password_file ${passwords}`,
        `listener ${tlsPort} 127.0.0.1`,
        `certfile ${caFile}`,
        `keyfile ${keyFile}`,
      ].join('\n'),
    }),
  ]);
});

after(async () => {
  killAll();
  await Promise.all([open?.stop(), secure?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const sub = (...args: string[]) => ['sub', ...at(), ...args];
const pub = (...args: string[]) => ['pub', ...at(), ...args];

// A few at a time: dozens of launchers starting at once on a small machine only wait on each other.
describe('mqtt pub and sub against Mosquitto', { concurrency: 4 }, () => {
  test('delivers QoS 0, 1 and 2 messages at the QoS they were published with', async () => {
    const topic = uniqueTopic('qos');
    const listener = await subscribed(sub('-t', topic, '-q', '2', '-n', '3', '--format', 'json'));
    const pubs = await Promise.all(
      ['0', '1', '2'].map((q) => run(pub('-t', topic, '-m', `at qos ${q}`, '-q', q))),
    );
    for (const p of pubs) assert.equal(p.code, 0, p.stderr);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    const got = lines(result)
      .map(json)
      .map((m) => [(m.payload as { utf8: string }).utf8, m.qos])
      .sort();
    assert.deepEqual(got, [
      ['at qos 0', 0],
      ['at qos 1', 1],
      ['at qos 2', 2],
    ]);
  });

  test('-v prints the topic, and several -t filters all apply', async () => {
    const a = uniqueTopic('a');
    const b = uniqueTopic('b');
    const listener = await subscribed(sub('-t', a, '-t', b, '-v', '-n', '2'));
    assert.equal((await run(pub('-t', a, '-m', 'one', '-q', '1'))).code, 0);
    assert.equal((await run(pub(b, 'two', '-q', '1'))).code, 0); // MQTT.js's positional form
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result), [`${a} one`, `${b} two`]);
  });

  test('-r retains the message for later subscribers, and -r with an empty message clears it', async () => {
    const topic = uniqueTopic('retain');
    assert.equal((await run(pub('-t', topic, '-m', 'kept', '-r', '-q', '1'))).code, 0);
    const first = await run(sub('-t', topic, '-n', '1', '--format', 'json'));
    assert.equal(first.code, 0, first.stderr);
    const message = json(lines(first)[0]!);
    assert.equal(message.retain, true);
    assert.deepEqual(message.payload, { utf8: 'kept' });

    assert.equal((await run(pub('-t', topic, '-m', '', '-r', '-q', '1'))).code, 0);
    const second = await run(sub('-t', topic, '-W', '1'));
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.length, 0);
  });

  for (const version of ['4', '5']) {
    test(`-i with --no-clean keeps the session and its queued messages (-V ${version})`, async () => {
      const topic = uniqueTopic(`session-v${version}`);
      const id = `cli-session-${version}-${process.pid}`;
      const args = ['-V', version, '-i', id, '--no-clean', '-t', topic, '-q', '1'];
      const first = await run(sub(...args, '-W', '0.2'));
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await run(pub('-t', topic, '-m', 'while away', '-q', '1'))).code, 0);
      const second = await run(sub(...args, '-n', '1', '-W', '10'));
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(lines(second), ['while away']);
    });
  }

  test("a killed client's will is delivered", async () => {
    const willTopic = uniqueTopic('will');
    const listener = await subscribed(sub('-t', willTopic, '-n', '1', '-q', '1', '--format', 'json'));
    const doomed = await subscribed(
      sub('-t', uniqueTopic('idle'), '--will-topic', willTopic, '--will-message', 'gone', '--will-qos', '1'),
    );
    doomed.child.kill('SIGKILL');
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    const will = json(lines(result)[0]!);
    assert.deepEqual(will.payload, { utf8: 'gone' });
    assert.equal(will.qos, 1);
  });

  test('-s publishes the whole of stdin as one message, byte for byte', async () => {
    const topic = uniqueTopic('stdin');
    const bytes = Buffer.from([0x00, 0x01, 0xff, 0x0a, 0x0d, 0x41, 0x0a]);
    const listener = await subscribed(sub('-t', topic, '-n', '1', '--format', 'hex'));
    const published = await run(pub('-t', topic, '-s', '-q', '1'), { input: bytes });
    assert.equal(published.code, 0, published.stderr);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result), [bytes.toString('hex')]);
  });

  test('-M publishes each stdin line in order without its line ending; -n exits after that many', async () => {
    const topic = uniqueTopic('lines');
    const listener = await subscribed(sub('-t', topic, '-n', '3', '-q', '1', '--format', 'json'));
    const published = await run(pub('-t', topic, '-M', '-q', '1'), {
      input: 'first\r\nsecond\nthird\nfourth',
    });
    assert.equal(published.code, 0, published.stderr);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      lines(result).map((l) => json(l).payload),
      [{ utf8: 'first' }, { utf8: 'second' }, { utf8: 'third' }],
    );
  });

  test("-f publishes the file's contents", async () => {
    const topic = uniqueTopic('file');
    const file = join(dir, 'message.bin');
    const contents = Buffer.concat([Buffer.from('head\n'), Buffer.alloc(3000, 0xab)]);
    writeFileSync(file, contents);
    const listener = await subscribed(sub('-t', topic, '-n', '1', '--format', 'hex'));
    const published = await run(pub('-t', topic, '-f', file, '-q', '2'));
    assert.equal(published.code, 0, published.stderr);
    const result = await listener.done;
    assert.deepEqual(lines(result), [contents.toString('hex')]);
  });

  test('MQTT 5 properties arrive and show in sub --format json', async () => {
    const topic = uniqueTopic('props');
    const listener = await subscribed(sub('-V', '5', '-t', topic, '-n', '1', '-q', '1', '--format', 'json'));
    const published = await run(
      pub(
        ...['-V', '5', '-t', topic, '-m', '{"x":1}', '-q', '1'],
        ...['--user-property', 'source:cli', '--user-property', 'tag:a', '--user-property', 'tag:b:c'],
        ...['--content-type', 'application/json', '--response-topic', 'replies/1'],
        ...['--correlation-data', 'job-42', '--message-expiry', '60'],
      ),
    );
    assert.equal(published.code, 0, published.stderr);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    const message = json(lines(result)[0]!);
    const props = message.properties as Record<string, unknown>;
    assert.deepEqual(props.userProperties, { source: 'cli', tag: ['a', 'b:c'] });
    assert.equal(props.contentType, 'application/json');
    assert.equal(props.responseTopic, 'replies/1');
    assert.deepEqual(props.correlationData, { utf8: 'job-42' });
    // The broker forwards the time left, which may have ticked down.
    assert.ok((props.messageExpiryInterval as number) > 50 && (props.messageExpiryInterval as number) <= 60);
  });

  test('--rh 2 skips retained messages, live ones still arrive', async () => {
    const topic = uniqueTopic('rh');
    assert.equal((await run(pub('-t', topic, '-m', 'old', '-r'))).code, 0);
    const listener = await subscribed(sub('-V', '5', '-t', topic, '--rh', '2', '--rap', '-n', '1'));
    assert.equal((await run(pub('-t', topic, '-m', 'new'))).code, 0);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result), ['new']);
  });

  test('trace prints every packet sent and received, decoded', async () => {
    const topic = uniqueTopic('trace');
    const tracer = start(['trace', ...at(), '-t', topic, '-n', '1', '-q', '1']);
    await tracer.waitFor(/< \{"cmd":"suback"/, 'stdout');
    assert.equal((await run(pub('-t', topic, '-m', 'traced', '-q', '1'))).code, 0);
    const result = await tracer.done;
    assert.equal(result.code, 0, result.stderr);
    const entries = lines(result).map((l) => {
      const m = /^\d+\.\d{3}s ([<>]) (.*)$/.exec(l);
      assert.ok(m, l);
      return [m[1], (json(m[2]!) as { cmd: string }).cmd];
    });
    assert.deepEqual(entries, [
      ['>', 'connect'],
      ['<', 'connack'],
      ['>', 'subscribe'],
      ['<', 'suback'],
      ['<', 'publish'],
      ['>', 'puback'],
      ['>', 'disconnect'],
    ]);
    assert.match(result.stdout.toString(), /"payload":\{"utf8":"traced"\}/);
  });

  test('pub --trace shows the client id and user name, and hides the password', async () => {
    const result = await run(
      pub('-t', uniqueTopic('id'), '-m', 'x', '-i', 'my-client-id', '-u', 'bob', '-P', 'hunter2', '--trace'),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /> \{"cmd":"connect",.*"clientId":"my-client-id"/);
    assert.match(result.stderr, /"username":"bob","password":"<redacted>"/);
    assert.doesNotMatch(result.stderr, /hunter2/);
  });

  test('bench pub prints a summary with throughput and latency percentiles', async () => {
    const result = await run(['bench', 'pub', ...at(), '-c', '2', '-n', '50', '-q', '1', '-s', '32']);
    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout.toString();
    assert.match(out, /^mqtt bench pub: 2 clients, QoS 1, 32-byte payloads$/m);
    assert.match(out, /^ {2}sent {7}100 {2}\([\d.]+\/s\)$/m);
    assert.match(out, /^ {2}received {3}100 {2}\([\d.]+\/s\)$/m);
    assert.match(out, /p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms .*\(100 samples\)/);
  });

  test('bench conn --json reports connections and connect-time percentiles', async () => {
    const result = await run(['bench', 'conn', ...at(), '-c', '5', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = json(result.stdout.toString());
    assert.equal(summary.connected, 5);
    assert.equal(summary.errors, 0);
    const latency = summary.latencyMs as Record<string, number>;
    assert.equal(latency.samples, 5);
    assert.ok(latency.p50! <= latency.p95! && latency.p95! <= latency.p99!);
  });
});

describe('mqtt with credentials and TLS', { concurrency: 4 }, () => {
  const plain = () => ['-h', '127.0.0.1', '-p', String(secure.port)];
  const tls = () => ['-h', 'localhost', '-p', String(tlsPort)];

  test('-u and -P log in, and a round trip works', async () => {
    const topic = uniqueTopic('auth');
    const creds = ['-u', 'alice', '-P', 's3cret'];
    const listener = await subscribed(['sub', ...plain(), ...creds, '-t', topic, '-n', '1']);
    const published = await run(['pub', ...plain(), ...creds, '-t', topic, '-m', 'authorised', '-q', '1']);
    assert.equal(published.code, 0, published.stderr);
    assert.deepEqual(lines(await listener.done), ['authorised']);
  });

  test('a refused CONNACK exits 1 with the reason code name', async () => {
    const [v4, v5] = await Promise.all([
      run(['pub', ...plain(), '-u', 'alice', '-P', 'wrong', '-t', 'a', '-m', 'b']),
      run(['sub', ...plain(), '-V', '5', '-t', 'a']),
    ]);
    assert.equal(v4.code, 1);
    assert.match(
      v4.stderr,
      /connection refused by 127\.0\.0\.1:\d+: Connection Refused, not authorized \(return code 5\)/,
    );
    assert.equal(v5.code, 1);
    assert.match(v5.stderr, /connection refused by 127\.0\.0\.1:\d+: Not authorized \(reason code 0x87\)/);
  });

  test('--ca trusts the broker certificate and implies mqtts', async () => {
    const topic = uniqueTopic('tls');
    const creds = ['-u', 'alice', '-P', 's3cret'];
    const listener = await subscribed(['sub', ...tls(), ...creds, '--ca', caFile, '-t', topic, '-n', '1']);
    const url = `mqtts://alice:s3cret@localhost:${tlsPort}`;
    const published = await run(['pub', '-l', url, '--ca', caFile, '-t', topic, '-m', 'over tls', '-q', '1']);
    assert.equal(published.code, 0, published.stderr);
    assert.deepEqual(lines(await listener.done), ['over tls']);
  });

  test('an untrusted certificate exits 1 with the TLS error; --insecure connects anyway', async () => {
    const args = [...tls(), '-C', 'mqtts', '-u', 'alice', '-P', 's3cret', '-t', 'a', '-m', 'b'];
    const [strict, insecure] = await Promise.all([
      run(['pub', ...args]),
      run(['pub', ...args, '--insecure']),
    ]);
    assert.equal(strict.code, 1);
    assert.match(
      strict.stderr,
      /TLS error with localhost:\d+: .*\((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/,
    );
    assert.equal(insecure.code, 0, insecure.stderr);
  });
});
