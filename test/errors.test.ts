import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ClientErrorCode,
  clientEnded,
  connackReturnCodeToReason,
  connectionClosed,
  connectTimeout,
  invalidQos,
  invalidTopic,
  isMqttError,
  keepaliveTimeout,
  MqttClientError,
  MqttConnackError,
  MqttDecodeError,
  MqttError,
  noMessageId,
  packetTooLarge,
  queueFull,
  serverDisconnect,
} from '../runtime/errors.js';

describe('client errors', () => {
  test('extend MqttError and are recognised by isMqttError', () => {
    const error = connectionClosed();
    assert.ok(error instanceof MqttClientError);
    assert.ok(error instanceof MqttError);
    assert.ok(isMqttError(error));
    assert.equal(error.code, 'MQTT_ERR_CONNECTION_CLOSED');
    assert.equal(error.name, 'MqttClientError');
  });

  test('re-exports the codec error classes', () => {
    const error = new MqttDecodeError('bad', { code: 'MQTT_ERR_X' });
    assert.ok(isMqttError(error));
  });

  test('every factory sets its stable code', () => {
    const cases: Array<[MqttClientError, string]> = [
      [clientEnded(), ClientErrorCode.ClientEnded],
      [connectTimeout(), ClientErrorCode.ConnectTimeout],
      [keepaliveTimeout(), ClientErrorCode.KeepaliveTimeout],
      [invalidQos(3), ClientErrorCode.InvalidQos],
      [packetTooLarge('publish', 2000, 1000), ClientErrorCode.PacketTooLarge],
      [noMessageId(), ClientErrorCode.NoMessageId],
      [queueFull(10), ClientErrorCode.QueueFull],
      [serverDisconnect(0x8b, 'Server shutting down'), ClientErrorCode.ServerDisconnect],
    ];
    for (const [error, code] of cases) assert.equal(error.code, code);
  });

  test('carries the MQTT 5 reason code where one applies', () => {
    assert.equal(keepaliveTimeout().reasonCode, 0x8d);
    assert.equal(packetTooLarge('publish', 2, 1).reasonCode, 0x95);
    assert.equal(serverDisconnect(0x8b, 'Server shutting down').reasonCode, 0x8b);
    assert.equal(connectionClosed().reasonCode, undefined);
  });

  test('invalidTopic maps names and filters to their reason codes and keeps the spec', () => {
    const problem = { message: 'bad', spec: 'MQTT 5.0 §4.7.1 [MQTT-4.7.1-1]' };
    const name = invalidTopic('a/+', problem, false);
    const filter = invalidTopic('a#', problem, true);
    assert.equal(name.code, 'MQTT_ERR_INVALID_TOPIC');
    assert.equal(name.reasonCode, 0x90);
    assert.equal(filter.reasonCode, 0x8f);
    assert.equal(name.spec, problem.spec);
  });
});

describe('MqttConnackError', () => {
  test('keeps an MQTT 3.1.1 return code and maps it to the MQTT 5 reason code', () => {
    const error = new MqttConnackError(4, 5, 'Not authorized');
    assert.equal(error.code, 'MQTT_ERR_CONNACK_REFUSED');
    assert.equal(error.returnCode, 5);
    assert.equal(error.reasonCode, 0x87);
    assert.equal(error.reasonName, 'Not authorized');
    assert.equal(error.message, 'Connection refused: Not authorized');
    assert.ok(error instanceof MqttClientError);
  });

  test('uses an MQTT 5 reason code as is', () => {
    const error = new MqttConnackError(5, 0x86, 'Bad User Name or Password');
    assert.equal(error.returnCode, 0x86);
    assert.equal(error.reasonCode, 0x86);
  });

  test('maps an unknown 3.1.1 return code to Unspecified error', () => {
    assert.equal(connackReturnCodeToReason(1), 0x84);
    assert.equal(connackReturnCodeToReason(42), 0x80);
  });
});
