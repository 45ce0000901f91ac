import { SdkErrorCode, ServerErrorCode, serverErrorName, type WireError } from '@ringline/protocol';

/** Which capture device a media error is about. */
export type MediaKind = 'audio' | 'video';

const sdkNamesByCode = new Map<number, string>(
  Object.entries(SdkErrorCode).map(([name, code]) => [code, name]),
);

/**
 * Every error the SDK reports, through the `ERROR` event (`{code, message}`) and rejected promises.
 * `code` is a seed code (600xx), a Ringline connection code (601xx) or a server code carried through
 * unchanged (`ServerErrorCode`); `name` is the registry name of that code.
 */
export class CallError extends Error {
  /** Stable numeric code from `SdkErrorCode` or `ServerErrorCode`. */
  readonly code: number;
  /** Registry name of `code`, e.g. `NO_CAMERA` or `INVITATION_NOT_FOUND`. */
  readonly codeName: string;

  constructor(code: number, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CallError';
    this.code = code;
    this.codeName = sdkNamesByCode.get(code) ?? serverErrorName(code) ?? 'UNKNOWN';
  }

  /** The `{code, message}` payload of the `ERROR` event. */
  toJSON(): { code: number; message: string } {
    return { code: this.code, message: this.message };
  }

  /** An error the server answered with, code and message carried through. */
  static fromWire(error: WireError): CallError {
    return new CallError(error.code, error.message);
  }

  /** Wraps anything thrown into a CallError, keeping CallErrors as they are. */
  static from(error: unknown, fallbackCode: number = ServerErrorCode.INTERNAL): CallError {
    if (error instanceof CallError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CallError(fallbackCode, message, error);
  }

  /** 60001: `switchToAudioCall` failed. */
  static switchToAudioFailed(reason: string, cause?: unknown): CallError {
    return new CallError(
      SdkErrorCode.SWITCH_TO_AUDIO_FAILED,
      `switchToAudioCall failed: ${reason}`,
      cause,
    );
  }

  /** 60002: `switchToVideoCall` failed. */
  static switchToVideoFailed(reason: string, cause?: unknown): CallError {
    return new CallError(
      SdkErrorCode.SWITCH_TO_VIDEO_FAILED,
      `switchToVideoCall failed: ${reason}`,
      cause,
    );
  }

  /** 60003: no usable microphone. */
  static noMicrophone(detail: string, cause?: unknown): CallError {
    return new CallError(SdkErrorCode.NO_MICROPHONE, `no available microphone: ${detail}`, cause);
  }

  /** 60004: no usable camera. */
  static noCamera(detail: string, cause?: unknown): CallError {
    return new CallError(SdkErrorCode.NO_CAMERA, `no available camera: ${detail}`, cause);
  }

  /** 60005: the user (or the browser's policy) denied access to the camera or microphone. */
  static permissionDenied(detail: string, cause?: unknown): CallError {
    return new CallError(
      SdkErrorCode.PERMISSION_DENIED,
      `access to the camera or microphone was denied: ${detail}`,
      cause,
    );
  }

  /** 60006: this environment lacks a WebRTC API the SDK needs. */
  static webrtcUnsupported(missing: string): CallError {
    return new CallError(
      SdkErrorCode.WEBRTC_UNSUPPORTED,
      `this environment does not support WebRTC: ${missing} is not available`,
    );
  }

  /** 60100: the server did not answer within the time allowed. */
  static timeout(what: string, ms: number): CallError {
    return new CallError(SdkErrorCode.SIGNAL_TIMEOUT, `${what} timed out after ${ms} ms`);
  }

  /** 60101: the connection to the server is not open or closed before an answer came. */
  static disconnected(detail: string, cause?: unknown): CallError {
    return new CallError(
      SdkErrorCode.SIGNAL_DISCONNECTED,
      `not connected to the server: ${detail}`,
      cause,
    );
  }

  /** 60110: background blur could not start (model or wasm not loaded, no WebGL/WASM). */
  static blurUnavailable(detail: string, cause?: unknown): CallError {
    return new CallError(
      SdkErrorCode.BLUR_UNAVAILABLE,
      `background blur is unavailable: ${detail}`,
      cause,
    );
  }

  /**
   * 60120: a media connection never connected, or was lost and ICE restarts did not bring it back
   * (no route between the peers, e.g. symmetric NATs and no TURN). The call ends.
   */
  static mediaConnectFailed(detail: string): CallError {
    return new CallError(
      SdkErrorCode.MEDIA_CONNECT_FAILED,
      `the media connection failed: ${detail}`,
    );
  }

  /** 40100: the operation needs a logged-in session. */
  static notLoggedIn(operation: string): CallError {
    return new CallError(ServerErrorCode.NOT_LOGGED_IN, `${operation} needs login() first`);
  }

  /** 40105: login() while another user is logged in on this instance. */
  static alreadyLoggedIn(userID: string): CallError {
    return new CallError(
      ServerErrorCode.ALREADY_LOGGED_IN,
      `already logged in as ${userID}; call logout() first`,
    );
  }

  /** 40002: an argument is missing or has the wrong type or value. */
  static invalidArgument(field: string, expected: string): CallError {
    return new CallError(ServerErrorCode.INVALID_FIELD, `invalid ${field}: expected ${expected}`);
  }

  /** 40004: a user ID that does not match the allowed pattern. */
  static invalidUserID(userID: unknown): CallError {
    return new CallError(
      ServerErrorCode.INVALID_USER_ID,
      `invalid userID ${JSON.stringify(userID)}: use 1-32 letters, digits, '-' or '_'`,
    );
  }

  /** 40902: the operation does not fit the current call state. */
  static invalidState(operation: string, state: string): CallError {
    return new CallError(
      ServerErrorCode.INVALID_CALL_STATE,
      `${operation} is not possible while the call state is ${state}`,
    );
  }

  /** 40902: the call an operation belonged to ended before the operation completed. */
  static callEnded(detail: string): CallError {
    return new CallError(ServerErrorCode.INVALID_CALL_STATE, `the call ended: ${detail}`);
  }

  /** 40302: a user tried to call themselves. */
  static cannotCallSelf(): CallError {
    return new CallError(ServerErrorCode.CANNOT_CALL_SELF, 'you cannot call yourself');
  }

  /** 40400: the invitation this operation is about has ended (or never existed here). */
  static invitationEnded(detail: string): CallError {
    return new CallError(ServerErrorCode.INVITATION_NOT_FOUND, `invitation ended: ${detail}`);
  }

  /** 50100: the feature is not available. */
  static notSupported(message: string): CallError {
    return new CallError(ServerErrorCode.NOT_SUPPORTED, message);
  }

  /**
   * Maps a getUserMedia failure for `kind` to the seed's codes: denied → 60005, anything that
   * means the device cannot be used (missing, busy, constraints unmet) → 60003 / 60004.
   */
  static fromMediaError(error: unknown, kind: MediaKind): CallError {
    if (error instanceof CallError) return error;
    const name = (error as { name?: unknown } | null)?.name;
    const message = (error as { message?: unknown } | null)?.message;
    const detail = `${typeof name === 'string' ? name : 'Error'}${
      typeof message === 'string' && message ? `: ${message}` : ''
    }`;
    if (
      name === 'NotAllowedError' ||
      name === 'SecurityError' ||
      name === 'PermissionDeniedError'
    ) {
      return CallError.permissionDenied(detail, error);
    }
    return kind === 'audio'
      ? CallError.noMicrophone(detail, error)
      : CallError.noCamera(detail, error);
  }
}
