import { connect } from "mqtt"
const client = connect('mqtt://test.mosquitto.org')
