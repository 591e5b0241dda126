/**
 * Client-side checks of topic names and topic filters, with messages meant for users: these run
 * before a PUBLISH/SUBSCRIBE is queued so that the caller gets the error, not the broker. The
 * wildcard and Shared Subscription rules are the codec's own (wire/topic.ts); the string rules
 * (no U+0000, well-formed UTF-16, 65535 bytes) are checked here first, with their own messages.
 */
import { topicFilterRule, topicNameRule } from './wire/topic.js';

export interface TopicProblem {
  /** What is wrong, for a user. */
  message: string;
  /** Where the rule comes from. */
  spec: string;
}

const MAX_UTF8_BYTES = 65535;

function problem(message: string, spec: string): TopicProblem {
  return { message, spec };
}

/**
 * Checks the rules shared by names and filters: non-empty, no U+0000, well-formed UTF-16 (so
 * it can be UTF-8 encoded) and at most 65535 bytes once encoded.
 */
function checkString(value: string): TopicProblem | null {
  if (typeof value !== 'string') {
    return problem('must be a string', 'MQTT 5.0 §4.7.3');
  }
  if (value.length === 0) {
    return problem('must be at least one character long', 'MQTT 5.0 §4.7.3 [MQTT-4.7.3-1]');
  }
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0) {
      return problem('must not contain the null character U+0000', 'MQTT 5.0 §4.7.3 [MQTT-4.7.3-2]');
    }
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        return problem('contains an unpaired surrogate', 'MQTT 5.0 §1.5.4 [MQTT-1.5.4-1]');
      }
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return problem('contains an unpaired surrogate', 'MQTT 5.0 §1.5.4 [MQTT-1.5.4-1]');
    } else bytes += 3;
  }
  if (bytes > MAX_UTF8_BYTES) {
    return problem(`is ${bytes} bytes long in UTF-8, more than 65535`, 'MQTT 5.0 §4.7.3 [MQTT-4.7.3-3]');
  }
  return null;
}

/**
 * Checks a Topic Name (PUBLISH, Will). Returns what is wrong, or null when it is valid.
 * (An empty name with a Topic Alias is the session's business, not this check's.)
 */
export function validateTopicName(topic: string): TopicProblem | null {
  return checkString(topic) ?? fromRule(topicNameRule(topic));
}

/**
 * Checks a Topic Filter (SUBSCRIBE, UNSUBSCRIBE), including the `$share/{ShareName}/{filter}`
 * form of a Shared Subscription. Returns what is wrong, or null when it is valid.
 */
export function validateTopicFilter(filter: string): TopicProblem | null {
  return checkString(filter) ?? fromRule(topicFilterRule(filter, true));
}

/** The codec's "<what> [MQTT-4.7.1-1]" as a message and the section and statement it breaks. */
function fromRule(rule: string | undefined): TopicProblem | null {
  if (rule === undefined) return null;
  const at = rule.indexOf(' [MQTT-');
  // MQTT-4.7.1-1 is in §4.7.1; MQTT-4.7.0-1 in §4.7.
  const section = rule.slice(at + 7, rule.indexOf('-', at + 7)).replace(/\.0$/, '');
  return problem(rule.slice(0, at), `MQTT 5.0 §${section} ${rule.slice(at + 1)}`);
}
