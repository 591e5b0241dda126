/**
 * The error types of the codec. Every condition the codec rejects carries a stable `code`,
 * the MQTT 5 reason code it maps to, and the spec reference that defines the rule.
 *
 * Errors are branded with a symbol so that `isMqttError` works across duplicate installs
 * of the package, where `instanceof` would not.
 */

const brand = Symbol.for('mqttforge.error');

/** MQTT 5 reason codes the codec itself produces (MQTT 5.0 §2.4). */
export const CodecReason = {
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  TopicNameInvalid: 0x90,
  PacketTooLarge: 0x95,
} as const;

export interface MqttErrorDetails {
  /** Stable machine-readable code, e.g. `MQTT_ERR_MALFORMED_VBI`. */
  code: string;
  /** The MQTT 5 reason code this condition maps to, if one applies. */
  reasonCode?: number;
  /** Where the rule comes from, e.g. `MQTT 5.0 §1.5.5 [MQTT-1.5.5-1]`. */
  spec?: string;
  cause?: unknown;
}

export class MqttError extends Error {
  readonly code: string;
  readonly reasonCode: number | undefined;
  readonly spec: string | undefined;

  constructor(message: string, details: MqttErrorDetails) {
    super(details.spec ? `${message} (${details.spec})` : message, { cause: details.cause });
    this.name = 'MqttError';
    this.code = details.code;
    this.reasonCode = details.reasonCode;
    this.spec = details.spec;
    Object.defineProperty(this, brand, { value: true });
  }
}

/** Bytes that are not a valid MQTT packet for the negotiated protocol version. */
export class MqttDecodeError extends MqttError {
  constructor(message: string, details: MqttErrorDetails) {
    super(message, details);
    this.name = 'MqttDecodeError';
  }
}

/** A packet object that cannot be written as a valid MQTT packet. */
export class MqttEncodeError extends MqttError {
  constructor(message: string, details: MqttErrorDetails) {
    super(message, details);
    this.name = 'MqttEncodeError';
  }
}

export function isMqttError(value: unknown): value is MqttError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export function malformed(code: string, message: string, spec?: string): MqttDecodeError {
  return new MqttDecodeError(message, { code, reasonCode: CodecReason.MalformedPacket, spec });
}

export function protocolError(code: string, message: string, spec?: string): MqttDecodeError {
  return new MqttDecodeError(message, { code, reasonCode: CodecReason.ProtocolError, spec });
}

export function encodeError(
  code: string,
  message: string,
  spec?: string,
  reasonCode?: number,
): MqttEncodeError {
  return new MqttEncodeError(message, { code, reasonCode, spec });
}
