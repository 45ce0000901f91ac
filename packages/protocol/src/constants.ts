/** Version of the signalling protocol; sent by the client in `login`. */
export const PROTOCOL_VERSION = 1;

/** Path of the signalling WebSocket on the server. */
export const SIGNAL_PATH = '/ws';

/** The largest frame the server accepts; larger frames are answered with FRAME_TOO_LARGE. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** User IDs: letters, digits, hyphens and underscores (seed document), at most 32 characters. */
export const USER_ID_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

/** The most invitees one invitation may name. */
export const MAX_INVITEES = 16;

/** Invitation timeout when neither the caller nor the server config says otherwise (seconds). */
export const DEFAULT_INVITE_TIMEOUT_S = 30;

/**
 * The largest invitation timeout the protocol carries (seconds); 0 asks for "as long as the server
 * allows". The server rings for at most its `--max-ring-time`, whatever was asked.
 */
export const MAX_INVITE_TIMEOUT_S = 3600;

/**
 * How long an invitation rings at most unless the server is configured otherwise (seconds). A
 * longer `timeout`, or 0, is clamped to it, so that nobody can keep another user busy for good.
 * 60 s is twice the default ring time and about as long as a phone network rings before it gives
 * up; it still leaves an offline invitee time to be woken by an offline push and log in.
 */
export const DEFAULT_MAX_RING_TIME_S = 60;

/** Call types, as the seed document numbers them. */
export const CallType = {
  AUDIO: 1,
  VIDEO: 2,
} as const;
export type CallType = (typeof CallType)[keyof typeof CallType];

/** Why a call ended, carried by `callEnded`. */
export const CallEndReason = {
  /** The last other member hung up. */
  HANGUP: 'hangup',
  /** A member's session went away for good (logout, kick, lost connection past the resume window). */
  DISCONNECTED: 'disconnected',
  /** Every invitee rejected, was busy or did not answer, so nobody joined the caller. */
  NO_ANSWER: 'no_answer',
  /** The caller cancelled before anybody answered. */
  CANCELLED: 'cancelled',
  /** The SFU (Janus) carrying the call's media did not come back within the heal timeout. */
  SFU_LOST: 'sfu_lost',
  /**
   * The server node whose own SFU (Janus) carried the call's media stopped, and the call had not
   * ended by the end of its drain (`--drain-timeout`).
   */
  SERVER_SHUTDOWN: 'server_shutdown',
} as const;
export type CallEndReason = (typeof CallEndReason)[keyof typeof CallEndReason];

/** Why an invitation stopped ringing for an invitee, carried by `inviteEnded`. */
export const InviteEndReason = {
  /** The caller hung up before the invitee answered. */
  CANCELLED: 'cancelled',
  /** Nobody answered within the invitation's timeout. */
  TIMEOUT: 'timeout',
  /**
   * `--multi-device ring-all`: the invitee answered (accepted or declined) on another of their
   * devices, so it stops ringing on this one.
   */
  ANSWERED_ELSEWHERE: 'answered_elsewhere',
} as const;
export type InviteEndReason = (typeof InviteEndReason)[keyof typeof InviteEndReason];

/** Why the server closed a session, carried by `kicked`. */
export const KickReason = {
  /** The same user logged in on another connection. */
  DUPLICATE_LOGIN: 'duplicate_login',
} as const;
export type KickReason = (typeof KickReason)[keyof typeof KickReason];

/** How a call's media flows. */
export const MediaMode = {
  /** Directly between the two members (one-to-one calls). */
  P2P: 'p2p',
  /** Through the SFU (Janus VideoRoom): each member publishes once and subscribes to the others. */
  SFU: 'sfu',
} as const;
export type MediaMode = (typeof MediaMode)[keyof typeof MediaMode];

/** The most members one call may hold (TUICallKit stops at 9). */
export const MAX_CALL_MEMBERS = 16;

/** Where the server serves background blur's model and wasm (the SDK's dist/blur/). */
export const BLUR_ASSET_PATH = '/sdk/blur/';

/**
 * The files of background blur (npm @mediapipe/selfie_segmentation): the SDK's build copies these,
 * the server serves only these, the SDK loads the first.
 */
export const BLUR_ASSET_FILES = [
  'selfie_segmentation.js',
  'selfie_segmentation.binarypb',
  'selfie_segmentation.tflite',
  'selfie_segmentation_landscape.tflite',
  'selfie_segmentation_solution_simd_wasm_bin.js',
  'selfie_segmentation_solution_simd_wasm_bin.wasm',
  'selfie_segmentation_solution_simd_wasm_bin.data',
  'selfie_segmentation_solution_wasm_bin.js',
  'selfie_segmentation_solution_wasm_bin.wasm',
] as const;
