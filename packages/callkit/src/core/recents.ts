/**
 * The "recent calls" list as the kit shows it: each call of the user's history (the SDK's
 * `getCallHistory`) seen from this user's side — with whom, which way, how it ended — and what
 * "call back" starts. Pure functions: the core keeps the list in its state, the views render it.
 */
import type { UserCallHistoryCall } from '@ringline/calling';
import { CallMediaType, type RecentCall, type RecentCalls } from './types.js';

/** Most calls the list keeps (loading more stops there). */
export const MAX_RECENT_CALLS = 200;
/** Calls fetched per page. */
export const RECENT_PAGE = 20;

/** An empty list, before anything was loaded. */
export function emptyRecents(): RecentCalls {
  return { calls: [], unread: 0, loading: false };
}

/** One history entry as a row of the list, from `self`'s side. */
export function toRecentCall(call: UserCallHistoryCall, self: string): RecentCall {
  const others = call.members.map((m) => m.userID).filter((id) => id !== self);
  const isGroup = call.groupID !== undefined || others.length > 1;
  const outgoing = call.sponsor === self;
  const recent: RecentCall = {
    callID: call.callID,
    // A 1:1 call is with the other user; a group call is named by its group, else its caller.
    peer: call.groupID ?? (outgoing ? (others[0] ?? self) : call.sponsor),
    others,
    isGroup,
    mediaType: call.callType === 1 ? CallMediaType.AUDIO : CallMediaType.VIDEO,
    direction: outgoing ? 'outgoing' : 'incoming',
    startedAt: call.startedAt,
    durationMs: call.durationMs,
    missed: call.missed,
    seen: call.seen,
  };
  if (call.groupID !== undefined) recent.groupID = call.groupID;
  if (call.outcome !== undefined) recent.outcome = call.outcome;
  return recent;
}

/** `older` after `newer`, without repeats, at most MAX_RECENT_CALLS. */
export function mergeRecents(newer: RecentCall[], older: RecentCall[]): RecentCall[] {
  const seen = new Set(newer.map((c) => c.callID));
  return [...newer, ...older.filter((c) => !seen.has(c.callID))].slice(0, MAX_RECENT_CALLS);
}

/** What calling back starts: the same media type, to the same user, or the group's members. */
export type CallBack =
  | { kind: 'c2c'; userID: string; type: 1 | 2 }
  | { kind: 'group'; userIDList: string[]; groupID?: string; type: 1 | 2 };

export function callBackOf(call: RecentCall): CallBack {
  const type = call.mediaType === CallMediaType.AUDIO ? 1 : 2;
  if (!call.isGroup) return { kind: 'c2c', userID: call.peer, type };
  return {
    kind: 'group',
    userIDList: call.others,
    type,
    ...(call.groupID !== undefined && { groupID: call.groupID }),
  };
}
