/**
 * Reading getStats() reports. The reports here are plain data in the shape libwebrtc returns
 * (trimmed from a real @roamhq/wrtc report); the same code runs on real reports in
 * ../TRTCCalling.networkQuality.test.ts and in the Chromium e2e tests.
 */
import { describe, expect, it } from 'vitest';
import { NetworkQuality, scoreLink } from './networkQuality.js';
import { InboundDeltas, downlinkMetrics, isDown, readStats, uplinkMetrics } from './stats.js';

/** A report as getStats() gives it: a map from stats id to stats object. */
function report(...stats: Record<string, unknown>[]): RTCStatsReport {
  return new Map(stats.map((s) => [s.id as string, s])) as unknown as RTCStatsReport;
}

const transport = {
  id: 'RTCTransport_0_1',
  type: 'transport',
  selectedCandidatePairId: 'pair-used',
};
const pairUsed = {
  id: 'pair-used',
  type: 'candidate-pair',
  state: 'succeeded',
  nominated: true,
  currentRoundTripTime: 0.045,
};
const pairOther = {
  id: 'pair-other',
  type: 'candidate-pair',
  state: 'succeeded',
  nominated: false,
  currentRoundTripTime: 0.9,
};

function inbound(
  id: string,
  kind: string,
  mid: string,
  packetsReceived: number,
  packetsLost: number,
  jitter: number,
) {
  return {
    id,
    type: 'inbound-rtp',
    kind,
    mid,
    trackIdentifier: `track-${mid}`,
    packetsReceived,
    packetsLost,
    jitter,
  };
}

describe('readStats', () => {
  it('takes the RTT of the pair the transport selected, not of another succeeded pair', () => {
    expect(readStats(report(pairOther, transport, pairUsed)).pairRtt).toBe(0.045);
  });

  it('falls back to a pair flagged selected (Firefox), then to a nominated succeeded one', () => {
    expect(
      readStats(report(pairOther, { ...pairUsed, id: 'ff', nominated: false, selected: true }))
        .pairRtt,
    ).toBe(0.045);
    expect(readStats(report(pairOther, pairUsed)).pairRtt).toBe(0.045);
    expect(readStats(report(pairOther)).pairRtt).toBeUndefined();
  });

  it('sums up what the far end reports of our streams: worst loss and RTT, audio’s jitter', () => {
    const snapshot = readStats(
      report(
        {
          id: 'ria',
          type: 'remote-inbound-rtp',
          kind: 'audio',
          fractionLost: 0.02,
          roundTripTime: 0.05,
          jitter: 0.004,
        },
        {
          id: 'riv',
          type: 'remote-inbound-rtp',
          kind: 'video',
          fractionLost: 0.05,
          roundTripTime: 0.06,
          jitter: 0.03,
        },
      ),
    );
    expect(snapshot.sent).toEqual({ fractionLost: 0.05, rtt: 0.06, jitter: 0.004 });
  });

  it('lists the received streams with their mid, track and counters', () => {
    const snapshot = readStats(report(inbound('in-a', 'audio', '0', 290, 3, 0.002)));
    expect(snapshot.received).toEqual([
      {
        id: 'in-a',
        kind: 'audio',
        mid: '0',
        trackIdentifier: 'track-0',
        packetsReceived: 290,
        packetsLost: 3,
        jitter: 0.002,
      },
    ]);
  });
});

describe('InboundDeltas', () => {
  it('judges loss over the last interval, not since the start of the call', () => {
    const deltas = new InboundDeltas();
    // First interval: 10 % lost.
    const first = deltas.next(readStats(report(inbound('in-a', 'audio', '0', 90, 10, 0.001))));
    expect(downlinkMetrics(first, undefined, false).lossRate).toBeCloseTo(0.1);
    // Second interval: 100 more received, none lost — the link has recovered.
    const second = deltas.next(readStats(report(inbound('in-a', 'audio', '0', 190, 10, 0.001))));
    expect(second.map((s) => [s.received, s.lost])).toEqual([[100, 0]]);
    expect(scoreLink(downlinkMetrics(second, 0.01, false))).toBe(NetworkQuality.Excellent);
  });

  it('adds up one sender’s streams and keeps the audio jitter', () => {
    const deltas = new InboundDeltas();
    const streams = deltas.next(
      readStats(
        report(
          inbound('in-a', 'audio', '0', 95, 5, 0.002),
          inbound('in-v', 'video', '1', 0, 0, 0.09),
        ),
      ),
    );
    expect(downlinkMetrics(streams, 0.03, false)).toEqual({
      down: false,
      rttMs: 30,
      lossRate: 0.05,
      jitterMs: 2,
    });
  });

  it('a sender none of whose packets arrived or were lost in the interval is not rated', () => {
    const deltas = new InboundDeltas();
    const streams = deltas.next(readStats(report(inbound('in-v', 'video', '1', 0, 0, 0))));
    expect(scoreLink(downlinkMetrics(streams, 0.001, false))).toBe(NetworkQuality.Unknown);
    expect(scoreLink(downlinkMetrics([], 0.001, false))).toBe(NetworkQuality.Unknown);
    // …but a connection that is down is down for everyone on it.
    expect(scoreLink(downlinkMetrics([], 0.001, true))).toBe(NetworkQuality.Down);
  });
});

describe('uplinkMetrics', () => {
  it('uses the RTCP RTT, else the candidate pair’s', () => {
    const withRtcp = readStats(
      report(transport, pairUsed, {
        id: 'ria',
        type: 'remote-inbound-rtp',
        kind: 'audio',
        fractionLost: 0,
        roundTripTime: 0.12,
        jitter: 0.001,
      }),
    );
    expect(uplinkMetrics(withRtcp, false)).toEqual({
      down: false,
      rttMs: 120,
      lossRate: 0,
      jitterMs: 1,
    });
    const pairOnly = readStats(report(transport, pairUsed));
    expect(uplinkMetrics(pairOnly, false)).toMatchObject({ rttMs: 45, lossRate: undefined });
    expect(scoreLink(uplinkMetrics(pairOnly, true))).toBe(NetworkQuality.Down);
  });
});

describe('isDown', () => {
  it('is true for disconnected and failed connections only', () => {
    expect(
      ['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'].map((s) =>
        isDown(s as RTCPeerConnectionState),
      ),
    ).toEqual([false, false, false, true, true, false]);
  });
});
