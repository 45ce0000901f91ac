import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { PushSequencer } from './PushSequencer.js';

describe('PushSequencer', () => {
  it('accepts increasing seqs and drops duplicates and stale ones', () => {
    const s = new PushSequencer();
    expect(s.accept(1)).toBe(true);
    expect(s.accept(2)).toBe(true);
    expect(s.accept(2)).toBe(false);
    expect(s.accept(1)).toBe(false);
    expect(s.accept(5)).toBe(true);
    expect(s.lastSeq).toBe(5);
  });

  it('drops pushes without a usable seq', () => {
    const s = new PushSequencer();
    for (const bad of [undefined, null, '3', 1.5, -1, 0, NaN]) expect(s.accept(bad)).toBe(false);
    expect(s.lastSeq).toBe(0);
  });

  it('reset() starts a new session from 1', () => {
    const s = new PushSequencer();
    s.accept(9);
    s.reset();
    expect(s.lastSeq).toBe(0);
    expect(s.accept(1)).toBe(true);
  });
});

describe('backoffDelay', () => {
  const opts = { initialDelayMs: 500, maxDelayMs: 10_000 };

  it('doubles per attempt and is capped', () => {
    const top = (attempt: number) => backoffDelay(attempt, opts, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(top)).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000,
    ]);
  });

  it('jitters within [half, full] of the exponential delay', () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(1000);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(1500);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, opts);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});
