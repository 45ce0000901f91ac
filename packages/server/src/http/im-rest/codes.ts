/**
 * Tencent IM's REST error codes that the IM REST endpoints answer with, in one place. These are
 * Tencent's numbers (its "服务端错误码" table: common 600xx, account 700xx, group 100xx), not
 * Ringline's registry: an app backend written for Tencent compares `ErrorCode` with them.
 */
import { ServerError } from '../../errors.js';

export const TencentCode = {
  OK: 0,
  /** 60002: the request URL cannot be parsed (a query parameter given twice, a bad `random`). */
  HTTP_PARSE: 60002,
  /** 60003: the request body is not JSON. */
  JSON_PARSE: 60003,
  /** 60010: `identifier` must be the app administrator. */
  NOT_ADMIN: 60010,
  /** 60012: no (numeric) `sdkappid` in the URL. */
  NO_SDKAPPID: 60012,
  /** 70001: the userSig has expired. */
  USERSIG_EXPIRED: 70001,
  /** 70002: no userSig (length 0). */
  USERSIG_EMPTY: 70002,
  /** 70003: the userSig cannot be decoded. */
  USERSIG_INVALID: 70003,
  /** 70009: the userSig's signature does not verify with this app's key. */
  USERSIG_BAD_SIGNATURE: 70009,
  /** 70013: the userSig was made for another user than `identifier`. */
  USERSIG_WRONG_USER: 70013,
  /** 70014: the userSig was made for another SDKAppID than `sdkappid`. */
  USERSIG_WRONG_APP: 70014,
  /** 70020: this server does not serve that SDKAppID. */
  APP_NOT_FOUND: 70020,
  /** 70206: an account batch of the wrong size (multiaccount_import). */
  ACCOUNT_BATCH: 70206,
  /** 70402: an account request's field is missing or not valid. */
  ACCOUNT_PARAM: 70402,
  /** 10002: an internal error (the store failed); try again. */
  INTERNAL: 10002,
  /** 10003: no such command in group_open_http_svc. */
  UNKNOWN_COMMAND: 10003,
  /** 10004: a body field is missing, of the wrong type, or out of range. */
  INVALID_PARAM: 10004,
  /** 10007: not allowed (for example members in an AVChatRoom at creation). */
  NO_PERMISSION: 10007,
  /** 10010: the group does not exist (or was destroyed). */
  GROUP_NOT_FOUND: 10010,
  /** 10014: the group is full. */
  GROUP_FULL: 10014,
  /** 10015: the group ID is not valid. */
  INVALID_GROUP_ID: 10015,
  /** 10018: the answer would be too large; ask for fewer groups. */
  RESPONSE_TOO_LARGE: 10018,
  /** 10021: the group ID is already in use. */
  GROUP_EXISTS: 10021,
} as const;

export type TencentCodeValue = (typeof TencentCode)[keyof typeof TencentCode];

/** A failure answered as `{ActionStatus: "FAIL", ErrorCode, ErrorInfo}`. */
export class ImRestError extends Error {
  constructor(
    readonly errorCode: TencentCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'ImRestError';
  }
}

/** A GroupService / store error as Tencent's code; its message never holds the request's URL. */
export function fromServerError(err: ServerError): ImRestError {
  const code: TencentCodeValue =
    err.name === 'GROUP_NOT_FOUND'
      ? TencentCode.GROUP_NOT_FOUND
      : err.name === 'GROUP_EXISTS'
        ? TencentCode.GROUP_EXISTS
        : err.name === 'INVALID_FIELD' || err.name === 'INVALID_USER_ID'
          ? TencentCode.INVALID_PARAM
          : TencentCode.INTERNAL;
  return new ImRestError(code, err.message);
}
