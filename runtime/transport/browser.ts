/**
 * Registers the browser and mini-program transports: the browser's WebSocket (`ws`, `wss`),
 * WeChat (`wx`, `wxs`) and Alipay (`ali`, `alis`). As in MQTT.js, `mqtt://` and `mqtts://` fall
 * back to `ws`/`wss` here (see `TransportRegistry.choose`).
 */
import { openAli } from './ali.js';
import { openBrowserWs } from './browser-ws.js';
import { type TransportRegistry, transports } from './registry.js';
import { openWx } from './wx.js';

export function registerBrowserTransports(registry: TransportRegistry = transports): TransportRegistry {
  registry.register(['ws', 'wss'], openBrowserWs);
  registry.register(['wx', 'wxs'], openWx);
  registry.register(['ali', 'alis'], openAli);
  return registry;
}
