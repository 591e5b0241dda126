/**
 * Incoming Topic Aliases (MQTT 5.0 §3.3.2.3.4): the server may map aliases 1..our Topic Alias
 * Maximum to topics for the life of the connection. State only: `resolve` returns the topic, or
 * the reason code of the DISCONNECT the client owes the server.
 */
export type AliasResolution = { topic: string } | { reasonCode: 0x82 | 0x94; message: string; spec: string };

export class TopicAliasRecv {
  private readonly topics_ = new Map<number, string>();

  /** `max` is the Topic Alias Maximum we announced in CONNECT (0 or absent: none). */
  constructor(readonly max: number) {}

  resolve(topic: string, alias: number | undefined): AliasResolution {
    if (alias === undefined) return { topic };
    if (alias === 0 || alias > this.max) {
      return {
        reasonCode: 0x94,
        message: `Topic Alias ${alias} is outside our Topic Alias Maximum ${this.max}`,
        spec: 'MQTT 5.0 §3.3.2.3.4 [MQTT-3.3.2-9]',
      };
    }
    if (topic.length > 0) {
      this.topics_.set(alias, topic);
      return { topic };
    }
    const known = this.topics_.get(alias);
    if (known === undefined) {
      return {
        reasonCode: 0x82,
        message: `Topic Alias ${alias} was never set by the server`,
        spec: 'MQTT 5.0 §3.3.4 [MQTT-3.3.4-3]',
      };
    }
    return { topic: known };
  }

  clear(): void {
    this.topics_.clear();
  }
}
