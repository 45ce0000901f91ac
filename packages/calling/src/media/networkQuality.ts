/**
 * Network quality on TRTC's scale (`TRTCQuality`: 0 unknown … 6 down), scored from what a link's
 * statistics say over one sampling interval. Pure: no WebRTC here (see `stats.ts` for reading
 * getStats() and `P2PSession` / `SfuSession` for which link is whose).
 */

/** TRTC's quality levels, as its `onNetworkQuality` reports them. */
export const NetworkQuality = {
  Unknown: 0,
  Excellent: 1,
  Good: 2,
  Poor: 3,
  Bad: 4,
  VeryBad: 5,
  Down: 6,
} as const;
export type NetworkQuality = (typeof NetworkQuality)[keyof typeof NetworkQuality];

/** What is known of one link over the last interval; a missing value is simply not known. */
export interface LinkMetrics {
  /** Round-trip time, ms. */
  rttMs?: number | undefined;
  /** Share of the packets of the interval that were lost, 0..1. */
  lossRate?: number | undefined;
  /** Interarrival jitter, ms. */
  jitterMs?: number | undefined;
  /** The transport is disconnected or failed. */
  down?: boolean | undefined;
}

/**
 * Upper bounds (exclusive) of Excellent, Good, Poor and Bad for each metric; at or above the last
 * one a link is VeryBad. Loss hurts first (audio conceals ~1 %, video stalls beyond a few %); RTT
 * matters for conversation (ITU-T G.114 puts the comfortable one-way limit at 150 ms); jitter beyond
 * the jitter buffer's usual 20-40 ms adds delay and concealment.
 */
export const QUALITY_THRESHOLDS = {
  lossRate: [0.01, 0.03, 0.08, 0.15],
  rttMs: [100, 200, 350, 600],
  jitterMs: [20, 40, 80, 150],
} as const;

/** The level of one metric against its thresholds: Excellent … VeryBad. */
function level(value: number, bounds: readonly number[]): NetworkQuality {
  const index = bounds.findIndex((bound) => value < bound);
  return (
    index === -1 ? NetworkQuality.VeryBad : NetworkQuality.Excellent + index
  ) as NetworkQuality;
}

function known(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

/**
 * The quality of a link: Down when its transport is down, Unknown when nothing is measured yet,
 * else the worst level among the metrics that are known.
 */
export function scoreLink(metrics: LinkMetrics): NetworkQuality {
  if (metrics.down) return NetworkQuality.Down;
  let worst: NetworkQuality = NetworkQuality.Unknown;
  for (const key of ['lossRate', 'rttMs', 'jitterMs'] as const) {
    const value = metrics[key];
    if (!known(value)) continue;
    worst = Math.max(worst, level(value, QUALITY_THRESHOLDS[key])) as NetworkQuality;
  }
  return worst;
}

/**
 * The share of packets lost among those expected in an interval, from the deltas of cumulative
 * `packetsReceived` and `packetsLost`; undefined when no packet was expected (nothing to judge).
 * `packetsLost` may go down (late duplicates are subtracted): a negative delta counts as none.
 */
export function lossRate(received: number, lost: number): number | undefined {
  const lostNow = Math.max(0, lost);
  const expected = Math.max(0, received) + lostNow;
  return expected > 0 ? lostNow / expected : undefined;
}
