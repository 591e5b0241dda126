// From the README's connectAsync / publishAsync / subscribeAsync / endAsync entries.
import mqtt from "mqtt";

const client = await mqtt.connectAsync("mqtt://localhost:1883");
client.on("message", (topic, message) => console.log(topic, message.toString()));
const granted = await client.subscribeAsync("presence", { qos: 1 });
console.log("granted", granted.map((g) => `${g.topic}:${g.qos}`).join(","));
const arrived = new Promise((resolve) => client.once("message", resolve));
await client.publishAsync("presence", "Hello mqtt", { qos: 1 });
await arrived;
await client.unsubscribeAsync("presence");
await client.endAsync();
console.log("connected", client.connected);
