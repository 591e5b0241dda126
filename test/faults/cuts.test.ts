/**
 * Fault tests through a TCP fault proxy in front of Mosquitto: connections cut at random points
 * and at chosen packets, offline order, a black-holed connection. The subscriber connects to
 * the broker directly; the publisher goes through the proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, connectAsync } from '../../runtime/index.js';
import { PacketType } from '../helpers/fake-broker.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { isMosquittoAvailable, type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { checker, publishAll, seqPayload } from './support.js';

const COUNT = Number(process.env.FAULT_COUNT ?? 10_000);
const CUTS = Number(process.env.FAULT_CUTS ?? 20);

describe('faults', { skip: !isMosquittoAvailable() }, () => {
  let broker: Mosquitto;
  let proxy: FaultProxy;
  before(async () => {
    broker = await startMosquitto({ extraConfig: 'max_queued_messages 0\nmax_inflight_messages 0' });
    proxy = await startFaultProxy(broker.port);
  });
  after(async () => {
    await proxy.stop();
    await broker.stop();
  });

  for (const version of [4, 5] as const) {
    for (const qos of [1, 2] as const) {
      test(`delivers ${COUNT} QoS ${qos} messages through ${CUTS}+ random cuts, MQTT v${version}, every publish succeeding`, async () => {
        const topic = `cuts/${version}/${qos}`;
        const sub = await checker(broker.url, topic, qos, {
          protocolVersion: version,
          clean: false,
          clientId: `sub-${version}-${qos}`,
          ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
        });
        const pub = connect(proxy.url, {
          protocolVersion: version,
          clean: false,
          clientId: `pub-${version}-${qos}`,
          reconnectPeriod: 10,
          ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
        });
        pub.on('error', () => {});
        const trace: string[] = [];
        if (process.env.FAULT_TRACE) {
          pub.on('packetsend', (p) =>
            trace.push(
              `> ${p.cmd} ${(p as { messageId?: number }).messageId} ${(p as { dup?: boolean }).dup ? 'dup' : ''} ${(p as { payload?: Uint8Array }).payload ? Buffer.from((p as { payload: Uint8Array }).payload).readUInt32BE(0) : ''}`,
            ),
          );
          pub.on('packetreceive', (p) =>
            trace.push(
              `< ${p.cmd} ${(p as { messageId?: number }).messageId} ${(p as { sessionPresent?: boolean }).sessionPresent ?? ''}`,
            ),
          );
          pub.on('close', () => trace.push('close'));
        }
        // The chosen cuts first (QoS 2: between PUBREC and PUBREL, between PUBREL and PUBCOMP),
        // then random byte counts in either direction, one armed per connection.
        const chosen: (() => void)[] =
          qos === 2
            ? [
                () => proxy.cutAtPacket(PacketType.PUBREC, 'down', { nth: 50 }),
                () => proxy.cutAtPacket(PacketType.PUBREL, 'up', { nth: 50 }),
                () => proxy.cutAtPacket(PacketType.PUBCOMP, 'down', { nth: 50 }),
                () => proxy.cutAtPacket(PacketType.PUBREL, 'up', { nth: 10, forward: true }),
              ]
            : [() => proxy.cutAtPacket(PacketType.PUBACK, 'down', { nth: 50 })];
        let connects = 0;
        pub.on('connect', () => {
          connects++;
          if (connects > CUTS + 5) return;
          const next = chosen.shift();
          if (next) next();
          else {
            // Random points spread over the stream: per message about 25 bytes go up (PUBLISH),
            // and 4 (PUBACK) or 8 (PUBREC, PUBCOMP) come down; a cut every other resend window.
            const up = Math.random() < 0.5;
            const perMessage = up ? 25 : qos === 1 ? 4 : 8;
            const span = Math.max(50, Math.floor((COUNT * perMessage) / (2 * CUTS)));
            proxy.cutAfterBytes(20 + Math.floor(Math.random() * span), up ? 'up' : 'down');
          }
        });
        const result = await publishAll(pub, topic, qos, COUNT, 500);
        try {
          await sub.waitAll(COUNT, 20_000);
        } catch (error) {
          if (process.env.FAULT_TRACE) {
            const { writeFileSync } = await import('node:fs');
            writeFileSync(
              `.tmp/trace-${version}-${qos}.txt`,
              `missing ${sub.missing(COUNT).join(',')}\n${trace.join('\n')}`,
            );
          }
          throw error;
        }
        const cuts = connects - 1;
        await pub.endAsync();
        await sub.client.endAsync();
        assert.equal(
          result.failed,
          0,
          `failed: ${result.errors
            .slice(0, 3)
            .map((e) => e.message)
            .join('; ')}`,
        );
        assert.ok(cuts >= Math.min(CUTS, 20), `only ${cuts} cuts happened`);
        if (qos === 2) assert.equal(sub.duplicates(), 0, 'QoS 2 delivered exactly once');
      });
    }
  }

  test('a clean-session QoS 2 message whose session the broker dropped is sent again, never reported delivered without it', async () => {
    const topic = 'cuts/clean/2';
    const sub = await checker(broker.url, topic, 2, { clientId: 'sub-clean' });
    const pub = connect(proxy.url, { clean: true, reconnectPeriod: 10 });
    pub.on('error', () => {});
    await new Promise<void>((r) => pub.once('connect', () => r()));
    // The PUBREL is lost and the session with it (clean session): a stale PUBREL would be
    // answered by the new session and the message reported delivered without having been.
    proxy.cutAtPacket(PacketType.PUBREL, 'up');
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) => pub.publishAsync(topic, seqPayload(i), { qos: 2 })),
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled')
        assert.ok(sub.missing(3).indexOf(i) < 0, `message ${i} reported delivered but not received`);
    }
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled'],
    );
    await pub.endAsync();
    await sub.client.endAsync();
  });

  test('after an offline spell the broker sees the SUBSCRIBE first and the PUBLISHes in call order', async () => {
    proxy.refuse(true);
    const client = connect(proxy.url, { reconnectPeriod: 20 });
    client.on('error', () => {});
    const got: string[] = [];
    client.on('message', (_t, p) => got.push(Buffer.from(p).toString()));
    client.subscribe('offline/order', { qos: 1 });
    for (let i = 0; i < 10; i++) client.publish('offline/order', String(i), { qos: (i % 2) as 0 | 1 });
    await new Promise((r) => setTimeout(r, 100));
    proxy.refuse(false);
    const deadline = Date.now() + 5000;
    while (got.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Drop once more while connected, publish offline again: still in order after the reconnect.
    proxy.refuse(true);
    proxy.cutAll();
    await new Promise<void>((r) => client.once('offline', () => r()));
    for (let i = 10; i < 15; i++) client.publish('offline/order', String(i), { qos: 1 });
    proxy.refuse(false);
    while (got.length < 15 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 10));
    await client.endAsync();
    assert.deepEqual(
      got,
      Array.from({ length: 15 }, (_, i) => String(i)),
    );
  });

  test('notices a black-holed connection within 1.5 x keepalive and reconnects', async () => {
    const client = await connectAsync(proxy.url, { keepalive: 1, reconnectPeriod: 20 });
    client.on('error', () => {});
    proxy.blackhole(true);
    const start = Date.now();
    await new Promise<void>((r) => client.once('close', () => r()));
    const detected = Date.now() - start;
    proxy.blackhole(false);
    proxy.cutAll();
    await new Promise<void>((r) => client.once('connect', () => r()));
    await client.endAsync();
    assert.ok(detected <= 1500 + 100, `detected after ${detected} ms`);
  });
});
