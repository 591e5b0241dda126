/**
 * Two Mosquitto brokers joined by a bridge stand in for a cluster: a publisher fails over from
 * one to the other through `servers`, and shared subscriptions ($share/group/topic) on the
 * second spread the load over several clients. Nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, connectAsync, type MqttClient } from '../../runtime/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { isMosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { publishAll } from './support.js';

describe('failover between bridged brokers', { skip: !isMosquittoAvailable() }, () => {
  for (const version of [4, 5] as const) {
    test(`fails over through servers with shared subscribers, QoS 1, MQTT v${version}`, async (t) => {
      const a = await startMosquitto({ extraConfig: 'max_queued_messages 0\nmax_inflight_messages 0' });
      const b = await startMosquitto({
        extraConfig: [
          'max_queued_messages 0',
          'max_inflight_messages 0',
          'connection to-a',
          `address 127.0.0.1:${a.port}`,
          'topic cluster/# both 1',
          'cleansession false',
          `clientid bridge-b-${version}`,
          'restart_timeout 1',
        ].join('\n'),
      });
      const proxy = await startFaultProxy(a.port);
      const clients: MqttClient[] = [];
      t.after(async () => {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await proxy.stop();
        await b.stop();
        await a.stop();
      });

      const topic = 'cluster/data';
      const counts = [0, 0, 0];
      const seen = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const sub = await connectAsync(b.url, { protocolVersion: version, reconnectPeriod: 50 });
        clients.push(sub);
        sub.on('message', (_t, payload) => {
          counts[i]!++;
          seen.add(Buffer.from(payload).readUInt32BE(0));
        });
        await sub.subscribeAsync(`$share/group/${topic}`, { qos: 1 });
      }
      // Wait until the bridge carries messages from A to B.
      const probe = await connectAsync(a.url, { protocolVersion: version });
      clients.push(probe);
      const probeSeen = () => counts.reduce((x, y) => x + y, 0) > 0;
      for (let i = 0; !probeSeen() && i < 200; i++) {
        await probe.publishAsync(topic, Buffer.from([0xff, 0xff, 0xff, 0xff]), { qos: 1 });
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(probeSeen(), 'the bridge carries messages');
      counts.fill(0);

      const pub = connect({
        servers: [
          { host: '127.0.0.1', port: proxy.port },
          { host: '127.0.0.1', port: b.port },
        ],
        protocolVersion: version,
        clean: false,
        clientId: `cluster-pub-${version}`,
        reconnectPeriod: 20,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      });
      clients.push(pub);
      pub.on('error', () => {});
      let connects = 0;
      pub.on('connect', () => connects++);
      const count = 3000;
      const done = publishAll(pub, topic, 1, count, 200);
      while (seen.size < count / 3) await new Promise((r) => setTimeout(r, 5));
      // Broker A becomes unreachable: the publisher must carry on through B.
      proxy.refuse(true);
      proxy.cutAll();
      const result = await done;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        let all = true;
        for (let i = 0; i < count && all; i++) all = seen.has(i);
        if (all) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
      assert.equal(result.failed, 0);
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} missing`);
      assert.ok(connects >= 2, 'the publisher reconnected');
      assert.ok(
        counts.every((c) => c > 0),
        `load spread over the group: ${counts.join(', ')}`,
      );
    });
  }
});
