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

/** A Topic Filter, as in SUBSCRIBE and UNSUBSCRIBE. */
export function topicFilterProblem(filter: string): string | undefined {
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
