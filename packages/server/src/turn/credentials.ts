/**
 * TURN REST credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`): the username is
 * `<expiry unix seconds>:<userID>` and the password base64(HMAC-SHA1(secret, username)). coturn
 * checks both with the same shared secret, so nothing per user is stored anywhere, and a leaked
 * credential stops working at its expiry.
 */
import { createHmac } from 'node:crypto';

/** The shortest and longest TTL `--turn-ttl` accepts, seconds. */
export const MIN_TURN_TTL_S = 60;
export const MAX_TURN_TTL_S = 7 * 24 * 3600;
/** One day, as the TURN REST draft recommends; sessions are renewed well before it ends. */
export const DEFAULT_TURN_TTL_S = 86_400;

export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix seconds after which coturn refuses it. */
  expiresAt: number;
}

/** Mints a credential for `userID` valid for `ttlS` seconds from `nowMs`. */
export function mintTurnCredential(
  secret: string,
  userID: string,
  ttlS: number,
  nowMs = Date.now(),
): TurnCredential {
  const expiresAt = Math.floor(nowMs / 1000) + ttlS;
  const username = `${expiresAt}:${userID}`;
  return { username, credential: turnPassword(secret, username), expiresAt };
}

/** base64(HMAC-SHA1(secret, username)), as coturn computes it. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Milliseconds after minting at which a session gets fresh credentials: at 80 % of the TTL, so a
 * client that is slow to apply them still has a fifth of the TTL (at least 12 s) in hand.
 */
export function renewalDelayMs(ttlS: number): number {
  return Math.floor(ttlS * 1000 * 0.8);
}
