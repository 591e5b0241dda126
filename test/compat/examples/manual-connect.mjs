// `manualConnect`: nothing happens until client.connect() is called.
import mqtt from "mqtt";

const client = mqtt.connect("mqtt://localhost:1883", { manualConnect: true });
client.on("connect", () => {
  console.log("connected", client.connected);
  client.end();
});
setTimeout(() => {
  console.log("before connect()", client.connected);
  client.connect();
}, 200);
