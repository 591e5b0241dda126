/**
 * The error API both entry points (index.ts, browser.ts) export: the classes, `isMqttError` and
 * the code tables. The factories in errors.ts that build them stay internal to the client.
 */
export {
  ClientErrorCode,
  type ClientErrorDetails,
  CodecReason,
  isMqttError,
  MqttClientError,
  MqttConnackError,
  MqttDecodeError,
  MqttEncodeError,
  MqttError,
  type MqttErrorDetails,
} from './errors.js';
