import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPublish, checkSubscribe } from '../../runtime/session/server-limits.js';

describe('checkPublish', () => {
  test('allows everything when the server said nothing', () => {
    assert.equal(checkPublish(undefined, 2, true), null);
    assert.equal(checkPublish({}, 2, true), null);
  });

  test('refuses a QoS above maximumQoS with 0x9B', () => {
    assert.equal(checkPublish({ maximumQoS: 1 }, 1, false), null);
    assert.equal(checkPublish({ maximumQoS: 1 }, 2, false)?.code, 'MQTT_ERR_QOS_NOT_SUPPORTED');
    assert.equal(checkPublish({ maximumQoS: 0 }, 1, false)?.reasonCode, 0x9b);
  });

  test('refuses retain when retainAvailable is false, with 0x9A', () => {
    const e = checkPublish({ retainAvailable: false }, 0, true);
    assert.equal(e?.code, 'MQTT_ERR_RETAIN_NOT_SUPPORTED');
    assert.equal(e?.reasonCode, 0x9a);
    assert.equal(checkPublish({ retainAvailable: false }, 0, false), null);
  });
});

describe('checkSubscribe', () => {
  const sub = (topic: string) => [{ topic, qos: 0 as const }];

  test('refuses wildcards when wildcardSubscriptionAvailable is false', () => {
    const limits = { wildcardSubscriptionAvailable: false };
    assert.equal(checkSubscribe(limits, sub('a/+'), undefined)?.reasonCode, 0xa2);
    assert.equal(checkSubscribe(limits, sub('#'), undefined)?.code, 'MQTT_ERR_WILDCARD_NOT_SUPPORTED');
    assert.equal(checkSubscribe(limits, sub('a/b'), undefined), null);
  });

  test('refuses $share/ when sharedSubscriptionAvailable is false', () => {
    const limits = { sharedSubscriptionAvailable: false };
    assert.equal(checkSubscribe(limits, sub('$share/g/a'), undefined)?.reasonCode, 0x9e);
    assert.equal(checkSubscribe(limits, sub('a'), undefined), null);
  });

  test('refuses a Subscription Identifier when subscriptionIdentifiersAvailable is false', () => {
    const limits = { subscriptionIdentifiersAvailable: false };
    assert.equal(checkSubscribe(limits, sub('a'), { subscriptionIdentifier: 1 })?.reasonCode, 0xa1);
    assert.equal(checkSubscribe(limits, sub('a'), {}), null);
  });
});
