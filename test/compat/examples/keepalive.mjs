// `client.keepalive`: the keepalive in use, in seconds (the option, unless the broker sets one).
import mqtt from "mqtt";

const client = mqtt.connect("mqtt://localhost:1883", { keepalive: 30 });
console.log("before", client.keepalive);
client.on("connect", () => {
  console.log("connected", client.keepalive);
  client.end();
});
