/**
 * Checks of values the encoder is handed, shared by every generated encoder. Each throws
 * an MqttEncodeError naming the field, so a bad packet object never becomes bad bytes.
 */
import { encodeError } from './errors.js';
import { topicFilterProblem, topicNameProblem } from './topic.js';
import { encodeText, utf8Length } from './utf8.js';

export function checkInt(value: unknown, min: number, max: number, what: string, spec?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw encodeError(
      'MQTT_ERR_FIELD_VALUE',
      `${what} must be an integer from ${min} to ${max}, got ${String(value)}`,
      spec,
    );
  }
  return value;
}

export function checkBool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean')
    throw encodeError('MQTT_ERR_FIELD_VALUE', `${what} must be a boolean, got ${String(value)}`);
  return value;
}

/** Byte length of a UTF-8 Encoded String field (checked: type, content, 65,535 bytes). */
export function stringLength(value: unknown, what: string): number {
  if (typeof value !== 'string')
    throw encodeError('MQTT_ERR_FIELD_TYPE', `${what} must be a string, got ${typeof value}`);
  const n = utf8Length(value, what);
  if (n > 65_535)
    throw encodeError(
      'MQTT_ERR_STRING_TOO_LONG',
      `${what} is ${n} bytes; the limit is 65,535`,
      'MQTT 5.0 §1.5.4',
    );
  return n;
}

/** Binary Data or payload given as bytes or a string (encoded as UTF-8). */
export function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return encodeText(value);
  throw encodeError('MQTT_ERR_FIELD_TYPE', `${what} must be a Uint8Array or a string, got ${typeof value}`);
}

export function binaryBytes(value: unknown, what: string): Uint8Array {
  const b = toBytes(value, what);
  if (b.length > 65_535)
    throw encodeError(
      'MQTT_ERR_BINARY_TOO_LONG',
      `${what} is ${b.length} bytes; the limit is 65,535`,
      'MQTT 5.0 §1.5.6',
    );
  return b;
}

export function required(value: unknown, what: string, packet: string): void {
  if (value === undefined || value === null)
    throw encodeError('MQTT_ERR_FIELD_MISSING', `${packet}: ${what} is missing`);
}

/**
 * Byte length of a Topic Name, checked in the same pass: a string, no wildcards [MQTT-3.3.2-2],
 * not empty unless `allowEmpty` [MQTT-4.7.3-1]. Plain ASCII topics, the common case, take one
 * loop; anything else goes through the general string checks.
 */
export function topicNameLength(value: unknown, what: string, allowEmpty: boolean, spec: string): number {
  if (typeof value === 'string' && value.length <= 65_535 && (value.length > 0 || allowEmpty)) {
    let i = 0;
    const n = value.length;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || c === 0 || c === 0x23 || c === 0x2b) break;
    }
    if (i === n) return n;
  }
  const len = stringLength(value, what);
  const problem = topicNameProblem(value as string, allowEmpty);
  if (problem !== undefined)
    throw encodeError('MQTT_ERR_TOPIC_NAME_INVALID', `${what}: ${problem}`, spec, 0x90);
  return len;
}

/** EXPERIMENT: byte length of a Topic Filter with its wildcard rules checked in the same pass. */
export function topicFilterLength(value: unknown, what: string, shared: boolean, spec: string): number {
  // A leading '$' may be $share/: the general check handles it.
  if (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 65_535 &&
    value.charCodeAt(0) !== 0x24
  ) {
    const n = value.length;
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || c === 0) break;
      if (c === 0x2b) {
        if ((i > 0 && value.charCodeAt(i - 1) !== 0x2f) || (i < n - 1 && value.charCodeAt(i + 1) !== 0x2f))
          break;
      } else if (c === 0x23) {
        if (i !== n - 1 || (i > 0 && value.charCodeAt(i - 1) !== 0x2f)) break;
      }
    }
    if (i === n) return n;
  }
  const len = stringLength(value, what);
  const problem = topicFilterProblem(value as string, shared);
  if (problem !== undefined)
    throw encodeError('MQTT_ERR_TOPIC_FILTER_INVALID', `${what}: ${problem}`, spec, 0x8f);
  return len;
}
