/** The retry schedule (pure): exponential, capped, jittered, and at least 24 h long. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, nextAttempt, retryDelay } from './backoff.js';

const policy = { baseMs: 1000, capMs: 60_000, maxAgeMs: 10 * 60_000 };
const HOUR = 3_600_000;

describe('retryDelay', () => {
  it('doubles from the base and stops at the cap (without jitter: the top of the range)', () => {
    const top = () => 0.999_999;
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => retryDelay(n, policy, top));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('jitters each delay within [half, all] of it', () => {
    expect(retryDelay(3, policy, () => 0)).toBe(2000);
    expect(retryDelay(3, policy, () => 0.5)).toBe(3000);
    expect(retryDelay(100, policy, () => 0)).toBe(30_000);
  });
});

describe('nextAttempt', () => {
  /** Every attempt's time, failing each, from an event at 0, until it is given up. */
  function schedule(random: () => number, p = DEFAULT_RETRY_POLICY): number[] {
    const times = [0];
    for (let failures = 1; failures <= 10_000; failures++) {
      const next = nextAttempt(0, failures, times.at(-1)!, p, random);
      if (next === undefined) return times;
      times.push(next);
    }
    throw new Error('the schedule never gave up');
  }

  it('retries for 24 h by default, the last attempt at the deadline, then gives up', () => {
    for (const random of [() => 0, () => 0.999_999, mulberry32(7)]) {
      const times = schedule(random);
      expect(times.at(-1)).toBe(24 * HOUR);
      // No gap longer than the cap (one hour).
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(HOUR);
        expect(times[i]!).toBeGreaterThan(times[i - 1]!);
      }
      // Tens of attempts, not thousands: the cap is reached within the first hours.
      expect(times.length).toBeGreaterThan(24);
      expect(times.length).toBeLessThan(60);
    }
  });

  it('gives up when asked at or after the deadline', () => {
    expect(nextAttempt(0, 3, policy.maxAgeMs, policy, () => 0)).toBeUndefined();
    expect(nextAttempt(0, 3, policy.maxAgeMs - 1, policy, () => 0)).toBe(policy.maxAgeMs);
  });
});

/** A small seeded PRNG, so that the jittered case is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
