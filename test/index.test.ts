/** The `mqttforge` entry point exports the public API, and not the client's internal helpers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as api from '../runtime/index.js';

describe('mqttforge entry point', () => {
  test('exports the client, the stores, the id providers and the error classes', () => {
    assert.deepEqual(Object.keys(api).sort(), [
      'ClientErrorCode',
      'CodecReason',
      'DefaultMessageIdProvider',
      'FileStore',
      'MqttClient',
      'MqttClientError',
      'MqttConnackError',
      'MqttDecodeError',
      'MqttEncodeError',
      'MqttError',
      'Store',
      'UniqueMessageIdProvider',
      'connect',
      'connectAsync',
      'default',
      'fileStores',
      'isMqttError',
    ]);
  });

  test('does not export the error factories', () => {
    for (const name of ['clientEnded', 'connectTimeout', 'connectionClosed', 'invalidTopic', 'queueFull']) {
      assert.equal(name in api, false, name);
    }
  });

  test('builds errors that the exported classes and isMqttError recognise', async () => {
    const client = api.connect('mqtt://127.0.0.1:1', { reconnectPeriod: 0, manualConnect: true });
    const error = await client.publishAsync('a/+', 'x').catch((e: unknown) => e);
    assert.ok(error instanceof api.MqttClientError);
    assert.ok(api.isMqttError(error));
    assert.equal(error.code, api.ClientErrorCode.InvalidTopic);
    await client.endAsync();
  });
});
