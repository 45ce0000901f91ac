/**
 * The server's coded errors. Every code comes from `ServerErrorCode` in @ringline/protocol (the one
 * registry; docs/errors.md lists each); the factories below are the only places that pick a code
 * and phrase its message, so the same failure always reads the same way.
 */
import { ServerErrorCode, type ServerErrorName, type WireError } from '@ringline/protocol';

export class ServerError extends Error {
  /** Numeric code from `ServerErrorCode`. */
  readonly code: number;
  /** Registry name of the code, e.g. `NOT_CALL_MEMBER`. */
  override readonly name: ServerErrorName;

  constructor(name: ServerErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.code = ServerErrorCode[name];
  }

  /** The error as it travels on the wire. */
  toWire(): WireError {
    return { code: this.code, name: this.name, message: this.message };
  }

  /** Any thrown value as a wire error; unexpected exceptions become INTERNAL. */
  static wire(err: unknown): WireError {
    if (err instanceof ServerError) return err.toWire();
    return ServerError.internal(err).toWire();
  }

  static malformed(detail: string): ServerError {
    return new ServerError('MALFORMED_MESSAGE', detail);
  }
  static unknownType(type: unknown): ServerError {
    return new ServerError(
      'UNKNOWN_TYPE',
      typeof type === 'string'
        ? `unknown message type "${type.slice(0, 64)}"`
        : 'the message has no string "type"',
    );
  }
  static invalidField(path: string, detail: string): ServerError {
    // Paths can carry client-chosen keys (an unknown property's name): shown shortened.
    return new ServerError('INVALID_FIELD', `${clip(path) || '/'}: ${clip(detail, 200)}`);
  }
  static frameTooLarge(size: number, limit: number): ServerError {
    return new ServerError('FRAME_TOO_LARGE', `frame of ${size} bytes exceeds ${limit} bytes`);
  }
  static invalidUserID(path: string, value: unknown): ServerError {
    // Never String(value): a hostile value's toString may throw, recurse or be huge.
    return new ServerError(
      'INVALID_USER_ID',
      `${clip(path)}: ${describeValue(value)} is not a valid user ID (1-32 letters, digits, "-" or "_")`,
    );
  }
  static invalidCursor(): ServerError {
    return new ServerError('INVALID_CURSOR', 'cursor is not one this server handed out');
  }
  static rateLimited(): ServerError {
    return new ServerError('RATE_LIMITED', 'too many requests; slow down');
  }
  static notLoggedIn(type: string): ServerError {
    return new ServerError('NOT_LOGGED_IN', `"${type}" needs a login first`);
  }
  static userSigInvalid(detail: string): ServerError {
    return new ServerError('USERSIG_INVALID', `userSig is invalid: ${detail}`);
  }
  static userSigExpired(expiredAt: number): ServerError {
    return new ServerError(
      'USERSIG_EXPIRED',
      `userSig expired at ${new Date(expiredAt * 1000).toISOString()}`,
    );
  }
  static userSigWrongApp(got: number, want: number): ServerError {
    return new ServerError('USERSIG_WRONG_APP', `userSig is for SDKAppID ${got}, not ${want}`);
  }
  static userSigWrongUser(got: string, want: string): ServerError {
    return new ServerError(
      'USERSIG_WRONG_USER',
      `userSig is for user ${JSON.stringify(got.slice(0, 64))}, not ${JSON.stringify(want)}`,
    );
  }
  static alreadyLoggedIn(): ServerError {
    return new ServerError('ALREADY_LOGGED_IN', 'this connection is already logged in');
  }
  static unknownApp(got: number): ServerError {
    return new ServerError('UNKNOWN_APP', `this server does not serve SDKAppID ${got}`);
  }
  static notYourInvitation(inviteID: string): ServerError {
    return new ServerError('NOT_YOUR_INVITATION', `invitation ${inviteID} is not yours`);
  }
  static notCallMember(callID: string, userID?: string): ServerError {
    return new ServerError(
      'NOT_CALL_MEMBER',
      userID === undefined
        ? `you are not a member of call ${callID}`
        : `${userID} is not a member of call ${callID}`,
    );
  }
  static cannotCallSelf(): ServerError {
    return new ServerError('CANNOT_CALL_SELF', 'you cannot invite yourself');
  }
  static invitationNotFound(inviteID: string): ServerError {
    return new ServerError('INVITATION_NOT_FOUND', `no invitation ${inviteID} is ringing for you`);
  }
  static callNotFound(callID: string): ServerError {
    return new ServerError('CALL_NOT_FOUND', `no call ${callID}`);
  }
  static alreadyHandled(inviteID: string): ServerError {
    return new ServerError(
      'INVITATION_ALREADY_HANDLED',
      `invitation ${inviteID} was already answered`,
    );
  }
  static alreadyInCall(): ServerError {
    return new ServerError('ALREADY_IN_CALL', 'you are already in a call or being invited');
  }
  static invalidCallState(detail: string): ServerError {
    return new ServerError('INVALID_CALL_STATE', detail);
  }
  static notSupported(detail: string): ServerError {
    return new ServerError('NOT_SUPPORTED', detail);
  }
  static notGroupMember(groupID: string, userID?: string): ServerError {
    return new ServerError(
      'NOT_GROUP_MEMBER',
      userID === undefined
        ? `you are not a member of group ${groupID}`
        : `${userID} is not a member of group ${groupID}`,
    );
  }
  static groupHasNoCall(groupID: string): ServerError {
    return new ServerError('CALL_NOT_FOUND', `group ${groupID} has no call in progress`);
  }
  static callFull(max: number): ServerError {
    return new ServerError('CALL_FULL', `a call holds at most ${max} members`);
  }
  static alreadyInvited(callID: string): ServerError {
    return new ServerError(
      'ALREADY_INVITED',
      `everyone named is already in call ${callID} or being rung in it`,
    );
  }
  static tooManyInvitations(callID: string, max: number): ServerError {
    return new ServerError(
      'TOO_MANY_INVITATIONS',
      `call ${callID} has had ${max} invitations, as many as one call may have`,
    );
  }
  static tooManyDevices(max: number): ServerError {
    return new ServerError(
      'TOO_MANY_DEVICES',
      `already logged in on ${max} devices, as many as one user may be (--max-devices); log out on one first`,
    );
  }
  static sfuUnavailable(detail: string, cause?: unknown): ServerError {
    return new ServerError('SFU_UNAVAILABLE', detail, { cause });
  }
  /** The node that drives the call's SFU room did not answer a routed request (media/). */
  static sfuNodeUnreachable(callID: string, node: string, waitedMs: number): ServerError {
    return new ServerError(
      'SFU_NODE_UNREACHABLE',
      waitedMs > 0
        ? `the server node driving the SFU room of call ${callID} (${node}) did not answer within ${waitedMs} ms`
        : `the server node driving the SFU room of call ${callID} (${node}) cannot be reached`,
    );
  }
  /**
   * An error another node answered with, as it was; a name not in the registry (a newer node)
   * becomes INTERNAL.
   */
  static fromWire(error: { name: string; message: string }): ServerError {
    const name = error.name as ServerErrorName;
    return Object.hasOwn(ServerErrorCode, name)
      ? new ServerError(name, error.message)
      : new ServerError('INTERNAL', error.message);
  }
  static sfuRestarting(callID: string): ServerError {
    return new ServerError(
      'SFU_RESTARTING',
      `the SFU room of call ${callID} is being re-created after Janus restarted; wait for sfuReset`,
    );
  }
  /** A login or resume on a node that is shutting down. */
  static draining(): ServerError {
    return new ServerError(
      'SERVER_DRAINING',
      'this server node is shutting down; reconnect (to another node, or to this one once it is back)',
    );
  }
  static reservedUserID(userID: string): ServerError {
    return new ServerError('RESERVED_USER_ID', `the user ID "${userID}" is reserved`);
  }
  /** A write the store could not make; `full` when the disk is full (SQLITE_FULL). */
  static storage(full: boolean, cause: unknown): ServerError {
    return full
      ? new ServerError('STORAGE_FULL', 'the disk holding the store is full; nothing was changed', {
          cause,
        })
      : new ServerError('STORE_UNAVAILABLE', 'the store cannot be written now; try again later', {
          cause,
        });
  }
  static internal(cause: unknown): ServerError {
    const detail =
      cause instanceof Error && typeof cause.message === 'string'
        ? clip(cause.message, 200)
        : describeValue(cause);
    return new ServerError('INTERNAL', `internal error: ${detail}`, { cause });
  }
}

/** At most `max` characters of `text`, marked when cut. */
function clip(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * A client-sent value for an error message, without calling anything on it: strings (shortened)
 * and numbers as JSON, anything else by its type and size.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(clip(value));
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'undefined':
      return 'nothing';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? `an array of ${value.length}` : 'an object';
    default:
      return `a ${typeof value}`;
  }
}
