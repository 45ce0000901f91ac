import type { RecordedEvent } from './page-api.js';
import { REMOTE_VIEW, type TestUser } from './user.js';

/**
 * The event names of the seed's `TRTCCalling.EVENT`, as trtc-calling-js defines them. Tests use
 * these; one test checks that the SDK bundle's own table holds the same values.
 */
export const EVENT = {
  INVITED: 'onInvited',
  REJECT: 'onReject',
  NO_RESP: 'onNoResp',
  LINE_BUSY: 'onLineBusy',
  CALLING_CANCEL: 'onCallingCancel',
  CALLING_TIMEOUT: 'onCallingTimeout',
  USER_ENTER: 'onUserEnter',
  USER_LEAVE: 'onUserLeave',
  CALL_END: 'onCallEnd',
  KICKED_OUT: 'onKickedOut',
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable',
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
  ERROR: 'onError',
  SDK_READY: 'sdkReady',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
} as const;

/** Call types as the seed numbers them. */
export const AUDIO = 1;
export const VIDEO = 2;

/** `caller` calls `callee` and waits until `callee` got INVITED; resolves with that event. */
export async function ring(
  caller: TestUser,
  callee: TestUser,
  { type = VIDEO, timeout }: { type?: 1 | 2; timeout?: number } = {},
): Promise<RecordedEvent> {
  const after = await callee.mark();
  await caller.sdk.call({
    userID: callee.userID,
    type,
    ...(timeout === undefined ? {} : { timeout }),
  });
  return callee.waitForEvent(EVENT.INVITED, (p) => p.sponsor === caller.userID, { after });
}

/**
 * A connected one-to-one call: `caller` calls, `callee` accepts, and both got USER_ENTER for the
 * other. Resolves with the callee's INVITED event.
 */
export async function connect(
  caller: TestUser,
  callee: TestUser,
  options: { type?: 1 | 2 } = {},
): Promise<RecordedEvent> {
  const [callerMark, calleeMark] = await Promise.all([caller.mark(), callee.mark()]);
  const invited = await ring(caller, callee, options);
  await callee.sdk.accept();
  await Promise.all([
    caller.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === callee.userID, {
      after: callerMark,
    }),
    callee.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === caller.userID, {
      after: calleeMark,
    }),
  ]);
  return invited;
}

/** Each side renders the other into its remote view, as an app does on USER_ENTER. */
export async function showEachOther(a: TestUser, b: TestUser): Promise<void> {
  await Promise.all([
    a.sdk.startRemoteView({ userID: b.userID, videoViewDomID: REMOTE_VIEW }),
    b.sdk.startRemoteView({ userID: a.userID, videoViewDomID: REMOTE_VIEW }),
  ]);
}

/**
 * `caller` starts a group call to `invitees` (through `groupID` when given) and waits until every
 * invitee got INVITED from them; resolves with those events, in `invitees` order.
 */
export async function groupRing(
  caller: TestUser,
  invitees: TestUser[],
  { type = VIDEO, groupID, timeout }: { type?: 1 | 2; groupID?: string; timeout?: number } = {},
): Promise<RecordedEvent[]> {
  const marks = await Promise.all(invitees.map((u) => u.mark()));
  await caller.sdk.groupCall({
    userIDList: invitees.map((u) => u.userID),
    type,
    ...(groupID === undefined ? {} : { groupID }),
    ...(timeout === undefined ? {} : { timeout }),
  });
  return Promise.all(
    invitees.map((u, i) =>
      u.waitForEvent(EVENT.INVITED, (p) => p.sponsor === caller.userID, { after: marks[i] }),
    ),
  );
}

/** Waits until `user` got USER_ENTER for every one of `others` (since `after`). */
export async function enteredAll(
  user: TestUser,
  others: { userID: string }[],
  after = 0,
  timeoutMs?: number,
): Promise<void> {
  await Promise.all(
    others.map((o) =>
      user.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === o.userID, {
        after,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      }),
    ),
  );
}

/**
 * A connected group call: `caller` calls every invitee, they accept one after the other, and every
 * member got USER_ENTER for every other member. Resolves with the invitees' INVITED events.
 */
export async function connectGroup(
  caller: TestUser,
  invitees: TestUser[],
  options: { type?: 1 | 2; groupID?: string } = {},
): Promise<RecordedEvent[]> {
  const everyone = [caller, ...invitees];
  const marks = await Promise.all(everyone.map((u) => u.mark()));
  const invited = await groupRing(caller, invitees, options);
  for (const invitee of invitees) await invitee.sdk.accept();
  await Promise.all(
    everyone.map((u, i) =>
      enteredAll(
        u,
        everyone.filter((o) => o !== u),
        marks[i],
      ),
    ),
  );
  return invited;
}

/** Every user renders every other one in a view of their own (`width` × `height`). */
export async function showAll(users: TestUser[], width = 320, height = 240): Promise<void> {
  await Promise.all(
    users.flatMap((viewer) =>
      users
        .filter((u) => u !== viewer)
        .map((shown) => viewer.showRemote(shown.userID, width, height)),
    ),
  );
}

/** Waits until every user decodes `by` more frames of every other one. */
export async function expectEveryoneDecodes(
  users: TestUser[],
  { by = 10, timeoutMs = 20_000 }: { by?: number; timeoutMs?: number } = {},
): Promise<void> {
  await Promise.all(
    users.flatMap((viewer) =>
      users
        .filter((u) => u !== viewer)
        .map((shown) => viewer.expectFramesRising(shown.userID, { by, timeoutMs })),
    ),
  );
}

/** How often longestFreeze reads the counters (a 15 fps stream moves every ~67 ms). */
const FRAME_POLL_MS = 50;

/** Decoded-frame counters of every (viewer, remote) pair, read in one round per page. */
export async function frameCounters(users: TestUser[]): Promise<Map<string, number>> {
  const rows = await Promise.all(
    users.map(async (viewer) => {
      const remotes = users.filter((u) => u !== viewer).map((u) => u.userID);
      const counts = await viewer.page.evaluate(
        (ids) => ids.map((id) => window.__ringline.framesOf(id)),
        remotes,
      );
      return remotes.map((id, i) => [`${viewer.name} ← ${id}`, counts[i]!] as const);
    }),
  );
  return new Map(rows.flat());
}

/**
 * Watches every pair's counter for `windowMs` and returns the longest time any pair went without a
 * new decoded frame: the interruption the kill caused (frames still in the jitter buffers count
 * as frames, so a heal faster than they drain shows no gap at all).
 */
export async function longestFreeze(users: TestUser[], windowMs: number): Promise<number> {
  let previous = await frameCounters(users);
  const lastNew = new Map([...previous.keys()].map((pair) => [pair, Date.now()]));
  let longest = 0;
  const until = Date.now() + windowMs;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, FRAME_POLL_MS));
    const now = await frameCounters(users);
    const t = Date.now();
    for (const [pair, count] of now) {
      if (count > previous.get(pair)!) lastNew.set(pair, t);
      longest = Math.max(longest, t - lastNew.get(pair)!);
    }
    previous = now;
  }
  return longest;
}

/**
 * The page's peer connections not closed: their state, their DTLS state, and how many the page
 * made in all (pre-connect: which were made while it rang, and whether any came after).
 */
export function connections(
  user: TestUser,
): Promise<{ made: number; states: string[]; dtls: string[] }> {
  return user.page.evaluate(async () => {
    const all = window.__ringline.peerConnections;
    const open = all.filter((pc) => pc.connectionState !== 'closed');
    const dtls: string[] = [];
    for (const pc of open) {
      (await pc.getStats()).forEach((s: { type: string; dtlsState?: string }) => {
        if (s.type === 'transport' && s.dtlsState) dtls.push(s.dtlsState);
      });
    }
    return { made: all.length, states: open.map((pc) => pc.connectionState), dtls };
  });
}

/** Media bytes the page sent and received (RTP, getStats), audio and video together. */
export async function mediaBytes(user: TestUser): Promise<{ sent: number; received: number }> {
  const [sa, sv, ra, rv] = await Promise.all([
    user.rtpStats('outbound-rtp', 'audio'),
    user.rtpStats('outbound-rtp', 'video'),
    user.rtpStats('inbound-rtp', 'audio'),
    user.rtpStats('inbound-rtp', 'video'),
  ]);
  return { sent: sa.bytes + sv.bytes, received: ra.bytes + rv.bytes };
}
