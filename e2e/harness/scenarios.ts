import type { RecordedEvent } from './page-api.js';
import { REMOTE_VIEW, type TestUser } from './user.js';

/**
 * The event names of the seed's `TRTCCalling.EVENT`, as trtc-calling-js defines them. Tests use
 * these; one test checks that the SDK bundle's own table holds the same values.
 */
export const EVENT = {
  INVITED: 'onInvited',
  REJECT: 'onReject',
  NO_RESP: 'onNoResp',
  LINE_BUSY: 'onLineBusy',
  CALLING_CANCEL: 'onCallingCancel',
  CALLING_TIMEOUT: 'onCallingTimeout',
  USER_ENTER: 'onUserEnter',
  USER_LEAVE: 'onUserLeave',
  CALL_END: 'onCallEnd',
  KICKED_OUT: 'onKickedOut',
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable',
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
  ERROR: 'onError',
  SDK_READY: 'onSdkReady',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
} as const;

/** Call types as the seed numbers them. */
export const AUDIO = 1;
export const VIDEO = 2;

/** `caller` calls `callee` and waits until `callee` got INVITED; resolves with that event. */
export async function ring(
  caller: TestUser,
  callee: TestUser,
  { type = VIDEO, timeout }: { type?: 1 | 2; timeout?: number } = {},
): Promise<RecordedEvent> {
  const after = await callee.mark();
  await caller.sdk.call({
    userID: callee.userID,
    type,
    ...(timeout === undefined ? {} : { timeout }),
  });
  return callee.waitForEvent(EVENT.INVITED, (p) => p.sponsor === caller.userID, { after });
}

/**
 * A connected one-to-one call: `caller` calls, `callee` accepts, and both got USER_ENTER for the
 * other. Resolves with the callee's INVITED event.
 */
export async function connect(
  caller: TestUser,
  callee: TestUser,
  options: { type?: 1 | 2 } = {},
): Promise<RecordedEvent> {
  const [callerMark, calleeMark] = await Promise.all([caller.mark(), callee.mark()]);
  const invited = await ring(caller, callee, options);
  await callee.sdk.accept();
  await Promise.all([
    caller.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === callee.userID, {
      after: callerMark,
    }),
    callee.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === caller.userID, {
      after: calleeMark,
    }),
  ]);
  return invited;
}

/** Each side renders the other into its remote view, as an app does on USER_ENTER. */
export async function showEachOther(a: TestUser, b: TestUser): Promise<void> {
  await Promise.all([
    a.sdk.startRemoteView({ userID: b.userID, videoViewDomID: REMOTE_VIEW }),
    b.sdk.startRemoteView({ userID: a.userID, videoViewDomID: REMOTE_VIEW }),
  ]);
}
