/**
 * Domain events: what a committed call transaction did, for observers outside the call layer —
 * the call history (history/observer.ts), webhooks, metrics — none of which the call layer knows
 * by name. Each commit that succeeds hands its events, in the order they happened, to every
 * observer at once, after the store write and before the commit's pushes go out; a commit that
 * fails (or an operation that throws) produces none. Events of one call reach observers in the
 * order its commits happened (they run under the call's lock).
 *
 * Layers: a leaf (types only); calls/tx.ts produces them, observers import them.
 */
import type { CallEndReason, CallType, MediaMode, OfflinePushInfo } from '@ringline/protocol';

/** The kinds of domain event. */
export const CallEventType = {
  /**
   * Someone invited users into a call: on a new call (the sponsor's invite; `created`) or into
   * one in progress. Invitees that were busy then get a `rejected` event (`reason: 'busy'`).
   */
  INVITED: 'invited',
  /** An invitee answered: accepted the invitation, or joined the call while it rang for them. */
  ANSWERED: 'answered',
  /** An invitee declined (`declined`), or was busy (`busy`: in another call, or said so). */
  REJECTED: 'rejected',
  /**
   * A user entered the call (after answering, or joining a group's call). The sponsor is in the
   * call from its start (the `created` invitation) and gets no `joined`.
   */
  JOINED: 'joined',
  /** A member left: hung up, or their session ended for good (`disconnected`). */
  LEFT: 'left',
  /**
   * The call ended, for everyone still in it (they get no `left`); invitations still ringing
   * were cancelled just before (`missed`).
   */
  ENDED: 'ended',
  /** An invitee never answered: the invitation timed out, or was cancelled while ringing. */
  MISSED: 'missed',
} as const;
export type CallEventType = (typeof CallEventType)[keyof typeof CallEventType];

/** What every event says about the call it happened in (as it was at that moment). */
export interface CallEventBase {
  callID: string;
  /**
   * The event's place in its call: 1, 2, 3… in the order they happened, whichever node committed
   * them (the counter lives in the call's record, under its lock). Webhooks order by it.
   */
  seq: number;
  /** When it happened: the operation's time, Unix ms (every event of one commit shares it). */
  time: number;
  /** The call's TRTC room ID. */
  roomID: number;
  /** The user who started the call. */
  sponsor: string;
  callType: CallType;
  /** How the call's media flows: p2p, or through the SFU. */
  media: MediaMode;
  /** The group the call was made in, if any. */
  groupID?: string;
}

/** Each event's own fields, by type. */
export interface CallEventPayloads {
  [CallEventType.INVITED]: {
    inviteID: string;
    /** Who invited (the sponsor for the call's first invitation). */
    inviter: string;
    /** Everyone invited, as listed; those busy get a `rejected` event right after. */
    invitees: readonly string[];
    /** Seconds it rings. */
    timeout: number;
    /** This invitation started the call. */
    created: boolean;
    /**
     * Invitees who had no session when invited: it rings for them until they log in or it times
     * out (an app may reach them its own way meanwhile, e.g. a mobile push).
     */
    offline: readonly string[];
    /** What the inviter asked an offline callee's device to show (webhooks pass it on). */
    offlinePushInfo?: OfflinePushInfo;
  };
  [CallEventType.ANSWERED]: {
    inviteID: string;
    userID: string;
    /**
     * `--multi-device ring-all`: the device (its session ID) that took the call; the user's other
     * devices stopped ringing (`inviteEnded` answered_elsewhere). Absent in `kick` mode.
     */
    deviceID?: string;
  };
  [CallEventType.REJECTED]: { inviteID: string; userID: string; reason: 'declined' | 'busy' };
  [CallEventType.JOINED]: {
    userID: string;
    /** This join connected the call: it is the first time two users are in it. */
    connected: boolean;
  };
  [CallEventType.LEFT]: { userID: string; reason: 'hangup' | 'disconnected' };
  [CallEventType.ENDED]: {
    reason: CallEndReason;
    /** When the call was created, Unix ms. */
    startedAt: number;
    /** When a second user first joined (the call connected), Unix ms; absent if it never did. */
    connectedAt?: number;
    /** Everyone who was in the call at some point, sponsor first, in join order. */
    joined: readonly string[];
  };
  [CallEventType.MISSED]: {
    inviteID: string;
    userID: string;
    reason: 'timeout' | 'cancelled';
    /** The invitee never had a session while it rang for them (an offline missed call). */
    offline: boolean;
    /** Who rang them. */
    inviter: string;
    /** The invitation's offlinePushInfo: what an app's own mobile push to the callee shows. */
    offlinePushInfo?: OfflinePushInfo;
  };
}

/** One domain event: its `type`, the call's fields, and the type's own fields. */
export type CallEvent = {
  [T in CallEventType]: { type: T } & CallEventBase & CallEventPayloads[T];
}[CallEventType];

/** An event of one type. */
export type CallEventOf<T extends CallEventType> = Extract<CallEvent, { type: T }>;

/**
 * Receives the events of one commit. Called synchronously, still under the call's lock, so it must
 * not block: queue slow work (a database write, an HTTP request) and return. A throw is caught and
 * logged; it never undoes or delays the call's change.
 */
export type CallObserver = (events: readonly CallEvent[]) => void;
