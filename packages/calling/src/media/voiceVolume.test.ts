import { describe, expect, it } from 'vitest';
import { volumeFromLevel, volumeFromSamples } from './voiceVolume.js';

function sine(amplitude: number, length = 1024): Float32Array {
  const samples = new Float32Array(length);
  for (let i = 0; i < length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * i) / 32);
  return samples;
}

describe('volumeFromSamples (USER_VOICE_VOLUME scale, 0–100)', () => {
  it('is 0 for silence and for no samples', () => {
    expect(volumeFromSamples(new Float32Array(1024))).toBe(0);
    expect(volumeFromSamples([])).toBe(0);
  });

  it('is 100 for a full-scale square wave and stays within 0–100 beyond it', () => {
    expect(volumeFromSamples(new Float32Array(1024).fill(1))).toBe(100);
    expect(volumeFromSamples(new Float32Array(1024).fill(4))).toBe(100);
  });

  it('grows with loudness: -60 dBFS and below is 0, speech levels fall in between', () => {
    const quiet = volumeFromSamples(sine(0.01));
    const speech = volumeFromSamples(sine(0.1));
    const loud = volumeFromSamples(sine(0.8));
    expect(volumeFromSamples(sine(0.0005))).toBe(0);
    expect(quiet).toBeGreaterThan(0);
    expect(speech).toBeGreaterThan(quiet);
    expect(loud).toBeGreaterThan(speech);
    expect(loud).toBeLessThan(100);
  });
});

describe('volumeFromLevel (RTP audio level, linear 0–1)', () => {
  it('matches volumeFromSamples for the same level, and is 0 for silence or nothing', () => {
    expect(volumeFromLevel(0)).toBe(0);
    expect(volumeFromLevel(Number.NaN)).toBe(0);
    expect(volumeFromLevel(1)).toBe(100);
    expect(volumeFromLevel(0.1)).toBe(volumeFromSamples(new Float32Array(64).fill(0.1)));
    expect(volumeFromLevel(0.0001)).toBe(0);
  });
});
