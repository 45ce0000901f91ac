/** How the network bars show a level of TRTC's quality scale (the SDK's NETWORK_QUALITY). */

/** Bars drawn, out of five. */
export const NETWORK_BARS = 5;

export interface NetworkLook {
  /** The level shown: 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down. */
  level: number;
  /** Bars lit: excellent all five, each level worse one fewer; none when unknown or down. */
  bars: number;
  /** The bars' colour: green while the call is fine, amber when poor, red when bad or down. */
  tone: 'unknown' | 'ok' | 'poor' | 'bad' | 'down';
}

/** The look of `quality`; anything off the scale shows as unknown. */
export function networkLook(quality: number): NetworkLook {
  const level = Number.isInteger(quality) && quality >= 0 && quality <= 6 ? quality : 0;
  if (level === 0) return { level, bars: 0, tone: 'unknown' };
  if (level === 6) return { level, bars: 0, tone: 'down' };
  const tone = level <= 2 ? 'ok' : level === 3 ? 'poor' : 'bad';
  return { level, bars: NETWORK_BARS + 1 - level, tone };
}
