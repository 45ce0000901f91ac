/** Call steps and measurements shared by the cross-NAT tests. */
import { expect } from 'vitest';
import {
  EVENT,
  connect,
  connectGroup,
  expectEveryoneDecodes,
  pollUntil,
  showAll,
  showEachOther,
} from '../harness/index.js';
import type { CandidateEnd, IceReport, QualityReport, SiteUser } from './fixture.js';

/** The ICE error code the SDK reports when media cannot connect (docs/errors.md). */
export const MEDIA_CONNECT_FAILED = 60120;

/** Media across a NAT (and through TURN) may take longer to flow than on one veth. */
export const MEDIA_TIMEOUT_MS = 30_000;

/** `caller` calls `callee`, who accepts; both show the other and decode rising frames. */
export async function connectPair(caller: SiteUser, callee: SiteUser): Promise<void> {
  await connect(caller.user, callee.user);
  await showEachOther(caller.user, callee.user);
  await expectDecoding([caller, callee]);
}

/** A group call from `caller` to `invitees`; everyone shows and decodes everyone else. */
export async function connectGroupAcross(caller: SiteUser, invitees: SiteUser[]): Promise<void> {
  await connectGroup(
    caller.user,
    invitees.map((u) => u.user),
  );
  const everyone = [caller, ...invitees].map((u) => u.user);
  await showAll(everyone, 160, 120);
  await expectDecoding([caller, ...invitees]);
}

/** Every user decodes `by` more frames of every other one. */
export function expectDecoding(
  users: SiteUser[],
  { by = 10, timeoutMs = MEDIA_TIMEOUT_MS } = {},
): Promise<void> {
  return expectEveryoneDecodes(
    users.map((u) => u.user),
    { by, timeoutMs },
  );
}

export interface SelectedPair {
  local: CandidateEnd;
  remote: CandidateEnd;
}

/**
 * Waits until every open peer connection of `user`'s page is connected with a selected pair;
 * resolves with the pairs and the whole report.
 */
export async function connectedPairs(
  user: SiteUser,
): Promise<{ pairs: SelectedPair[]; report: IceReport }> {
  const report = await pollUntil(
    `${user.user.name}'s peer connections connected with a selected pair`,
    () => user.ice(),
    (r) => {
      const open = r.connections.filter((c) => c.connectionState !== 'closed');
      return (
        open.length > 0 &&
        open.every((c) => c.connectionState === 'connected' && c.local && c.remote)
      );
    },
    { timeoutMs: 10_000, intervalMs: 250 },
  );
  const pairs = report.connections
    .filter((c) => c.connectionState === 'connected')
    .map((c) => ({ local: c.local!, remote: c.remote! }));
  return { pairs, report };
}

/** "relay → prflx" for messages and the printed figures. */
export function describePair(pair: SelectedPair): string {
  return `${pair.local.type} ${pair.local.address} → ${pair.remote.type} ${pair.remote.address}`;
}

/** No USER_LEAVE and no CALL_END recorded in `user`'s page since `after`. */
export async function expectStillInCall(user: SiteUser, after: number): Promise<void> {
  const events = (await user.user.events()).filter((e) => e.index >= after);
  const left = events.filter((e) => e.name === EVENT.USER_LEAVE || e.name === EVENT.CALL_END);
  expect(left, `${user.user.name} saw nobody leave`).toEqual([]);
}

/** Waits until `viewer` has decoded no new frame of any of `shown` for `quietMs`. */
export async function expectFramesStall(
  viewer: SiteUser,
  shown: SiteUser[],
  { quietMs = 1_000, timeoutMs = 10_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await framesOf(viewer, shown);
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await framesOf(viewer, shown);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${viewer.user.name} kept decoding frames for ${timeoutMs} ms`);
    }
  }
}

async function framesOf(viewer: SiteUser, shown: SiteUser[]): Promise<string> {
  const counts = await Promise.all(shown.map((s) => viewer.user.framesDecoded(s.userID)));
  return counts.join(',');
}

/** Receive-side quality of one page over a window: deltas of the getStats counters. */
export interface WindowQuality {
  user: string;
  seconds: number;
  /** Decoded frames per second, per remote video stream. */
  fps: number;
  freezes: number;
  freezeSeconds: number;
  /** Share of audio samples concealed (0..1). */
  concealed: number;
  videoLoss: number;
}

/** Measures `users`' receive quality over `ms` (the counters' difference; `streams` per page). */
export async function measureQuality(
  users: SiteUser[],
  ms: number,
  streams: number,
): Promise<WindowQuality[]> {
  const before = await Promise.all(users.map((u) => u.quality()));
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await Promise.all(users.map((u) => u.quality()));
  const seconds = (Date.now() - t0) / 1000;
  return users.map((u, i) => qualityDelta(u.user.name, before[i]!, after[i]!, seconds, streams));
}

function qualityDelta(
  user: string,
  a: QualityReport,
  b: QualityReport,
  seconds: number,
  streams: number,
): WindowQuality {
  const samples = b.totalSamplesReceived - a.totalSamplesReceived;
  const received = b.videoPacketsReceived - a.videoPacketsReceived;
  const lost = b.videoPacketsLost - a.videoPacketsLost;
  return {
    user,
    seconds: round(seconds),
    fps: round((b.framesDecoded - a.framesDecoded) / seconds / streams),
    freezes: b.freezeCount - a.freezeCount,
    freezeSeconds: round(b.totalFreezesDuration - a.totalFreezesDuration),
    concealed: round(samples > 0 ? (b.concealedSamples - a.concealedSamples) / samples : 0, 3),
    videoLoss: round(received + lost > 0 ? lost / (received + lost) : 0, 3),
  };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The site's router drops all UDP for `seconds` (from the moment of blocking), once every viewer's
 * frames have stalled; resolves at the moment the path is back.
 */
export async function udpBlackout(
  site: import('./topology.js').Site,
  viewers: { viewer: SiteUser; shown: SiteUser[] }[],
  seconds = 5,
): Promise<number> {
  await site.blockUdp();
  const blocked = Date.now();
  try {
    await Promise.all(viewers.map(({ viewer, shown }) => expectFramesStall(viewer, shown)));
    // The rest of the blackout is the scenario itself, not a wait for a condition.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, blocked + seconds * 1000 - Date.now())),
    );
  } finally {
    await site.unblockUdp();
  }
  return Date.now();
}

/**
 * Waits until every viewer decodes new frames of everyone it shows again; resolves with the ms
 * from `since` until the last of them did (the recovery time the figures report).
 */
export async function recoveredAfter(
  viewers: { viewer: SiteUser; shown: SiteUser[] }[],
  since: number,
  timeoutMs = MEDIA_TIMEOUT_MS,
): Promise<number> {
  await Promise.all(
    viewers.flatMap(({ viewer, shown }) =>
      shown.map((s) =>
        viewer.user.expectFramesRising(s.userID, { by: 3, timeoutMs }).catch((error: Error) => {
          throw new Error(`${viewer.user.name}'s page: ${error.message}`);
        }),
      ),
    ),
  );
  return Date.now() - since;
}

/** Everyone in `users` views everyone else. */
export function everyoneViews(users: SiteUser[]): { viewer: SiteUser; shown: SiteUser[] }[] {
  return users.map((viewer) => ({ viewer, shown: users.filter((u) => u !== viewer) }));
}
