// MQTT over WebSocket: a ws:// URL, otherwise the same client.
import mqtt from "mqtt";

const client = mqtt.connect("ws://localhost:8080");
client.on("connect", () => {
  client.subscribe("ws/presence", () => client.publish("ws/presence", "Hello over ws"));
});
client.on("message", (topic, message) => {
  console.log(topic, message.toString());
  client.end();
});
