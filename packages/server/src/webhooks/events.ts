/**
 * What a webhook says: the calls' domain events (calls/events.ts) and a kicked session, as a
 * stable JSON shape of their own — `{id, type, time, callID, seq, data}` — so that the call
 * layer's internals can change without changing what apps receive. docs/webhooks.md shows each.
 */
import type { CallType, KickReason, MediaMode, OfflinePushInfo } from '@ringline/protocol';
import { CallEventType, type CallEvent } from '../calls/events.js';

/** The kinds of webhook event. */
export const WebhookEventType = {
  /** Users were invited into a call (a new call, or one in progress). */
  CALL_INVITED: 'call.invited',
  /** An invitee accepted (or joined while rung). */
  CALL_ANSWERED: 'call.answered',
  /** An invitee declined, or was busy. */
  CALL_REJECTED: 'call.rejected',
  /** A user entered the call. */
  CALL_MEMBER_JOINED: 'call.member_joined',
  /** A member left (hung up, or their session ended). */
  CALL_MEMBER_LEFT: 'call.member_left',
  /** The call ended, with its duration and reason. */
  CALL_ENDED: 'call.ended',
  /** An invitee never answered (timeout, or the caller cancelled): time for the app's own push. */
  CALL_MISSED: 'call.missed',
  /** A user's session was ended by the server (another login of the same user). */
  USER_KICKED: 'user.kicked',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

/** What every call event's `data` says about the call. */
export interface WebhookCallFields {
  roomID: number;
  sponsor: string;
  callType: CallType;
  media: MediaMode;
  groupID?: string;
}

/** Each event's `data`, by type. */
export interface WebhookEventData {
  [WebhookEventType.CALL_INVITED]: WebhookCallFields & {
    inviteID: string;
    inviter: string;
    invitees: string[];
    /** Seconds it rings. */
    timeout: number;
    /** This invitation started the call. */
    created: boolean;
    /** Invitees with no session when invited: it rings for them until they log in. */
    offline: string[];
    offlinePushInfo?: OfflinePushInfo;
  };
  [WebhookEventType.CALL_ANSWERED]: WebhookCallFields & {
    inviteID: string;
    userID: string;
    /** `--multi-device ring-all`: the device (session ID) that took the call. */
    deviceID?: string;
  };
  [WebhookEventType.CALL_REJECTED]: WebhookCallFields & {
    inviteID: string;
    userID: string;
    reason: 'declined' | 'busy';
  };
  [WebhookEventType.CALL_MEMBER_JOINED]: WebhookCallFields & {
    userID: string;
    /** This join connected the call (two users in it for the first time). */
    connected: boolean;
  };
  [WebhookEventType.CALL_MEMBER_LEFT]: WebhookCallFields & {
    userID: string;
    reason: 'hangup' | 'disconnected';
  };
  [WebhookEventType.CALL_ENDED]: WebhookCallFields & {
    reason: string;
    /** Everyone who was in the call, sponsor first, in join order. */
    members: string[];
    startedAt: number;
    connectedAt?: number;
    /** Whole seconds from connecting to the end; 0 for a call that never connected. */
    duration: number;
  };
  [WebhookEventType.CALL_MISSED]: WebhookCallFields & {
    inviteID: string;
    userID: string;
    reason: 'timeout' | 'cancelled';
    /** The invitee never had a session while it rang (an offline missed call). */
    offline: boolean;
    inviter: string;
    offlinePushInfo?: OfflinePushInfo;
  };
  [WebhookEventType.USER_KICKED]: { userID: string; reason: KickReason };
}

/** A webhook event before it gets its per-endpoint `id`. */
export type WebhookEventBody = {
  [T in WebhookEventType]: {
    type: T;
    /** When it happened, Unix ms. */
    time: number;
    /** The call (call.* events only). */
    callID?: string;
    /** The event's place in its call: 1, 2, 3… (call.* events only). */
    seq?: number;
    data: WebhookEventData[T];
  };
}[WebhookEventType];

/** One delivery's JSON body. */
export type WebhookEvent = { id: string } & WebhookEventBody;

/** The webhook event a domain event is. */
export function fromCallEvent(e: CallEvent): WebhookEventBody {
  const call: WebhookCallFields = {
    roomID: e.roomID,
    sponsor: e.sponsor,
    callType: e.callType,
    media: e.media,
    ...(e.groupID !== undefined && { groupID: e.groupID }),
  };
  const head = { time: e.time, callID: e.callID, seq: e.seq };
  switch (e.type) {
    case CallEventType.INVITED:
      return {
        type: WebhookEventType.CALL_INVITED,
        ...head,
        data: {
          ...call,
          inviteID: e.inviteID,
          inviter: e.inviter,
          invitees: [...e.invitees],
          timeout: e.timeout,
          created: e.created,
          offline: [...e.offline],
          ...(e.offlinePushInfo && { offlinePushInfo: e.offlinePushInfo }),
        },
      };
    case CallEventType.ANSWERED:
      return {
        type: WebhookEventType.CALL_ANSWERED,
        ...head,
        data: {
          ...call,
          inviteID: e.inviteID,
          userID: e.userID,
          ...(e.deviceID !== undefined && { deviceID: e.deviceID }),
        },
      };
    case CallEventType.REJECTED:
      return {
        type: WebhookEventType.CALL_REJECTED,
        ...head,
        data: { ...call, inviteID: e.inviteID, userID: e.userID, reason: e.reason },
      };
    case CallEventType.JOINED:
      return {
        type: WebhookEventType.CALL_MEMBER_JOINED,
        ...head,
        data: { ...call, userID: e.userID, connected: e.connected },
      };
    case CallEventType.LEFT:
      return {
        type: WebhookEventType.CALL_MEMBER_LEFT,
        ...head,
        data: { ...call, userID: e.userID, reason: e.reason },
      };
    case CallEventType.ENDED:
      return {
        type: WebhookEventType.CALL_ENDED,
        ...head,
        data: {
          ...call,
          reason: e.reason,
          members: [...e.joined],
          startedAt: e.startedAt,
          ...(e.connectedAt !== undefined && { connectedAt: e.connectedAt }),
          duration:
            e.connectedAt === undefined
              ? 0
              : Math.max(0, Math.floor((e.time - e.connectedAt) / 1000)),
        },
      };
    case CallEventType.MISSED:
      return {
        type: WebhookEventType.CALL_MISSED,
        ...head,
        data: {
          ...call,
          inviteID: e.inviteID,
          userID: e.userID,
          reason: e.reason,
          offline: e.offline,
          inviter: e.inviter,
          ...(e.offlinePushInfo && { offlinePushInfo: e.offlinePushInfo }),
        },
      };
  }
}

/** The JSON body of one delivery, keys in a fixed order. */
export function webhookBody(id: string, e: WebhookEventBody): string {
  return JSON.stringify({ id, ...e });
}
