/**
 * Reading link quality out of `RTCPeerConnection.getStats()`: the selected candidate pair's RTT,
 * what the far end reports about our sending (remote-inbound-rtp), and the streams we receive
 * (inbound-rtp), turned into per-interval metrics for `scoreLink`.
 */
import { lossRate, type LinkMetrics } from './networkQuality.js';

/** One received RTP stream, with its cumulative counters. */
export interface InboundStream {
  /** The stats object's id (stable for the stream's lifetime). */
  id: string;
  kind: string;
  /** The transceiver's mid, where the browser reports it. */
  mid: string | undefined;
  /** The receiving track's id, where the browser reports it. */
  trackIdentifier: string | undefined;
  packetsReceived: number;
  packetsLost: number;
  /** Seconds. */
  jitter: number | undefined;
}

/** What one report says about a connection's quality. */
export interface StatsSnapshot {
  /** RTT of the selected candidate pair (STUN consent checks), seconds. */
  pairRtt: number | undefined;
  /** From the far end's RTCP receiver reports about what we send, worst over our streams. */
  sent: {
    fractionLost: number | undefined;
    /** Seconds. */
    rtt: number | undefined;
    /** Seconds; audio's where there is audio (video's is bursty by frame). */
    jitter: number | undefined;
  };
  received: InboundStream[];
}

type Stats = Record<string, unknown> & { id: string; type: string };

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const maxOf = (values: (number | undefined)[]): number | undefined => {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? Math.max(...present) : undefined;
};

/** The worst jitter of `items`, audio's if any carries audio. */
function worstJitter(items: { kind: string; jitter: number | undefined }[]): number | undefined {
  const audio = items.filter((i) => i.kind === 'audio');
  return maxOf((audio.length ? audio : items).map((i) => i.jitter));
}

/** Extracts the quality-relevant parts of a getStats() report. */
export function readStats(report: RTCStatsReport): StatsSnapshot {
  const all: Stats[] = [];
  report.forEach((value: unknown) => all.push(value as Stats));
  const byId = new Map(all.map((s) => [s.id, s]));

  // The pair in use: named by the transport (the spec), else the one Firefox flags `selected`,
  // else a nominated pair that succeeded.
  const selectedId = all
    .filter((s) => s.type === 'transport')
    .map((s) => str(s.selectedCandidatePairId))
    .find((id) => id !== undefined);
  const pairs = all.filter((s) => s.type === 'candidate-pair');
  const pair =
    (selectedId !== undefined ? byId.get(selectedId) : undefined) ??
    pairs.find((p) => p.selected === true) ??
    pairs.find((p) => p.nominated === true && p.state === 'succeeded');

  const remoteInbound = all
    .filter((s) => s.type === 'remote-inbound-rtp')
    .map((s) => ({
      kind: str(s.kind) ?? '',
      fractionLost: num(s.fractionLost),
      rtt: num(s.roundTripTime),
      jitter: num(s.jitter),
    }));

  const received = all
    .filter((s) => s.type === 'inbound-rtp')
    .map((s): InboundStream => ({
      id: s.id,
      kind: str(s.kind) ?? str(s.mediaType) ?? '',
      mid: str(s.mid),
      trackIdentifier: str(s.trackIdentifier),
      packetsReceived: num(s.packetsReceived) ?? 0,
      packetsLost: num(s.packetsLost) ?? 0,
      jitter: num(s.jitter),
    }));

  return {
    pairRtt: pair ? num(pair.currentRoundTripTime) : undefined,
    sent: {
      fractionLost: maxOf(remoteInbound.map((r) => r.fractionLost)),
      rtt: maxOf(remoteInbound.map((r) => r.rtt)),
      jitter: worstJitter(remoteInbound),
    },
    received,
  };
}

/** How a received stream did since the previous reading. */
export interface InboundInterval {
  stream: InboundStream;
  /** Packets received and lost since the previous reading (since the start, the first time). */
  received: number;
  lost: number;
}

/**
 * Remembers the counters of each received stream between readings of one connection, so that loss
 * is judged over the last interval, not the whole call.
 */
export class InboundDeltas {
  #last = new Map<string, { received: number; lost: number }>();

  /** Each stream of `snapshot` with its counters' change since the previous call. */
  next(snapshot: StatsSnapshot): InboundInterval[] {
    const seen = new Map<string, { received: number; lost: number }>();
    const intervals = snapshot.received.map((stream) => {
      const before = this.#last.get(stream.id) ?? { received: 0, lost: 0 };
      seen.set(stream.id, { received: stream.packetsReceived, lost: stream.packetsLost });
      return {
        stream,
        received: stream.packetsReceived - before.received,
        lost: stream.packetsLost - before.lost,
      };
    });
    // Streams that went away are forgotten.
    this.#last = seen;
    return intervals;
  }
}

/** getStats() reports seconds; the scores take milliseconds. */
const toMs = (s: number | undefined): number | undefined =>
  s === undefined ? undefined : s * 1000;

/** The metrics of what we send, as the far end reports it (RTT: the pair's if RTCP has none). */
export function uplinkMetrics(snapshot: StatsSnapshot, down: boolean): LinkMetrics {
  const rtt = snapshot.sent.rtt ?? snapshot.pairRtt;
  const jitter = snapshot.sent.jitter;
  return {
    down,
    rttMs: toMs(rtt),
    lossRate: snapshot.sent.fractionLost,
    jitterMs: toMs(jitter),
  };
}

/**
 * The metrics of what we receive in `streams` (one sender's) over a link with RTT `rtt` (s). A
 * sender none of whose packets were expected in the interval is not judged by the link alone: what
 * is rated is their media as it arrives, and none did.
 */
export function downlinkMetrics(
  streams: InboundInterval[],
  rtt: number | undefined,
  down: boolean,
): LinkMetrics {
  const received = streams.reduce((sum, s) => sum + s.received, 0);
  const lost = streams.reduce((sum, s) => sum + Math.max(0, s.lost), 0);
  const loss = lossRate(received, lost);
  if (loss === undefined) return { down };
  const jitter = worstJitter(streams.map((s) => s.stream));
  return {
    down,
    rttMs: toMs(rtt),
    lossRate: loss,
    jitterMs: toMs(jitter),
  };
}

/** Whether a connection's state means no media gets through. */
export function isDown(state: RTCPeerConnectionState | undefined): boolean {
  return state === 'disconnected' || state === 'failed';
}
