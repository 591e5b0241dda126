/**
 * Enhanced authentication (MQTT 5.0 §4.12): which AUTH packets the server may send, when. State
 * only: `check` classifies a server AUTH; the client asks the application (`handleAuth`) for the
 * answer and writes it.
 *
 *   CONNECT(method) ──► AUTH 0x18 ◄──► AUTH 0x18 … ──► CONNACK          (during connect)
 *   AUTH 0x19 (reauthenticate) ──► AUTH 0x18 ◄──► AUTH 0x18 … ──► AUTH 0x00
 */
import type { AuthPacket } from '../../generated/index.js';

export type AuthPhase = 'none' | 'connecting' | 'connected' | 'reauthenticating';

export type AuthVerdict =
  | { kind: 'continue' }
  | { kind: 'success' }
  | { kind: 'violation'; message: string; spec: string };

export class AuthState {
  phase: AuthPhase = 'none';

  /** `method` is the Authentication Method of our CONNECT, if any. */
  constructor(readonly method: string | undefined) {}

  check(packet: AuthPacket): AuthVerdict {
    if (this.method === undefined || this.phase === 'none') {
      return {
        kind: 'violation',
        message: 'AUTH without enhanced authentication',
        spec: 'MQTT 5.0 §4.12 [MQTT-4.12.0-6]',
      };
    }
    if (packet.properties?.authenticationMethod !== this.method) {
      return {
        kind: 'violation',
        message: `AUTH with method ${String(packet.properties?.authenticationMethod)}, not ${this.method}`,
        spec: 'MQTT 5.0 §4.12 [MQTT-4.12.0-5]',
      };
    }
    if (packet.reasonCode === 0x18 && this.phase !== 'connected') return { kind: 'continue' };
    if (packet.reasonCode === 0x00 && this.phase === 'reauthenticating') return { kind: 'success' };
    return {
      kind: 'violation',
      message: `AUTH reason code 0x${packet.reasonCode.toString(16)} while ${this.phase}`,
      spec: 'MQTT 5.0 §3.15.2.1',
    };
  }
}
