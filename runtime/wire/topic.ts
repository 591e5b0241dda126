/**
 * Topic rules the codec enforces on every packet it reads or writes (MQTT 5.0 §4.7, §4.8.2), and
 * the client checks before it queues a PUBLISH or SUBSCRIBE (runtime/topic.ts). Each returns what
 * is wrong, ending with the statement broken in brackets, or undefined when the topic is valid.
 * The MQTT 5.0 statement ids are used; 3.1.1 states the same rules (its §4.7.1, §4.7.3).
 */

/**
 * A Topic Name, as in PUBLISH, the Will Topic and the Response Topic: at least one character
 * [MQTT-4.7.3-1] (unless `allowEmpty`: an MQTT 5 PUBLISH with a Topic Alias may send an empty
 * one, which its own rules check) and no wildcards [MQTT-4.7.0-1].
 */
export function topicNameProblem(topic: string, allowEmpty = false): string | undefined {
  const rule = topicNameRule(topic, allowEmpty);
  return rule && `Topic Name "${topic}" ${rule}`;
}

/**
 * A Topic Filter, as in SUBSCRIBE and UNSUBSCRIBE. With `shared` (MQTT 5), a filter that
 * starts with `$share/` is a Shared Subscription, `$share/{ShareName}/{filter}` (§4.8.2).
 */
export function topicFilterProblem(filter: string, shared = false): string | undefined {
  const rule = topicFilterRule(filter, shared);
  return rule && `Topic Filter "${filter}" ${rule}`;
}

/** The rule a Topic Name breaks, without the name (for messages that show it already). */
export function topicNameRule(topic: string, allowEmpty = false): string | undefined {
  if (topic.length === 0 && !allowEmpty) return 'must not be empty [MQTT-4.7.3-1]';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */) {
      return `must not contain the wildcard '${topic[i]}' [MQTT-4.7.0-1]`;
    }
  }
  return undefined;
}

const SHARE = '$share/';

/** The rule a Topic Filter breaks, without the filter (for messages that show it already). */
export function topicFilterRule(filter: string, shared = false): string | undefined {
  if (shared && filter.startsWith(SHARE)) {
    const slash = filter.indexOf('/', SHARE.length);
    const shareName = filter.slice(SHARE.length, slash === -1 ? filter.length : slash);
    if (shareName.length === 0) return 'needs a ShareName after $share/ [MQTT-4.8.2-1]';
    if (shareName.includes('+') || shareName.includes('#')) {
      return "must not have '+' or '#' in its ShareName [MQTT-4.8.2-2]";
    }
    if (slash === -1 || slash === filter.length - 1) {
      return "needs '/' and a Topic Filter after the ShareName [MQTT-4.8.2-2]";
    }
    filter = filter.slice(slash + 1);
  }
  const n = filter.length;
  if (n === 0) return 'must not be empty [MQTT-4.7.3-1]';
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0x23) {
      // '#' stands alone in the last level [MQTT-4.7.1-1]
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== 0x2f)) {
        return "must have '#' only as the last level, on its own [MQTT-4.7.1-1]";
      }
    } else if (c === 0x2b) {
      // '+' occupies a whole level [MQTT-4.7.1-2]
      const before = i === 0 || filter.charCodeAt(i - 1) === 0x2f;
      const after = i === n - 1 || filter.charCodeAt(i + 1) === 0x2f;
      if (!before || !after) return "must have '+' only as a whole level [MQTT-4.7.1-2]";
    }
  }
  return undefined;
}
