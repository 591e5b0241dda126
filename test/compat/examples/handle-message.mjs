// `handleMessage` override: one message at a time; the next waits for the callback.
import mqtt from "mqtt";

const client = await mqtt.connectAsync("mqtt://localhost:1883");
let handled = 0;
client.handleMessage = (packet, callback) => {
  console.log("start", packet.payload.toString());
  setTimeout(() => {
    console.log("done", packet.payload.toString());
    callback();
    handled += 1;
    if (handled === 3) client.end();
  }, 50);
};
await client.subscribeAsync("backpressure", { qos: 1 });
for (const n of [1, 2, 3]) client.publish("backpressure", `m${n}`, { qos: 1 });
