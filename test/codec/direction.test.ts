/**
 * The client's halves of the codec: ClientDecoder reads what a server may send and
 * encodeFromClient writes what a client may send (MQTT 5.0 §2.1.2, Table 2-1). Each is checked
 * against the full Decoder and encode on every golden fixture.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientDecoder, Decoder, encode, encodeFromClient, isMqttError } from '../../generated/index.js';
import { goldens, plain, toHex } from '../helpers/examples.js';

const SENT_BY_CLIENTS_ONLY = new Set(['connect', 'subscribe', 'unsubscribe', 'pingreq']);
const SENT_BY_SERVERS_ONLY = new Set(['connack', 'suback', 'unsuback', 'pingresp']);

describe('ClientDecoder and encodeFromClient (golden fixtures)', () => {
  const all = goldens();
  test('the fixtures cover every packet type', () => {
    const cmds = new Set<string>(all.map((g) => g.packet.cmd));
    for (const cmd of [...SENT_BY_CLIENTS_ONLY, ...SENT_BY_SERVERS_ONLY, 'publish', 'puback', 'auth'])
      assert.ok(cmds.has(cmd), cmd);
  });

  for (const g of all) {
    const opts = { protocolVersion: g.protocolVersion };
    const cmd = g.packet.cmd;
    test(`${g.name}: ClientDecoder ${SENT_BY_CLIENTS_ONLY.has(cmd) ? 'refuses it' : 'reads it as Decoder does'}`, () => {
      if (SENT_BY_CLIENTS_ONLY.has(cmd)) {
        assert.throws(
          () => new ClientDecoder(opts).push(g.bytes),
          (e: unknown) =>
            isMqttError(e) &&
            e.code === 'MQTT_ERR_PACKET_TYPE' &&
            e.reasonCode === 0x82 &&
            e.message.includes(`${cmd.toUpperCase()} is sent by clients only`) &&
            e.spec === 'MQTT 5.0 §2.1.2, Table 2-1',
        );
      } else {
        assert.deepEqual(
          plain(new ClientDecoder(opts).push(g.bytes)),
          plain(new Decoder(opts).push(g.bytes)),
        );
      }
    });
    test(`${g.name}: encodeFromClient ${SENT_BY_SERVERS_ONLY.has(cmd) ? 'refuses it' : 'writes what encode writes'}`, () => {
      if (SENT_BY_SERVERS_ONLY.has(cmd)) {
        assert.throws(
          () => encodeFromClient(g.packet, opts),
          (e: unknown) =>
            isMqttError(e) &&
            e.code === 'MQTT_ERR_PACKET_TYPE' &&
            e.message.includes(`${cmd.toUpperCase()} is sent by servers only`),
        );
      } else {
        assert.equal(toHex(encodeFromClient(g.packet, opts)), toHex(encode(g.packet, opts)));
      }
    });
  }
});
