/**
 * When a failed delivery is tried again: exponential backoff with jitter, capped, for at least
 * `maxAgeMs` (24 h by default) from the event; then it is given up.
 */

export interface RetryPolicy {
  /** The first retry's delay, ms, before jitter. Default 5 s. */
  baseMs: number;
  /** The longest delay between attempts, ms, before jitter. Default 1 h. */
  capMs: number;
  /** How long after the event attempts go on, ms. Default 24 h. */
  maxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 5_000,
  capMs: 3_600_000,
  maxAgeMs: 24 * 3_600_000,
};

/**
 * The delay before attempt `failures + 1` after `failures` failed ones (≥ 1): base·2^(failures-1),
 * capped, then scaled by a random factor in [0.5, 1) so that receivers coming back from an outage
 * are not hit by every node at the same instant. `random` is Math.random in production.
 */
export function retryDelay(
  failures: number,
  policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>,
  random: () => number,
): number {
  const exp = policy.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 40);
  const capped = Math.min(policy.capMs, exp);
  return Math.round(capped * (0.5 + random() / 2));
}

/**
 * After a failed attempt at `now`: when to try next (Unix ms), or undefined to give up because
 * the next attempt would come later than `createdAt + maxAgeMs`. The last attempt is made at the
 * deadline itself rather than skipped, so that attempts span the whole window.
 */
export function nextAttempt(
  createdAt: number,
  failures: number,
  now: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  const deadline = createdAt + policy.maxAgeMs;
  if (now >= deadline) return undefined;
  return Math.min(now + retryDelay(failures, policy, random), deadline);
}
