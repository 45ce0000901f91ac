import { describe, expect, it } from 'vitest';
import { STRINGS } from '../i18n/index.js';
import { networkLook } from './network.js';

describe('networkLook', () => {
  it('maps TRTC’s scale to bars: excellent five … very bad one; unknown and down none', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((q) => networkLook(q))).toEqual([
      { level: 0, bars: 0, tone: 'unknown' },
      { level: 1, bars: 5, tone: 'ok' },
      { level: 2, bars: 4, tone: 'ok' },
      { level: 3, bars: 3, tone: 'poor' },
      { level: 4, bars: 2, tone: 'bad' },
      { level: 5, bars: 1, tone: 'bad' },
      { level: 6, bars: 0, tone: 'down' },
    ]);
  });

  it('shows anything off the scale as unknown', () => {
    for (const q of [-1, 7, 2.5, Number.NaN]) expect(networkLook(q)).toMatchObject({ level: 0 });
  });

  it('has a label for every level in every language, in the scale’s order', () => {
    expect(STRINGS.en.networkLevels).toEqual([
      'unknown',
      'excellent',
      'good',
      'poor',
      'bad',
      'very bad',
      'disconnected',
    ]);
    for (const [language, strings] of Object.entries(STRINGS)) {
      expect(strings.networkLevels, language).toHaveLength(7);
      expect(new Set(strings.networkLevels).size, language).toBe(7);
    }
  });
});
