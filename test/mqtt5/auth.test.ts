/**
 * Enhanced authentication (MQTT 5.0 §4.12) with a SCRAM-like challenge/response: the scripted
 * broker plays the server side, handleAuth the client's. Aedes does not speak MQTT 5 and
 * Mosquitto needs a plugin for AUTH, so the scripted broker is the server here.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AuthPacket, ConnectPacket } from '../../generated/index.js';
import type { MqttClient } from '../../runtime/index.js';
import {
  type ScriptedBroker,
  type ScriptedConnection,
  startScriptedBroker,
} from '../helpers/scripted-broker.js';
import { client5, connected, endAll, nextError, once } from './support.js';

const METHOD = 'SCRAM-LIKE';
const PASSWORD = 'sesame';
const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();
const proofOf = (password: string, nonce: string) =>
  createHmac('sha256', password).update(nonce).digest('hex');

/** The server side: challenge with a nonce, check the proof, answer with the server's signature. */
async function serverExchange(
  conn: ScriptedConnection,
  clientFirst: string,
  final: 'connack' | 'auth',
): Promise<boolean> {
  const nonce = `${clientFirst.split('r=')[1]}${randomBytes(6).toString('hex')}`;
  conn.send({
    cmd: 'auth',
    reasonCode: 0x18,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`r=${nonce}`) },
  });
  const answer = await conn.next('auth');
  const ok = text(answer.properties?.authenticationData) === `p=${proofOf(PASSWORD, nonce)}`;
  const serverFinal = Buffer.from(`v=${proofOf(PASSWORD, `server${nonce}`)}`);
  if (final === 'connack') {
    conn.send(
      ok
        ? {
            cmd: 'connack',
            reasonCode: 0,
            properties: { authenticationMethod: METHOD, authenticationData: serverFinal },
          }
        : { cmd: 'connack', reasonCode: 0x86 },
    );
  } else if (ok) {
    conn.send({
      cmd: 'auth',
      reasonCode: 0,
      properties: { authenticationMethod: METHOD, authenticationData: serverFinal },
    });
  } else {
    conn.send({ cmd: 'disconnect', reasonCode: 0x87 });
  }
  return ok;
}

/** The client side, as an application writes it. */
function scramClient(url: string, password: string): MqttClient {
  const client = client5(url, {
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('n=user,r=c0ffee') },
  });
  client.handleAuth = (packet: AuthPacket, callback) => {
    const nonce = text(packet.properties?.authenticationData).slice(2);
    callback(null, { properties: { authenticationData: Buffer.from(`p=${proofOf(password, nonce)}`) } });
  };
  return client;
}

describe('enhanced authentication', () => {
  let broker: ScriptedBroker;
  const results: boolean[] = [];
  before(async () => {
    broker = await startScriptedBroker({
      connack: (connect: ConnectPacket, conn) => {
        if (!connect.properties?.authenticationMethod) return { reasonCode: 0 };
        serverExchange(conn, text(connect.properties.authenticationData), 'connack').then(
          (ok) => results.push(ok),
          () => {},
        );
        return null;
      },
    });
  });
  after(async () => {
    await endAll();
    await broker.stop();
  });

  test('completes a challenge/response during CONNECT', async () => {
    const client = scramClient(broker.url, PASSWORD);
    const [connack] = await once(client, 'connect');
    assert.equal(results.at(-1), true);
    assert.match(text(connack.properties.authenticationData), /^v=/);
    const conn = broker.connections.at(-1)!;
    const auth = conn.packets.find((p) => p.cmd === 'auth') as AuthPacket;
    assert.equal(auth.reasonCode, 0x18);
    assert.equal(auth.properties?.authenticationMethod, METHOD);
  });

  test('a wrong proof ends in a refused CONNACK', async () => {
    const client = scramClient(broker.url, 'wrong');
    const error = await nextError(client);
    assert.equal(error.code, 'MQTT_ERR_CONNACK_REFUSED');
    assert.equal(error.reasonCode, 0x86);
  });

  test('reauthenticate() runs the exchange again on the open connection', async () => {
    const client = scramClient(broker.url, PASSWORD);
    await once(client, 'connect');
    const conn = broker.connections.at(-1)!;
    const serverSide = conn.next('auth').then(async (start) => {
      assert.equal(start.reasonCode, 0x19);
      return serverExchange(conn, text(start.properties?.authenticationData), 'auth');
    });
    // The CONNECT's own AUTH was already taken by the connect exchange; skip it.
    const final = await client.reauthenticate({
      properties: { authenticationData: Buffer.from('n=user,r=beef') },
    });
    assert.equal(await serverSide, true);
    assert.equal(final.reasonCode, 0);
    assert.match(text(final.properties?.authenticationData), /^v=/);
    assert.equal(client.connected, true);
  });

  test('handleAuth refusing: DISCONNECT with its reason code and an MQTT_ERR_AUTH_FAILED error', async () => {
    const client = client5(broker.url, {
      properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('n=user,r=1') },
    });
    client.handleAuth = (_packet, callback) =>
      callback(Object.assign(new Error('no way'), { reasonCode: 0x8c }));
    const error = await nextError(client);
    assert.equal(error.code, 'MQTT_ERR_AUTH_FAILED');
    assert.equal(error.reasonCode, 0x8c);
    const conn = broker.connections.at(-1)!;
    await conn.closed; // the broker's own script is waiting on this connection: read what it recorded
    const disconnect = conn.packets.find((p) => p.cmd === 'disconnect');
    assert.equal(disconnect?.cmd === 'disconnect' && disconnect.reasonCode, 0x8c);
  });

  test('reauthenticate() without an Authentication Method rejects', async () => {
    const client = await connected(broker.url);
    await assert.rejects(client.reauthenticate(), { code: 'MQTT_ERR_AUTH_FAILED' });
  });
});
