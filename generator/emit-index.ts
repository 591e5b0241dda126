/** generated/index.ts: the `mqttforge/codec` entry point. */
export function emitIndex(): string {
  return `export { isMqttError, MqttDecodeError, MqttEncodeError, MqttError } from '../runtime/wire/errors.js';
export { ClientDecoder, type DecodeOptions, Decoder, decode, PacketDecoder } from './decode.js';
export { type EncodeOptions, encode, encodeFromClient, encodePublishParts } from './encode.js';
export * from './packets.js';
export * from './properties.js';
export * from './reason-codes.js';`;
}
