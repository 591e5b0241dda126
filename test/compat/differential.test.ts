/**
 * MQTT.js and mqttforge, side by side: each scenario runs one script on both, each against a
 * fresh scripted fake broker on loopback, records what the application sees (events with their
 * key fields, callback arguments, the state flags at each) and compares the recordings
 * (support-differential.ts). Differences by design are normalized there or here, each with the
 * doc that states it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Packet } from '../../generated/index.js';
import type { FakeConnection } from '../helpers/fake-broker.js';
import {
  type DifferentialOptions,
  differential,
  type Library,
  libraries,
  type Run,
  type Script,
} from './support-differential.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The packet id of `packet`. */
const id = (packet: Packet) => (packet as { messageId: number }).messageId;

/** The next packet of `conn` that is not a PINGREQ. */
async function next(run: Run, conn: FakeConnection): Promise<Packet> {
  for (;;) {
    const packet = await run.broker.next(conn);
    if (packet.cmd !== 'pingreq') return packet;
  }
}

/** The flags of a recorded line, `[C-G-]`, rewritten by `edit`. */
function withFlags(line: string, edit: (flags: string) => string): string {
  return line.replace(/\[([-CRGD]{4})\]$/, (_, flags: string) => `[${edit(flags)}]`);
}
const clear = (flag: 'C' | 'R' | 'G' | 'D') => (line: string) => withFlags(line, (f) => f.replace(flag, '-'));

/**
 * README "Migrating from MQTT.js": `offline` comes after `close` (MQTT.js emits it before the
 * application's `close` listeners run, and on a keepalive timeout before the error), and
 * `reconnecting` is set with it. MQTT.js's recording is rewritten to that order: `offline` moves
 * after the next `close`, taking that line's flags, and the lines it passed lose the `R` that
 * MQTT.js had set early.
 */
function offlineAfterClose(log: string[]): string[] {
  const out = [...log];
  for (let i = 0; i < out.length; i++) {
    if (!out[i]!.startsWith('offline ')) continue;
    const j = out.findIndex((line, k) => k > i && line.startsWith('close '));
    if (j < 0) continue;
    const closeFlags = out[j]!.slice(-6);
    for (let k = i + 1; k <= j; k++) out[k] = clear('R')(out[k]!);
    out.splice(i, 1);
    out.splice(j, 0, `offline ${closeFlags}`);
    i = j;
  }
  return out;
}

/**
 * Differences by design found in every scenario, each with the doc that states it:
 *  - README "Migrating from MQTT.js": `packetsend` is emitted for a CONNECT when it is written to
 *    an open connection; MQTT.js emits it also for an attempt whose connection then fails.
 *  - README: `offline` after `close` (offlineAfterClose).
 *  - README: `disconnecting` is false again when `end` is emitted; MQTT.js leaves it set.
 *  - docs/errors.md `MQTT_ERR_SERVER_DISCONNECT`: a DISCONNECT with a failure reason code is also
 *    an `error`; MQTT.js emits only `disconnect`.
 *  - README: a QoS 0 publish calls back with `(null, packet)`, as QoS 1 and 2; MQTT.js with no
 *    arguments. Recorded as `ok`.
 */
function normalize(library: Library, log: string[]): string[] {
  let out = log.map((line) => line.replace(/^(cb:publish0)( null publish| undefined)?(?= \[)/, '$1 ok'));
  if (library === 'mqttforge')
    return out.filter((line) => !line.startsWith('error MQTT_ERR_SERVER_DISCONNECT'));
  out = out.filter(
    (line, i) => !(line.startsWith('packetsend connect') && /^error E/.test(out[i + 1] ?? '')),
  );
  out = offlineAfterClose(out);
  const end = out.findIndex((line) => line.startsWith('end '));
  return end < 0 ? out : [...out.slice(0, end), ...out.slice(end).map(clear('G'))];
}

type Rewrite = (library: Library, log: string[]) => string[];

/**
 * README: `connect` is emitted on CONNACK; MQTT.js first sends the messages published offline
 * at QoS 1/2 (its outgoing store) and emits `connect` once they are acknowledged. Rewritten to
 * ours: `connect` right after the CONNACK.
 */
const connectAfterStored: Rewrite = (library, log) => {
  if (library === 'mqttforge') return log;
  const out = [...log];
  const [line] = out.splice(
    out.findIndex((l) => l.startsWith('connect ')),
    1,
  );
  out.splice(
    out.findIndex((l) => l.startsWith('packetreceive puback')),
    0,
    line!,
  );
  return out;
};

/**
 * MQTT.js calls a QoS 0 callback inside the write (synchronously, from publish() or from its
 * own `connect` listener); ours once the socket has taken the bytes (README: a publisher waits
 * for `drain`, QoS 0 callbacks included). Where it falls among the events is not compared: it is
 * taken out of the recordings and compared on its own.
 */
const qos0Apart: Rewrite = (_library, log) => [
  ...log.filter((l) => !l.startsWith('cb:publish0 ')),
  ...log.filter((l) => l.startsWith('cb:publish0 ')).map((l) => l.replace(/ \[.*\]$/, '')),
];

/**
 * README: end() while connecting closes the attempt (`close`, then `end`); MQTT.js emits only
 * `end`, and leaves its socket open. Before the socket is open MQTT.js has also emitted
 * `packetsend` for the CONNECT that socket will carry; ours writes none.
 */
const endWhileConnecting =
  (open: boolean): Rewrite =>
  (library, log) =>
    library === 'mqttforge'
      ? log.filter((l) => !l.startsWith('close '))
      : log.filter((l) => open || !l.startsWith('packetsend connect'));

/**
 * README: reconnect() on a live connection sends DISCONNECT, closes, then emits `reconnect` and
 * connects; MQTT.js emits `reconnect` first and goes through end() (`disconnecting` set, `end`).
 */
const reconnectCall: Rewrite = (library, log) => {
  if (library === 'mqttforge') return log;
  const out = log.filter((l) => !l.startsWith('end ')).map(clear('G'));
  const at = out.findIndex((l) => l.startsWith('reconnect '));
  out.splice(at, 1);
  const close = out.findIndex((l) => l.startsWith('close '));
  out.splice(close + 1, 0, `reconnect ${out[close]!.slice(-6)}`);
  return out;
};

async function same(script: Script, options: DifferentialOptions = {}, rewrite?: Rewrite) {
  const r = await differential(script, options);
  const [mqttjs, forge] = libraries.map((library) => {
    const log = normalize(library, r[library]);
    return rewrite ? rewrite(library, log) : log;
  });
  assert.deepEqual(forge, mqttjs);
}

describe('differential: MQTT.js and mqttforge', () => {
  test('connect, subscribe, publish at QoS 0/1/2, receive, end', async () => {
    await same(async (run) => {
      const { client, broker, cb, until } = run;
      const conn = await broker.accept();
      await until('connect');
      client.subscribe('t', { qos: 2 }, cb('subscribe'));
      const sub = await next(run, conn);
      await broker.send(conn, { cmd: 'suback', messageId: id(sub), granted: [2] });
      await until('cb:subscribe');
      // MQTT.js calls a QoS 0 callback inside publish(), ours once written: waited for, so that
      // both come at the same place.
      client.publish('t', 'q0', { qos: 0 }, cb('publish0'));
      await until('cb:publish0');
      await next(run, conn);
      client.publish('t', 'q1', { qos: 1 }, cb('publish1'));
      client.publish('t', 'q2', { qos: 2 }, cb('publish2'));
      const p1 = await next(run, conn);
      const p2 = await next(run, conn);
      await broker.send(conn, { cmd: 'puback', messageId: id(p1) });
      await broker.send(conn, { cmd: 'pubrec', messageId: id(p2) });
      const rel = await next(run, conn);
      await broker.send(conn, { cmd: 'pubcomp', messageId: id(rel) });
      await until('cb:publish2');
      await broker.send(conn, { cmd: 'publish', topic: 't', payload: 'in1', qos: 1, messageId: 7 });
      await broker.send(conn, { cmd: 'publish', topic: 't', payload: 'in2', qos: 2, messageId: 8 });
      await next(run, conn); // PUBACK
      await next(run, conn); // PUBREC
      await broker.send(conn, { cmd: 'pubrel', messageId: 8 });
      await until('message t in2');
      client.end(false, {}, cb('end'));
      await until('cb:end');
    });
  });

  for (const [version, code] of [
    [4, 5],
    [5, 0x87],
  ] as const) {
    test(`a refused CONNACK (MQTT ${version}, ${code}) with the default reconnectPeriod`, async () => {
      await same(
        async (run) => {
          await run.broker.accept({ code });
          await run.until('close');
          await sleep(1300); // past one reconnectPeriod: no reconnect
        },
        { version, options: { reconnectPeriod: 1000 } },
      );
    });

    test(`a refused CONNACK (MQTT ${version}, ${code}) with reconnectOnConnackError`, async () => {
      await same(
        async (run) => {
          await run.broker.accept({ code });
          await run.until('reconnect');
          await run.broker.accept();
          await run.until('connect');
        },
        { version, options: { reconnectOnConnackError: true } },
      );
    });
  }

  test('the server closes the socket: reconnect and resubscribe', async () => {
    await same(async (run) => {
      const { client, broker, cb, until } = run;
      const conn = await broker.accept();
      await until('connect');
      client.subscribe('t', { qos: 1 }, cb('subscribe'));
      const sub = await next(run, conn);
      await broker.send(conn, { cmd: 'suback', messageId: id(sub), granted: [1] });
      await until('cb:subscribe');
      conn.end();
      const conn2 = await broker.accept();
      const resub = await next(run, conn2);
      assert.equal(resub.cmd, 'subscribe');
      await broker.send(conn2, { cmd: 'suback', messageId: id(resub), granted: [1] });
      await sleep(100);
    });
  });

  for (const qos of [0, 1] as const) {
    test(`a QoS ${qos} publish made offline is sent once connected`, async () => {
      await same(
        async (run) => {
          const { client, broker, cb, until } = run;
          client.publish('t', 'offline', { qos }, cb(`publish${qos}`));
          const conn = await broker.accept();
          const publish = await next(run, conn);
          if (qos === 1) await broker.send(conn, { cmd: 'puback', messageId: id(publish) });
          await until(`cb:publish${qos}`);
        },
        {},
        qos === 1 ? connectAfterStored : qos0Apart,
      );
    });
  }

  test('end() before the transport is open', async () => {
    await same(
      async (run) => {
        run.client.end(false, {}, run.cb('end'));
        await run.until('cb:end');
        await sleep(200);
      },
      {},
      endWhileConnecting(false),
    );
  });

  test('end() after CONNECT, before CONNACK', async () => {
    await same(
      async (run) => {
        const conn = await run.broker.nextConnection();
        await next(run, conn);
        run.client.end(false, {}, run.cb('end'));
        await run.until('cb:end');
        await sleep(200);
      },
      {},
      endWhileConnecting(true),
    );
  });

  test('end(true) with a QoS 1 publish in flight closes without DISCONNECT', async () => {
    await same(
      async (run) => {
        const { client, broker, cb, until } = run;
        const conn = await broker.accept();
        await until('connect');
        client.publish('t', 'q1', { qos: 1 }, cb('publish1'));
        await next(run, conn);
        client.end(true, {}, cb('end'));
        await until('cb:end');
        await sleep(200);
        assert.deepEqual(
          conn.packets.map((p) => p[0]! >> 4),
          [1, 3],
          'CONNECT and PUBLISH; no DISCONNECT, so the server publishes the will',
        );
      },
      {},
      // docs/reliability.md "end()": end(true) fails every pending callback with
      // MQTT_ERR_CLIENT_ENDED; MQTT.js (with reconnectPeriod > 0) leaves it uncalled.
      (library, log) => (library === 'mqttforge' ? log.filter((l) => !l.startsWith('cb:publish1 ')) : log),
    );
  });

  test('the server sends DISCONNECT 0x8B (MQTT 5), then closes', async () => {
    await same(
      async (run) => {
        const conn = await run.broker.accept();
        await run.until('connect');
        await run.broker.send(conn, { cmd: 'disconnect', reasonCode: 0x8b });
        conn.end();
        await run.broker.accept();
        await run.until('connect', 3000, run.log.findIndex((l) => l.startsWith('connect')) + 1);
      },
      { version: 5 },
    );
  });

  test('no PINGRESP: keepalive timeout, then reconnect', async () => {
    await same(
      async (run) => {
        await run.broker.accept();
        await run.until('error');
        await run.broker.accept();
        await run.until(
          'connect',
          3000,
          run.log.findIndex((l) => l.startsWith('error')),
        );
      },
      { options: { keepalive: 1 } },
    );
  });

  for (const [version, code] of [
    [4, 0x80],
    [5, 0x87],
  ] as const) {
    test(`a SUBACK with failure code ${code} (MQTT ${version})`, async () => {
      await same(
        async (run) => {
          const conn = await run.broker.accept();
          await run.until('connect');
          run.client.subscribe('t', { qos: 1 }, run.cb('subscribe'));
          const sub = await next(run, conn);
          await run.broker.send(conn, { cmd: 'suback', messageId: id(sub), granted: [code] });
          await run.until('cb:subscribe');
        },
        { version },
        // README: a refused subscription's `granted` entry carries the server's code; MQTT.js
        // hands back the QoS requested.
        (library, log) => (library === 'mqttforge' ? log.map((l) => l.replace(`[t:${code}]`, '[t:1]')) : log),
      );
    });
  }

  for (const version of [4, 5] as const) {
    test(`unsubscribe (MQTT ${version})`, async () => {
      await same(
        async (run) => {
          const conn = await run.broker.accept();
          await run.until('connect');
          run.client.unsubscribe('t', {}, run.cb('unsubscribe'));
          const unsub = await next(run, conn);
          await run.broker.send(
            conn,
            version === 5
              ? { cmd: 'unsuback', messageId: id(unsub), granted: [0] }
              : { cmd: 'unsuback', messageId: id(unsub) },
          );
          await run.until('cb:unsubscribe');
        },
        { version },
      );
    });
  }

  test('a publish to an invalid topic fails its callback; the connection stays (README)', async () => {
    const r = await differential(async (run) => {
      const { client, broker, cb, until } = run;
      const conn = await broker.accept();
      await until('connect');
      client.publish('a/+', 'bad', { qos: 1 }, cb('publish-bad'));
      client.publish('ok', 'good', { qos: 1 }, cb('publish-good'));
      // A server closes the connection on a wildcard Topic Name [MQTT-3.3.2-2]: so does this one.
      let packet: Packet | undefined;
      try {
        packet = await next(run, conn);
      } catch {
        conn.drop();
      }
      if (packet) await broker.send(conn, { cmd: 'puback', messageId: id(packet) });
      await sleep(300);
    });
    // Deliberately different (README "Migrating from MQTT.js"): MQTT.js writes the PUBLISH and
    // the server drops the connection; ours refuses it in the callback and goes on.
    assert.deepEqual(r.mqttforge.slice(3), [
      'packetsend publish [C---]',
      'cb:publish-bad MQTT_ERR_INVALID_TOPIC [C---]',
      'packetreceive puback [C---]',
      'cb:publish-good null publish messageId [C---]',
    ]);
    assert.deepEqual(r['MQTT.js'].slice(3, 6), [
      'packetsend publish [C---]',
      'packetsend publish [C---]',
      'error ECONNRESET [C---]',
    ]);
  });

  test('reconnect() while connected', async () => {
    await same(
      async (run) => {
        const conn = await run.broker.accept();
        await run.until('connect');
        run.client.reconnect();
        await next(run, conn); // DISCONNECT
        await run.broker.accept();
        await run.until(
          'connect',
          3000,
          run.log.findIndex((l) => l.startsWith('reconnect')),
        );
      },
      {},
      reconnectCall,
    );
  });

  test('close, offline and reconnect across a broker restart', async () => {
    await same(
      async (run) => {
        const relay = run.relay!;
        await run.broker.accept();
        await run.until('connect');
        await relay.down();
        await run.until('offline');
        await sleep(250); // refused attempts
        await relay.up();
        const from = run.log.length;
        await run.broker.accept();
        await run.until('connect', 3000, from);
      },
      { relay: true },
    );
  });
});
