/**
 * Outgoing Topic Aliases (MQTT 5.0 §3.3.2.3.4). State only: `apply` says which topic and alias a
 * PUBLISH goes out with on the current connection; the client encodes. The mapping lives as long
 * as the connection [MQTT-3.3.2-7]: a new connection starts from an empty table.
 *
 *   alias ──► topic     Map in recency order: first entry = least recently used
 *   topic ──► alias     the alias a topic was last registered under
 *
 * Rules, in MQTT.js's order:
 *  - an alias the application set, with a topic: (re)register it and send both;
 *  - an alias the application set, with an empty topic: send the alias alone if it still names
 *    that topic here, else register it again (the topic is recovered at publish time);
 *  - `autoAssignTopicAlias`: a topic with an alias goes as the alias alone; a topic without one
 *    takes a vacant alias, or the least recently used one once all `max` are taken;
 *  - `autoUseTopicAlias`: a topic with an alias goes as the alias alone; others go unchanged.
 * Never more than the server's Topic Alias Maximum [MQTT-3.3.2-8].
 */
export interface AliasChoice {
  /** The Topic Name to write: '' when the alias alone names it. */
  topic: string;
  alias: number | undefined;
}

export interface AliasPolicy {
  autoUseTopicAlias?: boolean;
  autoAssignTopicAlias?: boolean;
}

export class TopicAliasSend {
  private readonly byAlias_ = new Map<number, string>();
  private readonly byTopic_ = new Map<string, number>();

  /** `max` is the server's Topic Alias Maximum (0: the server takes none). */
  constructor(readonly max: number) {}

  get size(): number {
    return this.byAlias_.size;
  }

  /** The topic an alias names on this connection. */
  topicOf(alias: number): string | undefined {
    return this.byAlias_.get(alias);
  }

  /** The alias a topic is registered under (without marking it used). */
  aliasOf(topic: string): number | undefined {
    const alias = this.byTopic_.get(topic);
    return alias !== undefined && this.byAlias_.get(alias) === topic ? alias : undefined;
  }

  /** Registers `alias` for `topic`; false when the alias is out of range. */
  put(topic: string, alias: number): boolean {
    if (!Number.isInteger(alias) || alias < 1 || alias > this.max) return false;
    const previous = this.byAlias_.get(alias);
    if (previous !== undefined && this.byTopic_.get(previous) === alias) this.byTopic_.delete(previous);
    this.byAlias_.delete(alias);
    this.byAlias_.set(alias, topic);
    this.byTopic_.set(topic, alias);
    return true;
  }

  /** The lowest vacant alias, or the least recently used one when all are taken. */
  lruAlias(): number {
    if (this.byAlias_.size < this.max) {
      for (let a = 1; a <= this.max; a++) if (!this.byAlias_.has(a)) return a;
    }
    return this.byAlias_.keys().next().value as number;
  }

  private touch_(alias: number): void {
    const topic = this.byAlias_.get(alias)!;
    this.byAlias_.delete(alias);
    this.byAlias_.set(alias, topic);
  }

  /**
   * What a PUBLISH for `topic` (never empty: the client recovers it first) goes out as.
   * `requested` is the alias the application set; `aliasOnly` that it sent an empty topic.
   * Returns null when the requested alias is out of the server's range.
   */
  apply(
    topic: string,
    requested: number | undefined,
    aliasOnly: boolean,
    policy: AliasPolicy,
  ): AliasChoice | null {
    if (requested !== undefined) {
      if (aliasOnly && this.byAlias_.get(requested) === topic) {
        this.touch_(requested);
        return { topic: '', alias: requested };
      }
      return this.put(topic, requested) ? { topic, alias: requested } : null;
    }
    if (this.max === 0 || !(policy.autoAssignTopicAlias || policy.autoUseTopicAlias)) {
      return { topic, alias: undefined };
    }
    const known = this.aliasOf(topic);
    if (known !== undefined) {
      this.touch_(known);
      return { topic: '', alias: known };
    }
    if (!policy.autoAssignTopicAlias) return { topic, alias: undefined };
    const alias = this.lruAlias();
    this.put(topic, alias);
    return { topic, alias };
  }

  clear(): void {
    this.byAlias_.clear();
    this.byTopic_.clear();
  }
}
