// `will`: the broker publishes it when the client goes away without DISCONNECT. A second client
// with the same clientId takes the session over, which drops the first connection.
import mqtt from "mqtt";

const url = "mqtt://localhost:1883";
const watcher = await mqtt.connectAsync(url);
watcher.on("message", (topic, message, packet) => {
  console.log(topic, message.toString(), `qos=${packet.qos}`, `retain=${packet.retain}`);
  watcher.end();
  taker.end();
});
await watcher.subscribeAsync("status/device", { qos: 1 });

const device = await mqtt.connectAsync(url, {
  clientId: "compat-will",
  reconnectPeriod: 0,
  will: { topic: "status/device", payload: "gone", qos: 1, retain: false },
});
device.on("close", () => console.log("device closed"));
const taker = mqtt.connect(url, { clientId: "compat-will" });
