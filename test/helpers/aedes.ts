/**
 * Runs an in-process Aedes broker on a loopback port for a test file.
 *
 *   const broker = await startAedes();
 *   after(() => broker.stop());
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { listenOnLoopback } from './free-port.js';

export interface AedesBroker {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  broker: Aedes;
  server: Server;
  /** Closes the broker, drops its connections and closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startAedes(options: AedesOptions = {}): Promise<AedesBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await listenOnLoopback(server);
  let stopped = false;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    server,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
