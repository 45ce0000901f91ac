/**
 * userSig in Tencent's TLS sig API v2 format, so that userSigs minted by Tencent's own generators
 * (server libraries in every language, the console's debug tool) verify here unchanged.
 *
 * A userSig is a JSON document, zlib-deflated, base64-encoded with `+/=` replaced by `*-_`:
 *   {"TLS.ver":"2.0","TLS.identifier":id,"TLS.sdkappid":appid,"TLS.expire":s,"TLS.time":t,
 *    "TLS.sig":base64(HMAC-SHA256(secretKey, content))}
 * where content is "TLS.identifier:…\nTLS.sdkappid:…\nTLS.time:…\nTLS.expire:…\n"
 * (+ "TLS.userbuf:…\n" when the document carries one).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { ServerError } from '../errors.js';

/** Default lifetime of a minted userSig: 180 days, as Tencent's samples use. */
export const DEFAULT_USERSIG_EXPIRE_S = 86400 * 180;

/** Inflated userSigs larger than this are refused (a deflate bomb must not cost memory). */
const MAX_INFLATED_BYTES = 16 * 1024;

export interface GenUserSigOptions {
  sdkAppID: number;
  secretKey: string;
  userID: string;
  /** Lifetime in seconds. */
  expire?: number;
  /** Issue time, Unix seconds (defaults to now). */
  now?: number;
  /** Optional opaque buffer, carried base64-encoded as TLS.userbuf and covered by the HMAC. */
  userBuf?: Buffer;
}

export interface VerifyUserSigOptions {
  sdkAppID: number;
  secretKey: string;
  userID: string;
  /** Unix seconds to check expiry against (defaults to now). */
  now?: number;
}

/** What a verified userSig says. */
export interface UserSigClaims {
  userID: string;
  sdkAppID: number;
  /** Issue time, Unix seconds. */
  time: number;
  /** Lifetime, seconds. */
  expire: number;
  /** Base64 TLS.userbuf, when present. */
  userBuf?: string;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function hmacBase64(
  secretKey: string,
  userID: string,
  sdkAppID: number,
  time: number,
  expire: number,
  userBuf: string | undefined,
): string {
  let content =
    `TLS.identifier:${userID}\n` +
    `TLS.sdkappid:${sdkAppID}\n` +
    `TLS.time:${time}\n` +
    `TLS.expire:${expire}\n`;
  if (userBuf !== undefined) content += `TLS.userbuf:${userBuf}\n`;
  return createHmac('sha256', secretKey).update(content).digest('base64');
}

function escapeBase64(b64: string): string {
  return b64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

function unescapeBase64(sig: string): string {
  return sig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
}

/** Mints a userSig for `userID`, as Tencent's `genUserSig` does. */
export function genUserSig(options: GenUserSigOptions): string {
  const { sdkAppID, secretKey, userID } = options;
  const expire = options.expire ?? DEFAULT_USERSIG_EXPIRE_S;
  const time = options.now ?? nowSeconds();
  if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0) {
    throw new TypeError(`sdkAppID must be a positive integer, got ${sdkAppID}`);
  }
  if (!secretKey) throw new TypeError('secretKey must not be empty');
  if (!userID) throw new TypeError('userID must not be empty');
  if (!Number.isSafeInteger(expire) || expire <= 0) {
    throw new TypeError(`expire must be a positive integer of seconds, got ${expire}`);
  }
  const userBuf = options.userBuf?.toString('base64');
  const doc: Record<string, string | number> = {
    'TLS.ver': '2.0',
    'TLS.identifier': userID,
    'TLS.sdkappid': sdkAppID,
    'TLS.expire': expire,
    'TLS.time': time,
  };
  if (userBuf !== undefined) doc['TLS.userbuf'] = userBuf;
  doc['TLS.sig'] = hmacBase64(secretKey, userID, sdkAppID, time, expire, userBuf);
  return escapeBase64(deflateSync(Buffer.from(JSON.stringify(doc))).toString('base64'));
}

/** Decodes the userSig's document without checking it; throws USERSIG_INVALID if it cannot. */
function decode(sig: string): Record<string, unknown> {
  if (typeof sig !== 'string' || sig.length === 0 || !/^[A-Za-z0-9*_-]+$/.test(sig)) {
    throw ServerError.userSigInvalid('not in the TLS sig v2 alphabet');
  }
  let json: string;
  try {
    const b64 = unescapeBase64(sig);
    const bytes = Buffer.from(b64, 'base64');
    // Node's base64 decoder and zlib both skip what they cannot use (a stray last character,
    // bytes after the deflate stream); a userSig is accepted only as it was minted, byte for byte.
    if (bytes.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) throw new Error();
    const { buffer, engine } = inflateSync(bytes, {
      maxOutputLength: MAX_INFLATED_BYTES,
      info: true,
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (engine.bytesWritten !== bytes.length) throw new Error();
    json = buffer.toString('utf8');
  } catch {
    throw ServerError.userSigInvalid('cannot be inflated');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw ServerError.userSigInvalid('not a JSON document');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw ServerError.userSigInvalid('not a JSON object');
  }
  return doc as Record<string, unknown>;
}

const isNonNegInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Verifies `sig` for `userID` of app `sdkAppID`. Authenticity is checked first, so a forged sig
 * is always USERSIG_INVALID whatever else it claims; then app, user and expiry.
 * Throws a ServerError (USERSIG_INVALID / _WRONG_APP / _WRONG_USER / _EXPIRED); returns the claims.
 */
export function verifyUserSig(sig: string, options: VerifyUserSigOptions): UserSigClaims {
  const doc = decode(sig);
  const ver = doc['TLS.ver'];
  const identifier = doc['TLS.identifier'];
  const appid = doc['TLS.sdkappid'];
  const time = doc['TLS.time'];
  const expire = doc['TLS.expire'];
  const mac = doc['TLS.sig'];
  const userBuf = doc['TLS.userbuf'];
  if (ver !== '2.0') throw ServerError.userSigInvalid('not version 2.0');
  if (typeof identifier !== 'string') throw ServerError.userSigInvalid('no TLS.identifier');
  if (!isNonNegInt(appid)) throw ServerError.userSigInvalid('no numeric TLS.sdkappid');
  if (!isNonNegInt(time)) throw ServerError.userSigInvalid('no numeric TLS.time');
  if (!isNonNegInt(expire)) throw ServerError.userSigInvalid('no numeric TLS.expire');
  if (typeof mac !== 'string') throw ServerError.userSigInvalid('no TLS.sig');
  if (userBuf !== undefined && typeof userBuf !== 'string') {
    throw ServerError.userSigInvalid('TLS.userbuf is not a string');
  }

  const expected = Buffer.from(
    hmacBase64(options.secretKey, identifier, appid, time, expire, userBuf),
    'base64',
  );
  const given = Buffer.from(mac, 'base64');
  // Constant-time: the length check leaks only that the length is wrong, which is public (32 bytes).
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw ServerError.userSigInvalid('signature does not match');
  }
  if (appid !== options.sdkAppID) throw ServerError.userSigWrongApp(appid, options.sdkAppID);
  if (identifier !== options.userID) throw ServerError.userSigWrongUser(identifier, options.userID);
  const now = options.now ?? nowSeconds();
  if (time + expire < now) throw ServerError.userSigExpired(time + expire);
  const claims: UserSigClaims = { userID: identifier, sdkAppID: appid, time, expire };
  if (userBuf !== undefined) claims.userBuf = userBuf;
  return claims;
}
