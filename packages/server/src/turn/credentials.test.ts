/**
 * TURN REST credentials: the format coturn's `use-auth-secret` expects, checked against an HMAC
 * computed independently by openssl, their expiry, when sessions renew them, and what the ICE
 * configuration handed to a session holds.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mintTurnCredential, renewalDelayMs, turnPassword } from './credentials.js';
import { IceConfigSource } from './ice-config.js';

/** base64(HMAC-SHA1(key, text)) by openssl, not by node:crypto. */
function opensslHmac(key: string, text: string): string {
  const binary = execFileSync('openssl', ['dgst', '-sha1', '-hmac', key, '-binary'], {
    input: text,
  });
  return execFileSync('openssl', ['base64', '-A'], { input: binary }).toString().trim();
}

describe('TURN REST credentials', () => {
  it('are named <expiry unix seconds>:<userID>', () => {
    const c = mintTurnCredential('s3cret-s3cret-s3cret', 'alice', 3600, 1_700_000_000_500);
    expect(c.username).toBe('1700003600:alice');
    expect(c.expiresAt).toBe(1_700_003_600);
  });

  it('have base64(HMAC-SHA1(secret, username)) as password, as openssl computes it', () => {
    for (const [secret, user] of [
      ['north', '1700003600:alice'],
      ['a much longer shared secret with spaces', '1999999999:bob_2-x'],
    ] as const) {
      expect(turnPassword(secret, user)).toBe(opensslHmac(secret, user));
    }
    const c = mintTurnCredential('north', 'alice', 60, 1_700_000_000_000);
    expect(c.credential).toBe(opensslHmac('north', '1700000060:alice'));
  });

  it('differ per user, per expiry and per secret', () => {
    const base = mintTurnCredential('k1', 'alice', 60, 0).credential;
    expect(mintTurnCredential('k1', 'bob', 60, 0).credential).not.toBe(base);
    expect(mintTurnCredential('k1', 'alice', 61, 0).credential).not.toBe(base);
    expect(mintTurnCredential('k2', 'alice', 60, 0).credential).not.toBe(base);
  });
});

describe('renewal timing', () => {
  it('renews at 80 % of the TTL', () => {
    expect(renewalDelayMs(60)).toBe(48_000);
    expect(renewalDelayMs(86_400)).toBe(69_120_000);
  });

  it('leaves a fifth of the TTL before the credentials expire', () => {
    for (const ttl of [60, 61, 600, 3599, 86_400, 604_800]) {
      const left = ttl * 1000 - renewalDelayMs(ttl);
      expect(left).toBeGreaterThanOrEqual(ttl * 200);
      expect(renewalDelayMs(ttl)).toBeGreaterThan(0);
    }
  });
});

describe('the ICE configuration a session gets', () => {
  const turn = {
    turnUrls: ['turn:100.64.0.10:3478?transport=udp', 'turn:100.64.0.10:3478?transport=tcp'],
    stunUrls: ['stun:100.64.0.10:3478'],
    secret: 'shared-secret-0123456789',
    ttlS: 600,
  };

  it('without TURN: the static servers, nothing expires, nothing to renew', () => {
    const source = new IceConfigSource({
      staticServers: [{ urls: 'stun:stun.example.org' }],
      policy: 'all',
    });
    expect(source.configFor('alice')).toEqual({
      iceServers: [{ urls: 'stun:stun.example.org' }],
      iceTransportPolicy: 'all',
      iceServersTtl: 0,
    });
    expect(source.renewAfterMs).toBeUndefined();
  });

  it('with TURN: stun: and turn: URLs with credentials minted for the user, then static ones', () => {
    const source = new IceConfigSource({
      staticServers: [{ urls: 'stun:stun.example.org' }],
      policy: 'relay',
      turn,
    });
    const now = 1_700_000_000_000;
    const config = source.configFor('alice', now);
    expect(config.iceTransportPolicy).toBe('relay');
    expect(config.iceServersTtl).toBe(600);
    expect(config.iceServers).toEqual([
      { urls: ['stun:100.64.0.10:3478'] },
      {
        urls: turn.turnUrls,
        username: '1700000600:alice',
        credential: opensslHmac(turn.secret, '1700000600:alice'),
      },
      { urls: 'stun:stun.example.org' },
    ]);
    // The secret itself never appears in what a client gets.
    expect(JSON.stringify(config)).not.toContain(turn.secret);
    expect(source.renewAfterMs).toBe(480_000);
  });

  it('mints anew each time (a later call expires later)', () => {
    const source = new IceConfigSource({ staticServers: [], policy: 'all', turn });
    const a = source.configFor('alice', 1_700_000_000_000).iceServers[1]!;
    const b = source.configFor('alice', 1_700_000_010_000).iceServers[1]!;
    expect(a.username).toBe('1700000600:alice');
    expect(b.username).toBe('1700000610:alice');
  });
});
