/**
 * A small MQTT 3.1 / 3.1.1 / 5 broker built on `mqttforge/codec` alone: what a broker author
 * gets from the generated Decoder and encoder. It routes PUBLISH to matching subscriptions with
 * QoS 0/1/2, keeps retained messages, sends wills, and passes MQTT 5 properties through.
 * It is a demonstration, not a production broker: no persistence, no retries, no auth.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  Decoder,
  encode,
  isMqttError,
  type Packet,
  type PacketInput,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
} from '../generated/index.js';

interface Subscription {
  filter: string;
  qos: QoS;
  nl: boolean;
  rap: boolean;
  subscriptionIdentifier?: number;
}

interface Session {
  socket: Socket;
  version: ProtocolVersion;
  clientId: string;
  subscriptions: Map<string, Subscription>;
  nextId: number;
  /** Incoming QoS 2 ids between PUBREC and PUBREL: a DUP resend is not routed twice. */
  qos2: Set<number>;
  will?: PublishPacket;
}

/** Topic Filter matching (MQTT 5.0 §4.7): `+` one level, `#` the rest; `$` topics need a literal first level. */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && !filter.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export class MiniBroker {
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private readonly retained = new Map<string, PublishPacket>();

  constructor(private readonly log: (line: string) => void = () => {}) {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1 (port 0: a free one); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const decoder = new Decoder();
    let session: Session | undefined;
    socket.on('data', (chunk) => {
      let packets: Packet[];
      try {
        packets = decoder.push(chunk);
      } catch (error) {
        // A bad packet ends the connection; MQTT 5 clients are told why [MQTT-4.13.1-1].
        const reason = isMqttError(error) ? (error.reasonCode ?? 0x81) : 0x81;
        this.log(`bad packet: ${(error as Error).message}`);
        if (session?.version === 5) this.send(session, { cmd: 'disconnect', reasonCode: reason });
        socket.destroy();
        return;
      }
      for (const packet of packets) {
        if (!session) {
          if (packet.cmd !== 'connect') {
            socket.destroy();
            return;
          }
          session = this.connect(socket, packet);
        } else {
          this.handle(session, packet);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!session) return;
      this.sessions.delete(session);
      if (session.will) this.route(session.will);
    });
  }

  private connect(socket: Socket, packet: Extract<Packet, { cmd: 'connect' }>): Session {
    const session: Session = {
      socket,
      version: packet.protocolVersion,
      clientId: packet.clientId || `mini-${Math.random().toString(16).slice(2, 10)}`,
      subscriptions: new Map(),
      nextId: 1,
      qos2: new Set(),
    };
    if (packet.will) {
      const { topic, payload, qos, retain, properties } = packet.will;
      session.will = { cmd: 'publish', topic, payload, qos, retain, dup: false };
      if (properties) {
        const { willDelayInterval: _delay, ...rest } = properties;
        session.will.properties = rest;
      }
    }
    this.sessions.add(session);
    if (session.version === 5) {
      const properties = packet.clientId ? {} : { assignedClientIdentifier: session.clientId };
      this.send(session, { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties });
    } else {
      this.send(session, { cmd: 'connack', sessionPresent: false, returnCode: 0 });
    }
    this.log(`${session.clientId} connected (protocol level ${session.version})`);
    return session;
  }

  private handle(s: Session, packet: Packet): void {
    switch (packet.cmd) {
      case 'publish':
        this.onPublish(s, packet);
        return;
      case 'pubrel':
        s.qos2.delete(packet.messageId);
        this.send(s, { cmd: 'pubcomp', messageId: packet.messageId });
        return;
      case 'pubrec':
        this.send(s, { cmd: 'pubrel', messageId: packet.messageId });
        return;
      case 'puback':
      case 'pubcomp':
        return;
      case 'subscribe': {
        const granted: number[] = [];
        const id = packet.properties?.subscriptionIdentifier;
        for (const sub of packet.subscriptions) {
          s.subscriptions.set(sub.topic, {
            filter: sub.topic,
            qos: sub.qos,
            nl: sub.nl === true,
            rap: sub.rap === true,
            subscriptionIdentifier: typeof id === 'number' ? id : undefined,
          });
          granted.push(sub.qos);
        }
        this.send(s, { cmd: 'suback', messageId: packet.messageId, granted });
        for (const sub of packet.subscriptions) {
          if (sub.rh === 2) continue;
          for (const msg of this.retained.values()) {
            if (matches(sub.topic, msg.topic)) this.deliver(s, s.subscriptions.get(sub.topic)!, msg, true);
          }
        }
        return;
      }
      case 'unsubscribe':
        for (const t of packet.unsubscriptions) s.subscriptions.delete(t);
        this.send(s, {
          cmd: 'unsuback',
          messageId: packet.messageId,
          ...(s.version === 5 ? { granted: packet.unsubscriptions.map(() => 0) } : {}),
        });
        return;
      case 'pingreq':
        this.send(s, { cmd: 'pingresp' });
        return;
      case 'disconnect':
        if (packet.reasonCode !== 0x04) s.will = undefined; // 0x04: Disconnect with Will Message
        s.socket.end();
        return;
      default:
        this.log(`${s.clientId}: unexpected ${packet.cmd}`);
        s.socket.destroy();
    }
  }

  private onPublish(s: Session, packet: PublishPacket): void {
    const { qos, messageId } = packet;
    if (qos === 1) this.send(s, { cmd: 'puback', messageId: messageId! });
    if (qos === 2) {
      this.send(s, { cmd: 'pubrec', messageId: messageId! });
      if (s.qos2.has(messageId!)) return; // a resend of one already routed
      s.qos2.add(messageId!);
    }
    if (packet.retain) {
      if (packet.payload.length === 0) this.retained.delete(packet.topic);
      else this.retained.set(packet.topic, packet);
    }
    this.route(packet, s);
  }

  private route(packet: PublishPacket, from?: Session): void {
    for (const target of this.sessions) {
      for (const sub of target.subscriptions.values()) {
        if (!matches(sub.filter, packet.topic)) continue;
        if (sub.nl && target === from) continue; // No Local [MQTT-3.8.3-3]
        this.deliver(target, sub, packet, false);
        break; // one copy per client (overlapping subscriptions)
      }
    }
  }

  private deliver(s: Session, sub: Subscription, packet: PublishPacket, retained: boolean): void {
    const qos = Math.min(packet.qos, sub.qos) as QoS;
    const out: PacketInput = {
      cmd: 'publish',
      topic: packet.topic,
      payload: packet.payload,
      qos,
      dup: false,
      retain: retained || (sub.rap && packet.retain),
    };
    if (qos > 0) {
      out.messageId = s.nextId;
      s.nextId = (s.nextId % 65_535) + 1;
    }
    if (s.version === 5) {
      const { topicAlias: _alias, subscriptionIdentifier: _id, ...props } = packet.properties ?? {};
      const properties = {
        ...props,
        ...(sub.subscriptionIdentifier ? { subscriptionIdentifier: sub.subscriptionIdentifier } : {}),
      };
      if (Object.keys(properties).length > 0) out.properties = properties;
    }
    this.send(s, out);
  }

  private send(s: Session, packet: PacketInput): void {
    if (!s.socket.writable) return;
    s.socket.write(encode(packet, { protocolVersion: s.version }));
  }
}
