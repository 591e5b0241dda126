// `clean: false`: QoS 1 and 2 messages sent while the client is offline arrive when it returns.
import mqtt from "mqtt";

const url = "mqtt://localhost:1883";
const options = { clientId: "compat-clean-false", clean: false };

const first = await mqtt.connectAsync(url, options);
await first.subscribeAsync("offline/+", { qos: 1 });
await first.endAsync();

const publisher = await mqtt.connectAsync(url);
await publisher.publishAsync("offline/a", "sent while away", { qos: 1 });
await publisher.endAsync();

const second = mqtt.connect(url, options);
second.on("connect", (connack) => console.log("sessionPresent", connack.sessionPresent));
second.on("message", (topic, message) => {
  console.log(topic, message.toString());
  second.end();
});
