// MQTT 5: CONNECT properties, PUBLISH properties passed through the broker, serverProperties.
import mqtt from "mqtt";

const client = await mqtt.connectAsync("mqtt://localhost:1883", {
  protocolVersion: 5,
  properties: { sessionExpiryInterval: 0, receiveMaximum: 100, userProperties: { app: "compat" } },
});
console.log("serverProperties", typeof client.serverProperties);
client.on("message", (topic, message, packet) => {
  const p = packet.properties;
  console.log(topic, message.toString());
  console.log("contentType", p.contentType);
  console.log("responseTopic", p.responseTopic);
  console.log("correlationData", p.correlationData.toString());
  console.log("userProperties", JSON.stringify(p.userProperties));
  console.log("messageExpiryInterval", p.messageExpiryInterval <= 60);
  client.end();
});
await client.subscribeAsync("v5/props", { qos: 1, nl: false, rap: true, rh: 0 });
await client.publishAsync("v5/props", "{\"on\":true}", {
  qos: 1,
  properties: {
    contentType: "application/json",
    responseTopic: "v5/reply",
    correlationData: Buffer.from("req-1"),
    userProperties: { a: "1", b: ["2", "3"] },
    messageExpiryInterval: 60,
  },
});
