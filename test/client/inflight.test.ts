/** maxInflight: a window for MQTT 3.1.1, which has no Receive Maximum. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectAsync } from '../../runtime/index.js';
import { isMosquittoAvailable, type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from './support.js';

describe('maxInflight', { skip: !isMosquittoAvailable() }, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto(); // max_inflight_messages 20, the default
  });
  after(() => broker.stop());

  test('keeps a v3.1.1 client within a Mosquitto quota that would drop QoS 2 messages', async () => {
    const sub = await connectAsync(broker.url, { reconnectPeriod: 0 });
    let got = 0;
    sub.on('message', () => got++);
    await sub.subscribeAsync('inflight', { qos: 2 });
    const pub = await connectAsync(broker.url, { reconnectPeriod: 0, maxInflight: 20 });
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => pub.publishAsync('inflight', String(i), { qos: 2 })),
    );
    await waitFor(() => got === 300, 3000, 'all 300 delivered');
    await pub.endAsync();
    await sub.endAsync();
    assert.equal(got, 300);
  });
});
