/**
 * An idle client shares its empty tables (listeners, in-flight flows, subscriptions to renew,
 * connection overrides, waiting lists) with every other client until it writes to one. These
 * tests give one client entries in each and check that another client sees none of them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, type MqttClient } from '../../runtime/index.js';
import { collectErrors, dropConnection, once, startScriptedBroker } from './support.js';

describe('clients share no state through their empty tables', () => {
  test('listeners, in-flight messages, resubscriptions and overrides stay with their client', async (t) => {
    const broker = await startScriptedBroker(4);
    const clients: MqttClient[] = [];
    t.after(async () => {
      for (const c of clients) c.end(true);
      await broker.stop();
    });
    const open = (clientId: string) => {
      const c = connect(broker.url, { clientId, reconnectPeriod: 20 });
      clients.push(c);
      collectErrors(c);
      return c;
    };
    const a = open('a');
    const connA = await broker.accept();
    await once(a, 'connect');
    const b = open('b');
    const connB = await broker.accept();
    await once(b, 'connect');

    a.on('message', () => {});
    assert.equal(b.listenerCount('message'), 0, 'a listener of one client is not another one’s');
    a.removeAllListeners('message');
    b.on('message', () => {});
    assert.equal(a.listenerCount('message'), 0);

    a.subscribe('only/a', { qos: 1 });
    const sub = (await broker.next(connA)) as { messageId: number };
    await broker.send(connA, { cmd: 'suback', messageId: sub.messageId, granted: [1] });
    a.publish('t', 'in flight', { qos: 1 });
    const pub = (await broker.next(connA)) as { cmd: string; messageId: number };
    assert.equal(pub.cmd, 'publish');

    // b reconnects: it renews no subscription of a's and resends no message of a's.
    dropConnection(b);
    const connB2 = await broker.accept();
    b.publish('t', 'from b', { qos: 0 });
    const first = (await broker.next(connB2)) as { cmd: string; payload?: Uint8Array };
    assert.equal(first.cmd, 'publish', `b sent ${first.cmd} first`);
    assert.equal(Buffer.from(first.payload ?? []).toString(), 'from b');
    void connB;

    // a reconnects: it renews its own subscription and resends its own message.
    dropConnection(a);
    const connA2 = await broker.accept();
    const again = [
      (await broker.next(connA2)) as { cmd: string },
      (await broker.next(connA2)) as { cmd: string },
    ];
    assert.deepEqual(again.map((p) => p.cmd).sort(), ['publish', 'subscribe']);
  });

  test('end() callbacks of one client are not called by another', async (t) => {
    const broker = await startScriptedBroker(4);
    t.after(() => broker.stop());
    const a = connect(broker.url, { reconnectPeriod: 0 });
    const b = connect(broker.url, { reconnectPeriod: 0 });
    collectErrors(a);
    collectErrors(b);
    await broker.accept();
    await broker.accept();
    let calledA = 0;
    let calledB = 0;
    const endedA = new Promise<void>((resolve) =>
      a.end(() => {
        calledA++;
        resolve();
      }),
    );
    b.end(() => calledB++);
    await endedA;
    await b.endAsync();
    assert.equal(calledA, 1);
    assert.equal(calledB, 1);
  });
});
