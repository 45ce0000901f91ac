import type {
  CallEndReason,
  CallType,
  InviteEndReason,
  KickReason,
  PushPayloads,
} from '@ringline/protocol';
import type { CallError, MediaKind } from '../errors.js';
import type { NetworkQuality } from '../media/networkQuality.js';
import type { CallState } from './CallState.js';

/** What the CallEngine reports to the facade. Each member says when it fires. */
export enum EngineEvent {
  /** The call state changed (after the change). */
  StateChanged = 'stateChanged',
  /** Login finished; the engine can call and be called. */
  Ready = 'ready',
  /** An invitation rings here (state is beInvited). */
  Invited = 'invited',
  /**
   * Every member: an invitee rejected (1:1: when nobody is left, the engine is idle already; a
   * group call waits for the server's end).
   */
  Rejected = 'rejected',
  /** Every member: an invitee was busy. */
  LineBusy = 'lineBusy',
  /** Every member: invitees did not answer in time. */
  NoResponse = 'noResponse',
  /**
   * Callee: the ringing invitation stopped, the engine idle already: the caller cancelled it, or
   * (`--multi-device ring-all`) the user answered it on another device (`answered_elsewhere`).
   */
  InviteCancelled = 'inviteCancelled',
  /** Callee: the ringing invitation timed out (the engine is idle already). */
  InviteTimedOut = 'inviteTimedOut',
  /** Another user joined the call (state is connected). */
  UserEnter = 'userEnter',
  /** Another user left the call. */
  UserLeave = 'userLeave',
  /** Another member's mic or camera state is known or changed. */
  RemoteMediaState = 'remoteMediaState',
  /** Another member switched the call between audio and video; the engine follows. */
  CallTypeChanged = 'callTypeChanged',
  /** The list of invitees still ringing in the call changed. */
  InviteeListUpdate = 'inviteeListUpdate',
  /** A call ended: a connected one for any reason, or any call whose session was lost. */
  CallEnded = 'callEnded',
  /** Another login of the same user ended this session; the engine is logged out. */
  Kicked = 'kicked',
  /** A remote member's audio or video track arrived. */
  RemoteTrack = 'remoteTrack',
  /** The local track as sent changed (the camera, or its blurred copy; null: stopped). */
  LocalTrack = 'localTrack',
  /**
   * Every ~2 s while connected: the quality of what we send (`local`) and of each member's media
   * as it reaches us (`remote`), from the media session's statistics.
   */
  NetworkQuality = 'networkQuality',
  /** Something failed outside any pending operation (e.g. reconnecting, following a switch). */
  Error = 'error',
}

/** NetworkQuality payload. */
export interface NetworkQualityInfo {
  local: NetworkQuality;
  remote: { userID: string; quality: NetworkQuality }[];
}

/** An invitation ringing here. */
export type Invitation = PushPayloads['invited'];

/** How and why a call ended. */
export interface CallEndInfo {
  callID: string;
  roomID: number | undefined;
  reason: CallEndReason;
  /** The user whose action ended it, when known (the local user for a local hangup). */
  userID?: string;
}

/** An invitee's answer (or silence), with the sponsor of the call as this member knows it. */
type InviteeOutcome<T extends 'rejected' | 'lineBusy' | 'noResponse'> = PushPayloads[T] & {
  sponsor: string;
};

/** Listener signatures of engine events. */
export interface EngineCallbacks {
  [EngineEvent.StateChanged]: (next: CallState, prev: CallState) => void;
  [EngineEvent.Ready]: (info: { userID: string }) => void;
  [EngineEvent.Invited]: (invitation: Invitation) => void;
  [EngineEvent.Rejected]: (info: InviteeOutcome<'rejected'>) => void;
  [EngineEvent.LineBusy]: (info: InviteeOutcome<'lineBusy'>) => void;
  [EngineEvent.NoResponse]: (info: InviteeOutcome<'noResponse'>) => void;
  [EngineEvent.InviteCancelled]: (info: {
    inviteID: string;
    callID: string;
    sponsor: string;
    /** `cancelled`, or `answered_elsewhere` (accepted or declined on another of the user's devices). */
    reason: Exclude<InviteEndReason, 'timeout'>;
  }) => void;
  [EngineEvent.InviteTimedOut]: (info: {
    inviteID: string;
    callID: string;
    sponsor: string;
  }) => void;
  [EngineEvent.UserEnter]: (info: PushPayloads['userEnter']) => void;
  [EngineEvent.UserLeave]: (info: PushPayloads['userLeave']) => void;
  [EngineEvent.RemoteMediaState]: (info: PushPayloads['mediaState']) => void;
  [EngineEvent.CallTypeChanged]: (info: {
    callID: string;
    userID: string;
    callType: CallType;
  }) => void;
  [EngineEvent.InviteeListUpdate]: (info: PushPayloads['inviteeListUpdate']) => void;
  [EngineEvent.CallEnded]: (info: CallEndInfo) => void;
  [EngineEvent.Kicked]: (info: { reason: KickReason }) => void;
  [EngineEvent.RemoteTrack]: (
    userID: string,
    track: MediaStreamTrack,
    receiver?: RTCRtpReceiver,
  ) => void;
  [EngineEvent.LocalTrack]: (kind: MediaKind, track: MediaStreamTrack | null) => void;
  [EngineEvent.NetworkQuality]: (info: NetworkQualityInfo) => void;
  [EngineEvent.Error]: (error: CallError) => void;
}
