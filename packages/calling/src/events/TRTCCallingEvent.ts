import type { CallType } from '@ringline/protocol';
import type { NetworkQuality } from '../media/networkQuality.js';

/**
 * The events of `TRTCCalling`, with exactly the names and values of trtc-calling-js 1.0.6
 * (`TRTCCalling.EVENT`, which also has `CALLING_END`, the alias of CALL_END), plus Ringline
 * extensions marked as such.
 */
export enum TRTCCallingEvent {
  /** Invitee: an invitation was received. */
  INVITED = 'onInvited',
  /** Inviter: an invitee accepted (before USER_ENTER). */
  USER_ACCEPT = 'onUserAccept',
  /** Inviter: the invitee rejected the call. */
  REJECT = 'onReject',
  /** Inviter: the invitee did not answer in time. */
  NO_RESP = 'onNoResp',
  /** Inviter: the invitee is in another call. */
  LINE_BUSY = 'onLineBusy',
  /** Invitee: the inviter cancelled the call. */
  CALLING_CANCEL = 'onCallingCancel',
  /** Invitee: the invitation timed out unanswered. */
  CALLING_TIMEOUT = 'onCallingTimeout',
  /** A user joined the call. */
  USER_ENTER = 'onUserEnter',
  /** A user left the call. */
  USER_LEAVE = 'onUserLeave',
  /** The call ended. */
  CALL_END = 'onCallEnd',
  /** The same user logged in elsewhere; this instance is logged out. */
  KICKED_OUT = 'onKickedOut',
  /** A remote user turned the camera on or off. */
  USER_VIDEO_AVAILABLE = 'onUserVideoAvailable',
  /** A remote user turned the mic on or off. */
  USER_AUDIO_AVAILABLE = 'onUserAudioAvailable',
  /** Something failed: `{code, message}`. */
  ERROR = 'onError',
  /** Login finished; the SDK is ready (1.0.6's value is `sdkReady`, without `on`). */
  SDK_READY = 'sdkReady',
  /**
   * About every second in a call: the volume (0–100) of the local user and of each remote user,
   * as TRTC's `audio-volume` event: `{volumeMap: [{userId, audioVolume}]}`.
   */
  USER_VOICE_VOLUME = 'onUserVoiceVolume',
  /** The invitees still ringing in a group call changed. */
  GROUP_CALL_INVITEE_LIST_UPDATE = 'onGroupCallInviteeListUpdate',
  /** Ringline extension: the other user switched the call between audio (1) and video (2). */
  CALL_TYPE_CHANGED = 'onCallTypeChanged',
  /**
   * Ringline extension, TRTC's `onNetworkQuality`: every ~2 s during a call, the quality (0 unknown,
   * 1 excellent … 5 very bad, 6 down) of what the local user sends and of each remote user's media.
   */
  NETWORK_QUALITY = 'onNetworkQuality',
}

/** INVITED payload. */
export interface InvitedEvent {
  /** Who calls. */
  sponsor: string;
  /** Everybody invited to the same call. */
  userIDList: string[];
  /** Whether the invitation came through a group. */
  isFromGroup: boolean;
  /** The group it came through, when it did (as TUICallKit gives it). */
  groupID?: string;
  /** As 1.0.6: `callEnd` is always 0 in an invitation. */
  inviteData: { version: number; callType: CallType; callEnd: number; roomID: number };
  inviteID: string;
}

/** One user's volume in USER_VOICE_VOLUME (TRTC spells it `userId`). */
export interface VoiceVolume {
  userId: string;
  /** 0 (silence) to 100. */
  audioVolume: number;
}

/** USER_VOICE_VOLUME payload. */
export interface UserVoiceVolumeEvent {
  volumeMap: VoiceVolume[];
}

/** Payload naming one user (REJECT: by every member of the call, for the invitee who rejected). */
export interface UserEvent {
  userID: string;
}

/** NO_RESP payload. */
export interface NoRespEvent {
  /** The local user, who called (trtc-calling-js sends it too). */
  sponsor: string;
  userID: string;
  /** Every invitee who timed out together. */
  userIDList: string[];
}

/** LINE_BUSY payload. */
export interface LineBusyEvent {
  /** The local user, who called (trtc-calling-js sends it too). */
  sponsor: string;
  /** The busy invitee. */
  userID: string;
}

/** CALLING_CANCEL / CALLING_TIMEOUT payload. */
export interface InvitationEndedEvent {
  inviteID: string;
  /** Who called. */
  sponsor: string;
  /** CALLING_CANCEL: who cancelled (the sponsor). */
  userID?: string;
  /** CALLING_TIMEOUT: the invitees who timed out (here, the local user). */
  userIDList?: string[];
  /**
   * CALLING_CANCEL: why it stopped ringing: `cancelled` (the caller hung up) or, with the server's
   * `--multi-device ring-all`, `answered_elsewhere` (the user accepted or declined it on another
   * of their devices).
   */
  reason?: string;
}

/** CALL_END payload. */
export interface CallEndEvent {
  callID: string;
  roomID?: number | undefined;
  /**
   * `hangup`, `disconnected`, `no_answer`, `cancelled`, `sfu_lost` (the SFU did not come back), or
   * `server_shutdown` (the server node whose own SFU carried the call stopped).
   */
  reason: string;
  /** Who hung up, when known. */
  userID?: string;
  /** How long the call was connected, in seconds (0 when it never connected), as trtc-calling-js. */
  callEnd: number;
}

/** KICKED_OUT payload. */
export interface KickedOutEvent {
  reason: string;
}

/** USER_VIDEO_AVAILABLE payload. */
export interface UserVideoAvailableEvent {
  userID: string;
  isVideoAvailable: boolean;
}

/** USER_AUDIO_AVAILABLE payload. */
export interface UserAudioAvailableEvent {
  userID: string;
  isAudioAvailable: boolean;
}

/** ERROR payload. */
export interface ErrorEvent {
  code: number;
  message: string;
  /** The same text under the name trtc-calling-js uses. */
  msg: string;
}

/** SDK_READY payload. */
export interface SdkReadyEvent {
  userID: string;
}

/** GROUP_CALL_INVITEE_LIST_UPDATE payload. */
export interface InviteeListUpdateEvent {
  userIDList: string[];
}

/** CALL_TYPE_CHANGED payload (Ringline extension). */
export interface CallTypeChangedEvent {
  userID: string;
  callType: CallType;
}

/** One user's network quality, as TRTC's `TRTCQualityInfo`. */
export interface QualityInfo {
  userID: string;
  /** 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down (TRTC's scale). */
  quality: NetworkQuality;
}

/**
 * NETWORK_QUALITY payload (Ringline extension, modelled on TRTC's `onNetworkQuality`).
 * `localQuality`: what the local user sends, as the receiving end reports it (loss, RTT, jitter).
 * `remoteQuality`: each remote user's media as it arrives here (loss, jitter, and the RTT of the
 * link it comes over) — measured at this end, not reported by the remote user.
 */
export interface NetworkQualityEvent {
  localQuality: QualityInfo;
  remoteQuality: QualityInfo[];
}

/** Listener signature of each TRTCCalling event. */
export interface TRTCCallingCallbacks {
  [TRTCCallingEvent.INVITED]: (event: InvitedEvent) => void;
  [TRTCCallingEvent.USER_ACCEPT]: (event: UserEvent) => void;
  [TRTCCallingEvent.USER_VOICE_VOLUME]: (event: UserVoiceVolumeEvent) => void;
  [TRTCCallingEvent.REJECT]: (event: UserEvent) => void;
  [TRTCCallingEvent.NO_RESP]: (event: NoRespEvent) => void;
  [TRTCCallingEvent.LINE_BUSY]: (event: LineBusyEvent) => void;
  [TRTCCallingEvent.CALLING_CANCEL]: (event: InvitationEndedEvent) => void;
  [TRTCCallingEvent.CALLING_TIMEOUT]: (event: InvitationEndedEvent) => void;
  [TRTCCallingEvent.USER_ENTER]: (event: UserEvent) => void;
  [TRTCCallingEvent.USER_LEAVE]: (event: UserEvent) => void;
  [TRTCCallingEvent.CALL_END]: (event: CallEndEvent) => void;
  [TRTCCallingEvent.KICKED_OUT]: (event: KickedOutEvent) => void;
  [TRTCCallingEvent.USER_VIDEO_AVAILABLE]: (event: UserVideoAvailableEvent) => void;
  [TRTCCallingEvent.USER_AUDIO_AVAILABLE]: (event: UserAudioAvailableEvent) => void;
  [TRTCCallingEvent.ERROR]: (event: ErrorEvent) => void;
  [TRTCCallingEvent.SDK_READY]: (event: SdkReadyEvent) => void;
  [TRTCCallingEvent.GROUP_CALL_INVITEE_LIST_UPDATE]: (event: InviteeListUpdateEvent) => void;
  [TRTCCallingEvent.CALL_TYPE_CHANGED]: (event: CallTypeChangedEvent) => void;
  [TRTCCallingEvent.NETWORK_QUALITY]: (event: NetworkQualityEvent) => void;
}
