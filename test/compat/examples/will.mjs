// `will`: the broker publishes it when the client goes away without DISCONNECT. A second client
// with the same clientId takes the session over, which drops the first connection.
import mqtt from "mqtt";

const url = "mqtt://localhost:1883";
const watcher = await mqtt.connectAsync(url);
await watcher.subscribeAsync("status/device", { qos: 1 });
const will = new Promise((resolve) => watcher.once("message", (...args) => resolve(args)));

const device = await mqtt.connectAsync(url, {
  clientId: "compat-will",
  reconnectPeriod: 0,
  will: { topic: "status/device", payload: "gone", qos: 1, retain: false },
});
const closed = new Promise((resolve) => device.once("close", resolve));
const taker = await mqtt.connectAsync(url, { clientId: "compat-will" });
await closed;
console.log("device closed");
const [topic, message, packet] = await will;
console.log(topic, message.toString(), `qos=${packet.qos}`, `retain=${packet.retain}`);
await taker.endAsync();
await watcher.endAsync();
