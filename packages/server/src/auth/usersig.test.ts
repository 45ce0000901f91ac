import { createRequire } from 'node:module';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ServerErrorCode } from '@ringline/protocol';
import { ServerError } from '../errors.js';
import { genUserSig, verifyUserSig } from './usersig.js';

const require = createRequire(import.meta.url);
const TencentApi = (
  require('tls-sig-api-v2') as {
    Api: new (sdkappid: number, key: string) => { genSig(user: string, expire: number): string };
  }
).Api;

const app = {
  sdkAppID: 1400000001,
  secretKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
};

/** The error code `fn` throws, or undefined when it does not throw. */
function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ServerError) return err.code;
    throw err;
  }
  return undefined;
}

function untls(sig: string): Buffer {
  return Buffer.from(sig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64');
}

function decodeDoc(sig: string): Record<string, unknown> {
  return JSON.parse(inflateSync(untls(sig)).toString()) as Record<string, unknown>;
}

/** TLS sig v2's base64 variant. */
function tlsBase64(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

function encodeDoc(doc: Record<string, unknown>): string {
  return tlsBase64(deflateSync(Buffer.from(JSON.stringify(doc))));
}

describe('userSig made by Tencent’s tls-sig-api-v2', () => {
  test('verifies, with the claims it carries', () => {
    const sig = new TencentApi(app.sdkAppID, app.secretKey).genSig('alice', 3600);
    const claims = verifyUserSig(sig, { ...app, userID: 'alice' });
    expect(claims.userID).toBe('alice');
    expect(claims.sdkAppID).toBe(app.sdkAppID);
    expect(claims.expire).toBe(3600);
    expect(Math.abs(claims.time - Date.now() / 1000)).toBeLessThan(60);
  });

  test('is refused for another user, app or key', () => {
    const sig = new TencentApi(app.sdkAppID, app.secretKey).genSig('alice', 3600);
    expect(codeOf(() => verifyUserSig(sig, { ...app, userID: 'bob' }))).toBe(
      ServerErrorCode.USERSIG_WRONG_USER,
    );
    expect(
      codeOf(() => verifyUserSig(sig, { ...app, sdkAppID: 1400000002, userID: 'alice' })),
    ).toBe(ServerErrorCode.USERSIG_WRONG_APP);
    expect(codeOf(() => verifyUserSig(sig, { ...app, secretKey: 'other', userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });
});

describe('genUserSig', () => {
  test('writes the TLS sig v2 document byte-compatible with Tencent’s generator', () => {
    const now = 1_700_000_000;
    const ours = decodeDoc(genUserSig({ ...app, userID: 'bob', expire: 86400, now }));
    expect(ours).toMatchObject({
      'TLS.ver': '2.0',
      'TLS.identifier': 'bob',
      'TLS.sdkappid': app.sdkAppID,
      'TLS.expire': 86400,
      'TLS.time': now,
    });
    // Same inputs, same HMAC as Tencent's library (whose clock we pin by copying its time).
    const theirs = decodeDoc(new TencentApi(app.sdkAppID, app.secretKey).genSig('bob', 86400));
    const again = decodeDoc(
      genUserSig({ ...app, userID: 'bob', expire: 86400, now: theirs['TLS.time'] as number }),
    );
    expect(again['TLS.sig']).toBe(theirs['TLS.sig']);
  });

  test('defaults to 180 days and verifies until then', () => {
    const now = 1_700_000_000;
    const sig = genUserSig({ ...app, userID: 'carol', now });
    expect(decodeDoc(sig)['TLS.expire']).toBe(86400 * 180);
    expect(verifyUserSig(sig, { ...app, userID: 'carol', now: now + 86400 * 180 }).userID).toBe(
      'carol',
    );
    expect(
      codeOf(() => verifyUserSig(sig, { ...app, userID: 'carol', now: now + 86400 * 180 + 1 })),
    ).toBe(ServerErrorCode.USERSIG_EXPIRED);
  });

  test('covers TLS.userbuf with the HMAC when given', () => {
    const sig = genUserSig({ ...app, userID: 'dave', userBuf: Buffer.from('room=42') });
    expect(verifyUserSig(sig, { ...app, userID: 'dave' }).userBuf).toBe(
      Buffer.from('room=42').toString('base64'),
    );
    const doc = decodeDoc(sig);
    doc['TLS.userbuf'] = Buffer.from('room=43').toString('base64');
    expect(codeOf(() => verifyUserSig(encodeDoc(doc), { ...app, userID: 'dave' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test('refuses nonsense input', () => {
    expect(() => genUserSig({ ...app, sdkAppID: 0, userID: 'a' })).toThrow(/sdkAppID/);
    expect(() => genUserSig({ ...app, userID: '' })).toThrow(/userID/);
    expect(() => genUserSig({ ...app, userID: 'a', expire: -1 })).toThrow(/expire/);
  });
});

describe('verifyUserSig refuses', () => {
  const valid = () => genUserSig({ ...app, userID: 'alice' });

  test('an expired sig with USERSIG_EXPIRED', () => {
    const sig = genUserSig({
      ...app,
      userID: 'alice',
      expire: 60,
      now: Math.floor(Date.now() / 1000) - 61,
    });
    expect(codeOf(() => verifyUserSig(sig, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_EXPIRED,
    );
  });

  test('a sig with one character changed with USERSIG_INVALID', () => {
    const sig = valid();
    const i = Math.floor(sig.length / 2);
    const flipped = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
    expect(codeOf(() => verifyUserSig(flipped, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test.each([
    ['a character appended', (sig: string) => `${sig}x`],
    [
      'bytes after the deflate stream',
      (sig: string) => tlsBase64(Buffer.concat([untls(sig), Buffer.from('tail')])),
    ],
  ])('a valid sig with %s with USERSIG_INVALID', (_what, tamper) => {
    const sig = valid();
    expect(verifyUserSig(sig, { ...app, userID: 'alice' }).userID).toBe('alice');
    expect(codeOf(() => verifyUserSig(tamper(sig), { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test('a re-encoded sig whose claims were edited (expiry extended) with USERSIG_INVALID', () => {
    const doc = decodeDoc(valid());
    doc['TLS.expire'] = (doc['TLS.expire'] as number) + 1;
    expect(codeOf(() => verifyUserSig(encodeDoc(doc), { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test('a sig signed with another key with USERSIG_INVALID', () => {
    const sig = genUserSig({ ...app, secretKey: 'not-the-key', userID: 'alice' });
    expect(codeOf(() => verifyUserSig(sig, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test('a sig for another app with USERSIG_WRONG_APP', () => {
    const sig = genUserSig({ ...app, sdkAppID: 1400000999, userID: 'alice' });
    expect(codeOf(() => verifyUserSig(sig, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_WRONG_APP,
    );
  });

  test('a sig for another user with USERSIG_WRONG_USER', () => {
    expect(codeOf(() => verifyUserSig(valid(), { ...app, userID: 'mallory' }))).toBe(
      ServerErrorCode.USERSIG_WRONG_USER,
    );
  });

  test.each([
    ['empty', ''],
    ['not base64', 'hello world!'],
    ['base64 of non-zlib', tlsBase64(Buffer.from('just text'))],
    ['zlib of non-JSON', tlsBase64(deflateSync('not json'))],
    ['a JSON array', tlsBase64(deflateSync('[1,2]'))],
    [
      'a document without TLS.sig',
      encodeDoc({
        'TLS.ver': '2.0',
        'TLS.identifier': 'alice',
        'TLS.sdkappid': app.sdkAppID,
        'TLS.time': 1,
        'TLS.expire': 1,
      }),
    ],
    [
      'version 1',
      encodeDoc({ ...decodeDoc(genUserSig({ ...app, userID: 'alice' })), 'TLS.ver': '1.0' }),
    ],
  ])('garbage (%s) with USERSIG_INVALID', (_what, sig) => {
    expect(codeOf(() => verifyUserSig(sig, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });

  test('a deflate bomb without inflating it', () => {
    const bomb = encodeDoc({ 'TLS.ver': '2.0', pad: 'x'.repeat(1024 * 1024) });
    expect(bomb.length).toBeLessThan(4096);
    expect(codeOf(() => verifyUserSig(bomb, { ...app, userID: 'alice' }))).toBe(
      ServerErrorCode.USERSIG_INVALID,
    );
  });
});
