import { ServerErrorCode } from '@ringline/protocol';

/** An error of the kit's own API, with a code from the same registry as the SDK's errors. */
export class CallKitError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'CallKitError';
    this.code = code;
  }

  /** 40002: a parameter of the kit's API is missing or of the wrong kind. */
  static invalidArgument(name: string, expected: string): CallKitError {
    return new CallKitError(ServerErrorCode.INVALID_FIELD, `${name} must be ${expected}`);
  }

  /** 40004: a user ID that the server would refuse (letters, digits, `_` and `-`, 1 to 32). */
  static invalidUserID(userID: unknown): CallKitError {
    return new CallKitError(
      ServerErrorCode.INVALID_USER_ID,
      `${JSON.stringify(userID)} is not a valid user ID (1-32 of A-Z a-z 0-9 _ -)`,
    );
  }

  /** 40302: the logged-in user is among the users to call. */
  static cannotCallSelf(): CallKitError {
    return new CallKitError(ServerErrorCode.CANNOT_CALL_SELF, 'you cannot call yourself');
  }

  /** 40100: an API that needs `init` was called before it (or after `destroyed`). */
  static notInitialized(method: string): CallKitError {
    return new CallKitError(
      ServerErrorCode.NOT_LOGGED_IN,
      `${method} needs TUICallKitServer.init({userID, userSig, SDKAppID}) first`,
    );
  }
}
