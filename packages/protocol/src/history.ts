/**
 * Call history as both sides of the HTTP history API see it: the server's admin and user routes
 * answer these shapes, the SDK's `getCallHistory` / `getMissedCalls` resolve them.
 */
import type { CallEndReason, CallType, MediaMode } from './constants.js';

/** How one member's part in a call ended. */
export const MemberOutcome = {
  /** Was in the call when it ended (for the caller: the call was answered and they stayed). */
  ANSWERED: 'answered',
  /** Declined the invitation. */
  REJECTED: 'rejected',
  /** Was in another call (or said busy) when invited. */
  BUSY: 'busy',
  /** Did not answer before the invitation timed out (for the caller: nobody answered). */
  NO_ANSWER: 'no_answer',
  /** The caller cancelled (or the call ended) while it rang for them. */
  CANCELLED: 'cancelled',
  /** Not online while rung, and did not log in before the invitation expired. */
  OFFLINE: 'offline',
  /**
   * Another of the user's devices answered (`--multi-device ring-all`). Only the user API says
   * so, to a device that names itself (`deviceID`) and did not answer; the stored outcome, and
   * what the admin API shows, is the answering device's (`answered`, `left`, …).
   */
  ANSWERED_ELSEWHERE: 'answered_elsewhere',
  /** Was in the call and hung up before it ended. */
  LEFT: 'left',
  /** Was in the call until their session ended for good (or the call's SFU was lost). */
  DISCONNECTED: 'disconnected',
} as const;
export type MemberOutcome = (typeof MemberOutcome)[keyof typeof MemberOutcome];

/** The outcomes that make a call a missed call for an invitee. */
export const MISSED_OUTCOMES: readonly MemberOutcome[] = [
  MemberOutcome.NO_ANSWER,
  MemberOutcome.CANCELLED,
  MemberOutcome.OFFLINE,
];

/** How a member came into the call. */
export type MemberRole = 'inviter' | 'invitee' | 'joiner';

/** Largest page of the history APIs (`limit`); the default is `DEFAULT_HISTORY_PAGE`. */
export const MAX_HISTORY_PAGE = 200;
export const DEFAULT_HISTORY_PAGE = 50;
/** Most call IDs one mark-seen request may name. */
export const MAX_MARK_SEEN_IDS = 100;
/**
 * A device ID as the user API takes it (`?deviceID=`): the session ID the server gave that device
 * at login (`login` reply's `sessionID`).
 */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,64}$';

/** One member of a recorded call. Times are Unix ms. */
export interface CallHistoryMember {
  userID: string;
  role: MemberRole;
  /** When they were invited (absent for a joiner). */
  invitedAt?: number;
  answeredAt?: number;
  /** When they entered the call (last time, after a rejoin). */
  joinedAt?: number;
  /** When their part ended (rejected, missed, left). */
  leftAt?: number;
  /** Absent while their part is still going on (ringing, in the call). */
  outcome?: MemberOutcome;
  /**
   * `--multi-device ring-all`: the device (its session ID) that answered. The admin API only;
   * the user API leaves it out.
   */
  deviceID?: string;
}

/** One recorded call. */
export interface CallHistoryCall {
  callID: string;
  roomID: number;
  /** The caller. */
  sponsor: string;
  groupID?: string;
  callType: CallType;
  /** The media mode the call ended in (or is in). */
  media: MediaMode;
  startedAt: number;
  /** When the first invitee joined; absent when nobody did. */
  connectedAt?: number;
  endedAt?: number;
  /** A call's end reason, or `server_restart` (the server stopped mid-call). */
  endReason?: CallEndReason | 'server_restart';
  /** From connect to end, ms; 0 for a call that never connected or is still going on. */
  durationMs: number;
  /** Everyone invited into or joining the call, in the order they came. */
  members: CallHistoryMember[];
}

/** A call in one user's own history: the call plus that user's part in it. */
export interface UserCallHistoryCall extends CallHistoryCall {
  role: MemberRole;
  /**
   * The user's outcome; absent while their part goes on. Asked with a `deviceID`, a call the
   * user answered on another device is `answered_elsewhere` (from the start of that answer).
   */
  outcome?: MemberOutcome;
  /** The user was invited and never answered (no_answer, cancelled, offline). */
  missed: boolean;
  /** A missed call the user has marked seen (always true for a call that is not missed). */
  seen: boolean;
}

/** A page of calls, newest first; `next` is the opaque cursor of the following page. */
export interface CallHistoryPage<C extends CallHistoryCall = CallHistoryCall> {
  calls: C[];
  next?: string;
}

/** `GET /api/calls/missed`. */
export interface MissedCalls {
  /** Missed calls not yet marked seen. */
  unread: number;
  /** The most recent missed calls (at most `limit`), newest first. */
  calls: UserCallHistoryCall[];
  next?: string;
}
