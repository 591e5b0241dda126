/**
 * Registers the Node transports: TCP and TLS, each also over unix domain sockets, and WebSocket
 * (`ws`, `wss`) through the `ws` package. Importing this module registers them in the default
 * registry; `registerNodeTransports(registry)` fills another.
 */
import { type TransportRegistry, transports } from './registry.js';
import { openTcp } from './tcp.js';
import { openTls } from './tls.js';
import { openWs } from './ws.js';

export function registerNodeTransports(registry: TransportRegistry = transports): TransportRegistry {
  registry.register(['mqtt', 'tcp', 'mqtt+unix', 'tcp+unix'], openTcp);
  registry.register(['mqtts', 'tls', 'ssl', 'mqtts+unix', 'tls+unix', 'ssl+unix'], openTls);
  registry.register(['ws', 'wss'], openWs);
  return registry;
}

registerNodeTransports();
