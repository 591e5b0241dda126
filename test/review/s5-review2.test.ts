/**
 * Regression tests from the second review of session 5 (end(), connect ordering, transports,
 * the FileStore lock).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { once, scene } from '../client/support.js';

describe('s5 review 2: end()', () => {
  test('end() calls back once QoS 0 messages held back by a full socket buffer are written', async (t) => {
    const { client, conn } = await scene(t, { reconnectPeriod: 0 });
    const big = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 20; i++) client.publish('t', big, { qos: 0 });
    // Some wait in the queue for `drain`: end() waits for them, and must go on once they are out.
    assert.equal((client as unknown as { awaitingDrain_: boolean }).awaitingDrain_, true);
    const ended = once(client, 'end', 4000);
    client.end();
    await ended;
    assert.equal(conn.packets.length, 1 + 20 + 1); // CONNECT, the messages, DISCONNECT
  });
});
