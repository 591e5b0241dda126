/** A raw TCP client that reads whole MQTT packets, for smoke tests of brokers and helpers. */
import { connect, type Socket } from 'node:net';
import { concat, framePacket, hex } from './fake-broker.js';

export interface RawClient {
  socket: Socket;
  send(bytes: Uint8Array | string): void;
  /** The next whole packet from the broker. */
  nextPacket(timeoutMs?: number): Promise<Uint8Array>;
  close(): void;
}

/** CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "t". */
export const CONNECT_V4 = '10 0d 0004 4d515454 04 02 003c 0001 74';
/** CONNACK, session present 0, return code 0. */
export const CONNACK_OK = '20 02 00 00';

export function rawConnect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let pending: Uint8Array = new Uint8Array(0);
    const packets: Uint8Array[] = [];
    const waiters: Array<() => void> = [];
    socket.on('data', (chunk: Buffer) => {
      pending = concat(pending, chunk);
      for (let size = framePacket(pending); size > 0; size = framePacket(pending)) {
        packets.push(pending.subarray(0, size));
        pending = pending.subarray(size);
      }
      for (const waiter of waiters.splice(0)) waiter();
    });
    socket.on('close', () => {
      for (const waiter of waiters.splice(0)) waiter();
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        send: (bytes) => socket.write(typeof bytes === 'string' ? hex(bytes) : bytes),
        nextPacket: (timeoutMs = 2000) =>
          new Promise((resolvePacket, rejectPacket) => {
            const timer = setTimeout(
              () => rejectPacket(new Error(`no packet within ${timeoutMs} ms`)),
              timeoutMs,
            );
            const check = () => {
              const packet = packets.shift();
              if (packet) {
                clearTimeout(timer);
                resolvePacket(packet);
              } else if (socket.destroyed || socket.readableEnded) {
                clearTimeout(timer);
                rejectPacket(new Error('connection closed'));
              } else waiters.push(check);
            };
            check();
          }),
        close: () => socket.destroy(),
      }),
    );
  });
}
