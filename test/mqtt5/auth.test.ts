/**
 * Enhanced authentication (MQTT 5.0 §4.12) with a SCRAM-like challenge/response: the scripted
 * broker plays the server side, handleAuth the client's. Aedes does not speak MQTT 5 and
 * Mosquitto needs a plugin for AUTH, so the scripted broker is the server here.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AuthPacket } from '../../generated/index.js';
import type { Scene, Teardown } from '../client/support.js';
import { nextError, once, scene5 } from './support.js';

const METHOD = 'SCRAM-LIKE';
const PASSWORD = 'sesame';
const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();
const proofOf = (password: string, nonce: string) =>
  createHmac('sha256', password).update(nonce).digest('hex');

/** The server side: challenge with a nonce, check the proof, answer with the server's signature. */
async function serverExchange(
  { next, send }: Pick<Scene, 'next' | 'send'>,
  clientFirst: string,
  final: 'connack' | 'auth',
): Promise<boolean> {
  const nonce = `${clientFirst.split('r=')[1]}${randomBytes(6).toString('hex')}`;
  await send({
    cmd: 'auth',
    reasonCode: 0x18,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`r=${nonce}`) },
  });
  const answer = await next('auth');
  const ok = text(answer.properties?.authenticationData) === `p=${proofOf(PASSWORD, nonce)}`;
  const serverFinal = Buffer.from(`v=${proofOf(PASSWORD, `server${nonce}`)}`);
  if (final === 'connack') {
    await send(
      ok
        ? {
            cmd: 'connack',
            reasonCode: 0,
            properties: { authenticationMethod: METHOD, authenticationData: serverFinal },
          }
        : { cmd: 'connack', reasonCode: 0x86 },
    );
  } else if (ok) {
    await send({
      cmd: 'auth',
      reasonCode: 0,
      properties: { authenticationMethod: METHOD, authenticationData: serverFinal },
    });
  } else {
    await send({ cmd: 'disconnect', reasonCode: 0x87 });
  }
  return ok;
}

/**
 * The client side, as an application writes it, on a scripted broker that has read its CONNECT
 * and answered nothing yet.
 */
async function scramClient(t: Teardown, password: string): Promise<Scene> {
  const s = await scene5(
    t,
    { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('n=user,r=c0ffee') } },
    { connack: null },
  );
  s.client.handleAuth = (packet: AuthPacket, callback) => {
    const nonce = text(packet.properties?.authenticationData).slice(2);
    callback(null, { properties: { authenticationData: Buffer.from(`p=${proofOf(password, nonce)}`) } });
  };
  return s;
}

/** The broker's half of the exchange the CONNECT of `s` opened. */
const connectExchange = (s: Scene) =>
  serverExchange(s, text(s.connect.properties?.authenticationData), 'connack');

describe('enhanced authentication', () => {
  test('completes a challenge/response during CONNECT', async (t) => {
    const s = await scramClient(t, PASSWORD);
    const connected = once(s.client, 'connect');
    assert.equal(await connectExchange(s), true);
    const [connack] = await connected;
    assert.match(text(connack.properties.authenticationData), /^v=/);
    const auth = s.sent().find((p) => p.cmd === 'auth') as AuthPacket;
    assert.equal(auth.reasonCode, 0x18);
    assert.equal(auth.properties?.authenticationMethod, METHOD);
  });

  test('a wrong proof ends in a refused CONNACK', async (t) => {
    const s = await scramClient(t, 'wrong');
    const errored = nextError(s.client);
    assert.equal(await connectExchange(s), false);
    const error = await errored;
    assert.equal(error.code, 'MQTT_ERR_CONNACK_REFUSED');
    assert.equal(error.reasonCode, 0x86);
  });

  test('reauthenticate() runs the exchange again on the open connection', async (t) => {
    const s = await scramClient(t, PASSWORD);
    const { client, next } = s;
    const connected = once(client, 'connect');
    await connectExchange(s);
    await connected;
    const serverSide = next('auth').then(async (start) => {
      assert.equal(start.reasonCode, 0x19);
      return serverExchange(s, text(start.properties?.authenticationData), 'auth');
    });
    const final = await client.reauthenticate({
      properties: { authenticationData: Buffer.from('n=user,r=beef') },
    });
    assert.equal(await serverSide, true);
    assert.equal(final.reasonCode, 0);
    assert.match(text(final.properties?.authenticationData), /^v=/);
    assert.equal(client.connected, true);
  });

  test('handleAuth refusing: DISCONNECT with its reason code and an MQTT_ERR_AUTH_FAILED error', async (t) => {
    const s = await scene5(
      t,
      { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('n=user,r=1') } },
      { connack: null },
    );
    const { client, conn, sent } = s;
    client.handleAuth = (_packet, callback) =>
      callback(Object.assign(new Error('no way'), { reasonCode: 0x8c }));
    const errored = nextError(client);
    // The broker's script waits for an answer that never comes; the connection closes instead.
    connectExchange(s).catch(() => {});
    const error = await errored;
    assert.equal(error.code, 'MQTT_ERR_AUTH_FAILED');
    assert.equal(error.reasonCode, 0x8c);
    await conn.closed;
    const disconnect = sent().find((p) => p.cmd === 'disconnect');
    assert.equal(disconnect?.cmd === 'disconnect' && disconnect.reasonCode, 0x8c);
  });

  test('reauthenticate() without an Authentication Method rejects', async (t) => {
    const { client } = await scene5(t);
    await assert.rejects(client.reauthenticate(), { code: 'MQTT_ERR_AUTH_FAILED' });
  });
});
