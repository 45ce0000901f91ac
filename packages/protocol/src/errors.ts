/**
 * Every error code Ringline's server sends, in one registry. The wire carries
 * `{ code, name, message }`; `code` is stable, `name` is for humans and logs.
 * docs/errors.md lists each of them (a test keeps the two in step).
 */
export const ServerErrorCode = {
  /** The frame was not valid JSON, or not a JSON object. */
  MALFORMED_MESSAGE: 40000,
  /** The message's `type` is not one this server knows. */
  UNKNOWN_TYPE: 40001,
  /** A field is missing, of the wrong type, or out of range. */
  INVALID_FIELD: 40002,
  /** The frame is larger than the server accepts (`MAX_FRAME_BYTES`). */
  FRAME_TOO_LARGE: 40003,
  /** A user ID that does not match `USER_ID_PATTERN`. */
  INVALID_USER_ID: 40004,
  /** The session sent requests faster than its rate limit allows. */
  RATE_LIMITED: 40005,
  /** A history page's `cursor` is not one this server handed out (altered, truncated). */
  INVALID_CURSOR: 40006,

  /** A request other than `login` arrived before login succeeded. */
  NOT_LOGGED_IN: 40100,
  /** The userSig could not be decoded or its HMAC does not match. */
  USERSIG_INVALID: 40101,
  /** The userSig has expired. */
  USERSIG_EXPIRED: 40102,
  /** The userSig was issued for another SDKAppID. */
  USERSIG_WRONG_APP: 40103,
  /** The userSig was issued for another user ID. */
  USERSIG_WRONG_USER: 40104,
  /** `login` was sent on a connection that is already logged in. */
  ALREADY_LOGGED_IN: 40105,
  /** The SDKAppID is not the one this server serves. */
  UNKNOWN_APP: 40106,

  /** The invitation is not addressed to (or sent by) the requesting user. */
  NOT_YOUR_INVITATION: 40300,
  /** The requesting user is not a member of that call, or the target is not. */
  NOT_CALL_MEMBER: 40301,
  /** A user tried to call themselves. */
  CANNOT_CALL_SELF: 40302,
  /** The user is not a member of the group (calling into it, being invited through it, joining its call). */
  NOT_GROUP_MEMBER: 40303,
  /** An admin request without a valid admin userSig (identifier `administrator`). */
  ADMIN_UNAUTHORIZED: 40304,
  /** The user ID is reserved (`administrator`): no signalling login, no dev-mode userSig. */
  RESERVED_USER_ID: 40305,
  /** A dev-mode endpoint was called from another origin than the server's own. */
  CROSS_ORIGIN_REFUSED: 40306,

  /** No invitation with that ID is ringing. */
  INVITATION_NOT_FOUND: 40400,
  /** No call with that ID exists (or the group has no call in progress). */
  CALL_NOT_FOUND: 40401,
  /** No group with that ID exists. */
  GROUP_NOT_FOUND: 40402,
  /** No HTTP route for that method and path. */
  NOT_FOUND: 40403,

  /** The HTTP request (headers or body) did not arrive within the server's request timeout. */
  REQUEST_TIMEOUT: 40800,

  /** The invitation was already answered (a duplicate accept or reject). */
  INVITATION_ALREADY_HANDLED: 40900,
  /** The requesting user is already in a call or ringing, so cannot start another. */
  ALREADY_IN_CALL: 40901,
  /** The operation does not fit the call's current state. */
  INVALID_CALL_STATE: 40902,
  /** A group with that ID already exists. */
  GROUP_EXISTS: 40903,
  /** The call would have more members than a call may hold. */
  CALL_FULL: 40904,
  /** Everyone an `invite {callID}` names is already in that call or being rung in it. */
  ALREADY_INVITED: 40905,
  /** The call has had as many invitations as one call may have (`--max-invitations-per-call`). */
  TOO_MANY_INVITATIONS: 40906,
  /** `--multi-device ring-all`: the user is logged in on as many devices as one user may be. */
  TOO_MANY_DEVICES: 40907,

  /** The feature is not available on this server (for example group calls without an SFU). */
  NOT_SUPPORTED: 50100,
  /** Something failed inside the server; the message says what. */
  INTERNAL: 50000,
  /** The call needs the SFU and none is configured or reachable; the message says how to enable one. */
  SFU_UNAVAILABLE: 50300,
  /**
   * The call's SFU room was lost (Janus restarted or disconnected) and is being re-created; the
   * call goes on. Retryable: an `sfuReset` push says when to publish again.
   */
  SFU_RESTARTING: 50301,
  /** The server's store cannot be written (I/O error, read-only, locked); try again later. */
  STORE_UNAVAILABLE: 50302,
  /**
   * The shared state of a cluster (Redis) cannot be reached or did not answer in time; nothing
   * was changed. Retryable: nodes reconnect by themselves.
   */
  CLUSTER_UNAVAILABLE: 50303,
  /**
   * The server node is draining (shutting down): it takes no new login or resume. Retryable on
   * another node, or on this one after its restart; the session is kept.
   */
  SERVER_DRAINING: 50304,
  /**
   * The call's SFU room is driven by another server node, and that node did not answer the
   * request routed to it in time. Retryable.
   */
  SFU_NODE_UNREACHABLE: 50305,
  /** The disk holding the server's store is full; nothing was changed. */
  STORAGE_FULL: 50700,
} as const;

export type ServerErrorName = keyof typeof ServerErrorCode;
export type ServerErrorCodeValue = (typeof ServerErrorCode)[ServerErrorName];

/**
 * The error codes of the TRTCCalling web component (seed document), raised by the SDK itself
 * through the `ERROR` event and rejected promises, plus Ringline's connection codes (601xx).
 */
export const SdkErrorCode = {
  /** `switchToAudioCall` failed. */
  SWITCH_TO_AUDIO_FAILED: 60001,
  /** `switchToVideoCall` failed. */
  SWITCH_TO_VIDEO_FAILED: 60002,
  /** No microphone is available. */
  NO_MICROPHONE: 60003,
  /** No camera is available. */
  NO_CAMERA: 60004,
  /** The user denied access to the camera or microphone. */
  PERMISSION_DENIED: 60005,
  /** The browser does not support WebRTC. */
  WEBRTC_UNSUPPORTED: 60006,

  // Ringline additions (not in the seed): failures of the SDK's own connection to the server.
  /** The server did not answer a request in time. */
  SIGNAL_TIMEOUT: 60100,
  /** The connection to the server is not open, or closed before the request was answered. */
  SIGNAL_DISCONNECTED: 60101,
  /** Background blur could not start: its model or wasm did not load, or the browser lacks WebGL/WASM. */
  BLUR_UNAVAILABLE: 60110,
  /**
   * The media connection with a member never connected, or was lost and ICE restarts did not bring
   * it back (no route between the peers: e.g. symmetric NATs without TURN). The call ends.
   */
  MEDIA_CONNECT_FAILED: 60120,
} as const;

export type SdkErrorName = keyof typeof SdkErrorCode;

/** The error object on the wire. */
export interface WireError {
  code: number;
  name: string;
  message: string;
}

const namesByCode = new Map<number, string>(
  Object.entries(ServerErrorCode).map(([name, code]) => [code, name]),
);

/** The registry name of a server error code, or `undefined` for an unknown code. */
export function serverErrorName(code: number): string | undefined {
  return namesByCode.get(code);
}
