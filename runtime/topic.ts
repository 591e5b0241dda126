/**
 * Client-side checks of topic names and topic filters, with messages meant for users. The codec
 * checks only what it must to write a valid packet; these run before a PUBLISH/SUBSCRIBE is queued
 * so that the caller gets the error, not the broker.
 */

export interface TopicProblem {
  /** What is wrong, for a user. */
  message: string;
  /** Where the rule comes from. */
  spec: string;
}

const MAX_UTF8_BYTES = 65535;
const SHARE_PREFIX = '$share/';

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
  const base = checkString(topic);
  if (base) return base;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // '#' 0x23, '+' 0x2b
    if (c === 0x23 || c === 0x2b) {
      return problem(
        `must not contain the wildcard '${topic[i]}'`,
        'MQTT 5.0 §4.7.1 [MQTT-4.7.1-1] [MQTT-3.3.2-2]',
      );
    }
  }
  return null;
}

/**
 * Checks a Topic Filter (SUBSCRIBE, UNSUBSCRIBE), including the `$share/{ShareName}/{filter}`
 * form of a Shared Subscription. Returns what is wrong, or null when it is valid.
 */
export function validateTopicFilter(filter: string): TopicProblem | null {
  const base = checkString(filter);
  if (base) return base;
  if (filter.startsWith(SHARE_PREFIX)) {
    const rest = filter.slice(SHARE_PREFIX.length);
    const slash = rest.indexOf('/');
    const shareName = slash === -1 ? rest : rest.slice(0, slash);
    if (shareName.length === 0) {
      return problem(
        'a shared subscription needs a ShareName after $share/',
        'MQTT 5.0 §4.8.2 [MQTT-4.8.2-1]',
      );
    }
    if (shareName.includes('+') || shareName.includes('#')) {
      return problem("the ShareName must not contain '+' or '#'", 'MQTT 5.0 §4.8.2 [MQTT-4.8.2-2]');
    }
    if (slash === -1 || slash === rest.length - 1) {
      return problem(
        "the ShareName must be followed by '/' and a topic filter",
        'MQTT 5.0 §4.8.2 [MQTT-4.8.2-2]',
      );
    }
    return checkWildcards(rest.slice(slash + 1));
  }
  return checkWildcards(filter);
}

function checkWildcards(filter: string): TopicProblem | null {
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = filter[i];
    if (c === '#') {
      if (i !== last) {
        return problem("'#' must be the last character", 'MQTT 5.0 §4.7.1.2 [MQTT-4.7.1-2]');
      }
      if (i > 0 && filter[i - 1] !== '/') {
        return problem("'#' must be on its own or follow '/'", 'MQTT 5.0 §4.7.1.2 [MQTT-4.7.1-2]');
      }
    } else if (c === '+') {
      if ((i > 0 && filter[i - 1] !== '/') || (i < last && filter[i + 1] !== '/')) {
        return problem("'+' must occupy an entire topic level", 'MQTT 5.0 §4.7.1.3 [MQTT-4.7.1-3]');
      }
    }
  }
  return null;
}
