// "About QoS": each level both ways, callbacks called once the flow completes.
import mqtt from "mqtt";

const client = mqtt.connect("mqtt://localhost:1883");
const received = [];
client.on("message", (topic, message, packet) => {
  received.push(`${topic} ${message} qos=${packet.qos}`);
  if (received.length === 3) {
    console.log(received.sort().join("\n"));
    client.end();
  }
});
client.on("connect", () => {
  client.subscribe({ "qos/0": { qos: 0 }, "qos/1": { qos: 1 }, "qos/2": { qos: 2 } }, (err) => {
    if (err) throw err;
    for (const qos of [0, 1, 2]) {
      client.publish(`qos/${qos}`, `at ${qos}`, { qos }, (err) => {
        if (!err) console.log(`published qos ${qos}`);
      });
    }
  });
});
