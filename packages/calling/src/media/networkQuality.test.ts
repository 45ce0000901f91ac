import { describe, expect, it } from 'vitest';
import { NetworkQuality, QUALITY_THRESHOLDS, lossRate, scoreLink } from './networkQuality.js';

const { Unknown, Excellent, Good, Poor, Bad, VeryBad, Down } = NetworkQuality;

describe('scoreLink', () => {
  it('uses TRTC’s scale: 0 unknown, 1 excellent … 5 very bad, 6 down', () => {
    expect(NetworkQuality).toEqual({
      Unknown: 0,
      Excellent: 1,
      Good: 2,
      Poor: 3,
      Bad: 4,
      VeryBad: 5,
      Down: 6,
    });
  });

  it('is Unknown while nothing is measured', () => {
    expect(scoreLink({})).toBe(Unknown);
    expect(scoreLink({ rttMs: undefined, lossRate: undefined, jitterMs: undefined })).toBe(Unknown);
    // Nonsense readings count as unmeasured rather than as a level.
    expect(scoreLink({ rttMs: Number.NaN, lossRate: -1 })).toBe(Unknown);
  });

  it('is Down when the transport is down, whatever the last readings said', () => {
    expect(scoreLink({ down: true })).toBe(Down);
    expect(scoreLink({ down: true, rttMs: 1, lossRate: 0, jitterMs: 1 })).toBe(Down);
  });

  it('a loopback-like link (no loss, sub-millisecond RTT, little jitter) is Excellent', () => {
    expect(scoreLink({ rttMs: 0, lossRate: 0, jitterMs: 0.9 })).toBe(Excellent);
  });

  describe('each metric steps through the levels at its thresholds', () => {
    const cases = [
      ['lossRate', [0, 0.0099, 0.01, 0.029, 0.03, 0.079, 0.08, 0.149, 0.15, 1]],
      ['rttMs', [0, 99, 100, 199, 200, 349, 350, 599, 600, 5000]],
      ['jitterMs', [0, 19.9, 20, 39, 40, 79, 80, 149, 150, 900]],
    ] as const;
    const expected = [Excellent, Excellent, Good, Good, Poor, Poor, Bad, Bad, VeryBad, VeryBad];
    for (const [metric, values] of cases) {
      it(`${metric}: ${QUALITY_THRESHOLDS[metric].join(' / ')}`, () => {
        expect(values.map((value) => scoreLink({ [metric]: value }))).toEqual(expected);
      });
    }
  });

  it('takes the worst of the known metrics', () => {
    expect(scoreLink({ rttMs: 20, lossRate: 0.1, jitterMs: 5 })).toBe(Bad);
    expect(scoreLink({ rttMs: 250, lossRate: 0, jitterMs: 5 })).toBe(Poor);
    expect(scoreLink({ rttMs: 20, lossRate: 0.02 })).toBe(Good);
    expect(scoreLink({ jitterMs: 200 })).toBe(VeryBad);
  });
});

describe('lossRate', () => {
  it('is lost / (received + lost) over the interval', () => {
    expect(lossRate(99, 1)).toBe(0.01);
    expect(lossRate(0, 5)).toBe(1);
    expect(lossRate(50, 0)).toBe(0);
  });

  it('is undefined when no packet was expected', () => {
    expect(lossRate(0, 0)).toBeUndefined();
  });

  it('counts a falling packetsLost (late duplicates) as no loss', () => {
    expect(lossRate(100, -2)).toBe(0);
    expect(lossRate(0, -2)).toBeUndefined();
  });
});
