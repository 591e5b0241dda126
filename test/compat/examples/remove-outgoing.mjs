// `getLastMessageId()` and `removeOutgoingMessage(mId)`: a QoS 1 message still queued (the client
// is not connected yet) is withdrawn, and its callback gets Error('Message removed').
import mqtt from "mqtt";

const client = mqtt.connect("mqtt://localhost:1883");
client.publish("queued", "never sent", { qos: 1 }, (err) => console.log("callback", err.message));
const id = client.getLastMessageId();
console.log("id is a number", typeof id === "number");
client.removeOutgoingMessage(id);
client.on("connect", () => client.end());
