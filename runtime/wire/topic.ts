/**
 * Topic rules the codec enforces on every packet it reads or writes (MQTT 5.0 §4.7).
 * Return a description of the first problem, or undefined when the topic is valid.
 */

/**
 * A Topic Name, as in PUBLISH, the Will Topic and the Response Topic: at least one character
 * [MQTT-4.7.3-1] (unless `allowEmpty`: an MQTT 5 PUBLISH with a Topic Alias may send an empty
 * one, which its own rules check) and no wildcards [MQTT-3.3.2-2].
 */
export function topicNameProblem(topic: string, allowEmpty = false): string | undefined {
  if (topic.length === 0 && !allowEmpty) return 'Topic Name is empty [MQTT-4.7.3-1]';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */) return `Topic Name "${topic}" contains a wildcard`;
  }
  return undefined;
}

const SHARE = '$share/';

/**
 * A Topic Filter, as in SUBSCRIBE and UNSUBSCRIBE. With `shared` (MQTT 5), a filter that
 * starts with `$share/` is a Shared Subscription, `$share/{ShareName}/{filter}` (§4.8.2).
 */
export function topicFilterProblem(filter: string, shared = false): string | undefined {
  if (shared && filter.startsWith(SHARE)) {
    const slash = filter.indexOf('/', SHARE.length);
    const shareName = filter.slice(SHARE.length, slash === -1 ? filter.length : slash);
    // the ShareName is at least one character, without '/', '+' or '#' [MQTT-4.8.2-1, MQTT-4.8.2-2]
    if (shareName.length === 0 || shareName.includes('+') || shareName.includes('#')) {
      return `Shared Subscription "${filter}": the ShareName must be one or more characters other than '/', '+' and '#' [MQTT-4.8.2-1, MQTT-4.8.2-2]`;
    }
    // ... and is followed by '/' and a Topic Filter [MQTT-4.8.2-2]
    if (slash === -1)
      return `Shared Subscription "${filter}" has no Topic Filter after the ShareName [MQTT-4.8.2-2]`;
    const problem = plainFilterProblem(filter.slice(slash + 1));
    return problem === undefined ? undefined : `Shared Subscription "${filter}": ${problem}`;
  }
  return plainFilterProblem(filter);
}

function plainFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'Topic Filter is empty [MQTT-4.7.3-1]';
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0x23) {
      // '#' stands alone in the last level [MQTT-4.7.1-1]
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== 0x2f)) {
        return `Topic Filter "${filter}": '#' must be the last level, alone [MQTT-4.7.1-1]`;
      }
    } else if (c === 0x2b) {
      // '+' occupies a whole level [MQTT-4.7.1-2]
      const before = i === 0 || filter.charCodeAt(i - 1) === 0x2f;
      const after = i === n - 1 || filter.charCodeAt(i + 1) === 0x2f;
      if (!before || !after) return `Topic Filter "${filter}": '+' must occupy a whole level [MQTT-4.7.1-2]`;
    }
  }
  return undefined;
}
