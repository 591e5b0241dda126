// `reconnectPeriod`: after the connection drops, the client reconnects on its own. The drop is a
// session takeover by a second client with the same clientId.
import mqtt from "mqtt";

const url = "mqtt://localhost:1883";
const client = mqtt.connect(url, { clientId: "compat-reconnect", reconnectPeriod: 100 });
let connects = 0;
for (const event of ["offline", "close", "reconnect", "end"]) client.on(event, () => console.log(event));
client.on("connect", async () => {
  connects += 1;
  console.log("connect", connects);
  if (connects === 1) {
    const taker = await mqtt.connectAsync(url, { clientId: "compat-reconnect", reconnectPeriod: 0 });
    taker.on("close", () => console.log("taker closed"));
  } else {
    client.end();
  }
});
