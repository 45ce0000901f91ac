/**
 * The call UI kit's vocabulary, with the values of TUICallKit (web) so apps written for it keep
 * working: `STATUS` for `statusChanged`, `CallMediaType`, `CallRole`, `CallStatus`.
 */

/** The kit's call status, reported by `statusChanged({oldStatus, newStatus})`. */
export const STATUS = {
  IDLE: 'idle',
  BE_INVITED: 'be-invited',
  DIALING_C2C: 'dialing-c2c',
  DIALING_GROUP: 'dialing-group',
  CALLING_C2C_AUDIO: 'calling-c2c-audio',
  CALLING_C2C_VIDEO: 'calling-c2c-video',
  CALLING_GROUP_AUDIO: 'calling-group-audio',
  CALLING_GROUP_VIDEO: 'calling-group-video',
} as const;
export type Status = (typeof STATUS)[keyof typeof STATUS];

/** A call's media; `UNKNOWN` (0) is what TUICallKit's store holds while idle. */
export const CallMediaType = { UNKNOWN: 0, AUDIO: 1, VIDEO: 2 } as const;
export type CallMediaType = (typeof CallMediaType)[keyof typeof CallMediaType];

/** TUICallKit's `TUICallType`: the call type numbers of its 3.x examples. */
export const TUICallType = { AUDIO_CALL: 1, VIDEO_CALL: 2 } as const;

/** `setVideoResolution` / the `videoResolution` prop. */
export const VideoResolution = {
  RESOLUTION_480P: '480p',
  RESOLUTION_720P: '720p',
  RESOLUTION_1080P: '1080p',
} as const;
export type VideoResolution = (typeof VideoResolution)[keyof typeof VideoResolution];

/** `setVideoDisplayMode` / the `videoDisplayMode` prop (CSS object-fit). */
export const VideoDisplayMode = { CONTAIN: 'contain', COVER: 'cover', FILL: 'fill' } as const;
export type VideoDisplayMode = (typeof VideoDisplayMode)[keyof typeof VideoDisplayMode];

/** `setLayoutMode`: whose video is large in a 1:1 video call. */
export const LayoutMode = { LocalInLargeView: 'local', RemoteInLargeView: 'remote' } as const;
export type LayoutMode = (typeof LayoutMode)[keyof typeof LayoutMode];

/** `setSoundMode`: earpiece or loudspeaker (phones). */
export const AudioPlayBackDevice = { EAR: 'ear', SPEAKER: 'speaker' } as const;
export type AudioPlayBackDevice = (typeof AudioPlayBackDevice)[keyof typeof AudioPlayBackDevice];

/** `setLogLevel`, as TUICallKit's LOG_LEVEL: 0 all … 4 none. */
export const LOG_LEVEL = { NORMAL: 0, RELEASE: 1, WARNING: 2, ERROR: 3, NONE: 4 } as const;
export type LOG_LEVEL = (typeof LOG_LEVEL)[keyof typeof LOG_LEVEL];

/** TUICallKit's store names (its `TUIStore` is not provided; see docs/migration.md). */
export const StoreName = { CALL: 'call', CUSTOM: 'custom' } as const;

export const CallRole = { UNKNOWN: 'unknown', CALLER: 'caller', CALLEE: 'callee' } as const;
export type CallRole = (typeof CallRole)[keyof typeof CallRole];

export const CallStatus = { IDLE: 'idle', CALLING: 'calling', CONNECTED: 'connected' } as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

export type Language = 'en' | 'zh-cn' | 'ja_JP';

/** Buttons `hideFeatureButton` can hide. */
export const FeatureButton = {
  Camera: 'camera',
  Microphone: 'microphone',
  SwitchCamera: 'switchCamera',
  InviteUser: 'inviteUser',
} as const;
export type FeatureButton = (typeof FeatureButton)[keyof typeof FeatureButton];

/** A person on screen: the local user or a remote one. */
export interface Participant {
  userID: string;
  nickName?: string;
  avatar?: string;
  /** Mic on. */
  audio: boolean;
  /** Camera on. */
  video: boolean;
  /** Speaking level 0..1 from audio levels (for the speaking indicator). */
  volume: number;
  /** Still ringing (invited, not joined yet). */
  ringing: boolean;
  /**
   * Network quality on TRTC's scale: 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad,
   * 6 down (the SDK's NETWORK_QUALITY; for the local user, what it sends).
   */
  networkQuality: number;
}

/** A short message the UI shows and removes by itself. */
export interface Toast {
  id: number;
  /** `answered-elsewhere`: the user answered the call on another of their devices (ring-all). */
  kind: 'rejected' | 'busy' | 'no-answer' | 'cancelled' | 'answered-elsewhere' | 'kicked' | 'error';
  userID?: string;
  /** Error code for kind 'error'. */
  code?: number;
}

/** How one member's part in a call ended (the server's call history). */
export type CallOutcome =
  | 'answered'
  | 'rejected'
  | 'busy'
  | 'no_answer'
  | 'cancelled'
  | 'offline'
  | 'answered_elsewhere'
  | 'left'
  | 'disconnected';

/** A call in the recent-calls list, from the logged-in user's side. */
export interface RecentCall {
  callID: string;
  /** With whom: the other user of a 1:1 call; a group call's group (or its caller). */
  peer: string;
  groupID?: string;
  /** Everyone else in the call (a group call back rings them). */
  others: string[];
  isGroup: boolean;
  mediaType: typeof CallMediaType.AUDIO | typeof CallMediaType.VIDEO;
  /** `outgoing` when this user started the call. */
  direction: 'incoming' | 'outgoing';
  /** Unix ms. */
  startedAt: number;
  /** From connect to end; 0 when it never connected. */
  durationMs: number;
  /** This user's outcome; absent while the call goes on. */
  outcome?: CallOutcome;
  /** Rung and never answered. */
  missed: boolean;
  /** A missed call marked seen (true for every other call). */
  seen: boolean;
}

/** The recent-calls list (`refreshRecentCalls`), newest first. */
export interface RecentCalls {
  calls: RecentCall[];
  /** Missed calls not marked seen. */
  unread: number;
  loading: boolean;
  /** Where the next page starts, when there is one. */
  next?: string;
  /** Error code of the last load that failed (cleared by the next that works). */
  error?: number;
}

/** Everything the kit's views render; produced only by the core, never changed by a view. */
export interface CallKitState {
  status: Status;
  role: CallRole;
  callStatus: CallStatus;
  mediaType: CallMediaType;
  isGroup: boolean;
  self: Participant;
  /** Remote people in the call or ringing, in join/invite order. */
  remotes: Participant[];
  /** Who calls us (BE_INVITED) or whom we call (1:1 dialing). */
  peerUserID?: string;
  /** Epoch ms when the call connected (for the timer). */
  connectedAt?: number;
  minimized: boolean;
  fullScreen: boolean;
  /** Remote sound silenced on this page (muteSpeaker); back to false when a call ends. */
  speakerMuted: boolean;
  /** Which view is large in a 1:1 video call. */
  layout: 'local' | 'remote';
  language: Language;
  toasts: Toast[];
  /** The recent-calls list; empty until `refreshRecentCalls` loads it. */
  recents: RecentCalls;
  /** Options set through the API. */
  options: {
    floatWindow: boolean;
    muteMode: boolean;
    callingBell?: string;
    hiddenButtons: FeatureButton[];
    localBackground?: string;
    remoteBackgrounds: Record<string, string>;
    cameraDefaultOn: boolean;
    allowedMinimized: boolean;
    allowedFullScreen: boolean;
    videoDisplayMode: 'contain' | 'cover' | 'fill';
    videoResolution: '480p' | '720p' | '1080p';
  };
}
