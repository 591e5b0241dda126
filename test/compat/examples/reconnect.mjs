// `reconnect()`: connect again with the same options.
import mqtt from "mqtt";

const client = mqtt.connect("mqtt://localhost:1883", { clientId: "compat-reconnect-call" });
let connects = 0;
client.on("connect", () => {
  connects += 1;
  console.log("connect", connects, client.options.clientId);
  if (connects === 1) {
    client.end(false, () => client.reconnect());
  } else {
    client.end();
  }
});
