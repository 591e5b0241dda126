/**
 * Operations for the packets a persistent outgoing store still holds: a PUBLISH not yet
 * acknowledged is sent again with DUP set (it may have reached the server), a PUBREL is sent
 * again to finish its QoS 2 flow [MQTT-4.4.0-1]. Pure: the client queues what this returns.
 */
import type { PacketInput, PublishPacketInput } from '../../generated/index.js';
import type { PacketWithId } from '../store.js';
import type { Operation, Outgoing } from './outgoing.js';

export function restoredOperations(packets: readonly PacketWithId[], outgoing: Outgoing): Operation[] {
  const ops: Operation[] = [];
  const seen = new Set<number>();
  for (const stored of packets) {
    const id = stored.messageId;
    if (id === undefined || seen.has(id) || outgoing.has(id)) continue;
    if (stored.cmd === 'publish') {
      const packet = stored as unknown as PublishPacketInput;
      if (!packet.qos) continue;
      const op = outgoing.create(packet, packet.qos, undefined, packet.qos === 2 ? packet : undefined);
      op.sentBefore = true;
      ops.push(op);
    } else if (stored.cmd === 'pubrel') {
      ops.push(outgoing.create(stored as unknown as PacketInput, 2, undefined));
    } else continue;
    seen.add(id);
  }
  return ops;
}
