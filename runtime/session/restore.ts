/**
 * Operations for the packets a persistent outgoing store still holds: a PUBLISH not yet
 * acknowledged is sent again with DUP set (it may have reached the server), a PUBREL is sent
 * again to finish its QoS 2 flow [MQTT-4.4.0-1] (with the PUBLISH it completes when the store kept it,
 * for a server that lost the session). Pure: the client queues what this returns.
 */
import type { PacketInput, PublishPacketInput } from '../../generated/index.js';
import type { PacketWithId } from '../store.js';
import type { Operation, Outgoing } from './outgoing.js';

export function restoredOperations(packets: readonly PacketWithId[], outgoing: Outgoing): Operation[] {
  const items: { packet: PacketInput; qos: 0 | 1 | 2; context?: unknown; resend: boolean }[] = [];
  const seen = new Set<number>();
  for (const stored of packets) {
    const id = stored.messageId;
    if (id === undefined || seen.has(id) || outgoing.has(id)) continue;
    if (stored.cmd === 'publish') {
      const packet = stored as unknown as PublishPacketInput;
      if (!packet.qos) continue;
      items.push({ packet, qos: packet.qos, context: packet.qos === 2 ? packet : undefined, resend: true });
    } else if (stored.cmd === 'pubrel') {
      // A store that kept the PUBLISH (FileStore) lets a server without the session get it again.
      const original = (stored as { original?: PublishPacketInput }).original;
      items.push({ packet: { cmd: 'pubrel', messageId: id }, qos: 2, context: original, resend: false });
    } else continue;
    seen.add(id);
  }
  const ops = outgoing.createOlder(items);
  // A PUBLISH from the store may have reached the server: it goes again with DUP set.
  ops.forEach((op, i) => {
    op.sentBefore = items[i]!.resend;
  });
  return ops;
}
