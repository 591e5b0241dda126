import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthPacket } from '../../generated/index.js';
import { AuthState } from '../../runtime/session/auth.js';

const auth = (reasonCode: number, method?: string): AuthPacket => ({
  cmd: 'auth',
  reasonCode,
  ...(method ? { properties: { authenticationMethod: method } } : {}),
});

describe('AuthState', () => {
  test('an AUTH without enhanced authentication is a violation', () => {
    assert.equal(new AuthState(undefined).check(auth(0x18, 'M')).kind, 'violation');
  });

  test('continue is accepted while connecting and re-authenticating, not in between', () => {
    const s = new AuthState('M');
    s.phase = 'connecting';
    assert.equal(s.check(auth(0x18, 'M')).kind, 'continue');
    s.phase = 'connected';
    assert.equal(s.check(auth(0x18, 'M')).kind, 'violation');
    s.phase = 'reauthenticating';
    assert.equal(s.check(auth(0x18, 'M')).kind, 'continue');
  });

  test('success ends a re-authentication only', () => {
    const s = new AuthState('M');
    s.phase = 'reauthenticating';
    assert.equal(s.check(auth(0x00, 'M')).kind, 'success');
    s.phase = 'connected';
    assert.equal(s.check(auth(0x00, 'M')).kind, 'violation');
  });

  test('another method, or re-authenticate from the server, is a violation', () => {
    const s = new AuthState('M');
    s.phase = 'connecting';
    assert.equal(s.check(auth(0x18, 'N')).kind, 'violation');
    assert.equal(s.check(auth(0x18)).kind, 'violation');
    assert.equal(s.check(auth(0x19, 'M')).kind, 'violation');
  });
});
