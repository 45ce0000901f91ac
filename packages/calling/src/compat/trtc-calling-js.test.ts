/**
 * Compatibility with trtc-calling-js 1.0.6, written from its package (`npm pack
 * trtc-calling-js@1.0.6`: README's API and event lists, and the built trtc-calling-js.js): every
 * method, EVENT key and value, constant, payload field and resolved value it has, checked against
 * ours on the real server (media is the fake backend; group calls use the server's real Janus).
 */
import { ServerErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import TRTCCalling from '../TRTCCalling.js';
import { FakeMediaBackend } from '../test-support/fakeMedia.test-support.js';
import { hangUpAll, phone, type Phone } from '../test-support/phone.test-support.js';
import {
  Network,
  startTestServerWithSfu,
  type TestServer,
} from '../test-support/server.test-support.js';
import type { WebSocketConstructor } from '../signal/SignalClient.js';

/** `TRTCCalling.EVENT` of 1.0.6, key for key (CALLING_END is CALL_END's alias there). */
const EVENT_1_0_6 = {
  ERROR: 'onError',
  SDK_READY: 'sdkReady',
  INVITED: 'onInvited',
  USER_ACCEPT: 'onUserAccept',
  USER_ENTER: 'onUserEnter',
  USER_LEAVE: 'onUserLeave',
  REJECT: 'onReject',
  NO_RESP: 'onNoResp',
  LINE_BUSY: 'onLineBusy',
  CALLING_CANCEL: 'onCallingCancel',
  KICKED_OUT: 'onKickedOut',
  CALLING_TIMEOUT: 'onCallingTimeout',
  CALL_END: 'onCallEnd',
  CALLING_END: 'onCallEnd',
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable',
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
  USER_VOICE_VOLUME: 'onUserVoiceVolume',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
} as const;

/** The public methods of 1.0.6's TRTCCalling (README's API list and its prototype). */
const METHODS_1_0_6 = [
  'setLogLevel',
  'on',
  'off',
  'login',
  'logout',
  'call',
  'groupCall',
  'accept',
  'reject',
  'hangup',
  'startRemoteView',
  'stopRemoteView',
  'startLocalView',
  'stopLocalView',
  'openCamera',
  'closeCamera',
  'setMicMute',
  'setVideoQuality',
  'getVideoQuality',
  'switchToAudioCall',
  'switchToVideoCall',
  'getCameras',
  'getMicrophones',
  'switchDevice',
  'getCallStatus',
  'isGroupCall',
  'isInviter',
  'getInviteeList',
  'getGroupID',
  'getUserID',
  'getCallType',
  'hasRemoteConnectedUsers',
  'getRemoteStreamCount',
] as const;

const E = TRTCCalling.EVENT;

let ts: TestServer;
const phones: Phone[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServerWithSfu();
}, 30_000);
afterAll(async () => {
  await ts?.close();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await hangUpAll(phones);
});

async function user(name: string, options: Parameters<typeof phone>[2] = {}): Promise<Phone> {
  const p = await phone(ts, `${name}_${++n}`, options);
  phones.push(p);
  return p;
}

/** A TRTCCalling built the way a 1.0.6 app builds it, with only the server added. */
function appInstance(options: Record<string, unknown>): TRTCCalling {
  return new TRTCCalling({ server: ts.server.url, ...options } as never, {
    media: new FakeMediaBackend(),
    WebSocket: new Network().WebSocket as unknown as WebSocketConstructor,
  });
}

describe('the API of trtc-calling-js 1.0.6', () => {
  it('has every method of 1.0.6', () => {
    const missing = METHODS_1_0_6.filter(
      (name) =>
        typeof (TRTCCalling.prototype as unknown as Record<string, unknown>)[name] !== 'function',
    );
    expect(missing).toEqual([]);
  });

  it('has every EVENT key with 1.0.6 values, and keeps Ringline extensions beside them', () => {
    expect(TRTCCalling.EVENT).toMatchObject(EVENT_1_0_6);
    const extra = Object.keys(TRTCCalling.EVENT).filter((key) => !(key in EVENT_1_0_6));
    expect(extra.sort()).toEqual(['CALL_TYPE_CHANGED', 'NETWORK_QUALITY']);
  });

  it('has CALL_TYPE as 1.0.6 (UNKNOWN 0, AUDIO_CALL 1, VIDEO_CALL 2, with reverse keys)', () => {
    expect(TRTCCalling.CALL_TYPE).toMatchObject({
      UNKNOWN: 0,
      AUDIO_CALL: 1,
      VIDEO_CALL: 2,
      0: 'UNKNOWN',
      1: 'AUDIO_CALL',
      2: 'VIDEO_CALL',
    });
  });

  it('takes SDKAppID as a numeric string (from env) and refuses other strings with a code', () => {
    expect(() => appInstance({ SDKAppID: String(ts.server.sdkAppID) })).not.toThrow();
    expect(() => appInstance({ SDKAppID: ' 1400000001 ' })).not.toThrow();
    for (const bad of ['', 'abc', '12e3', '-5', '0', '99999999999']) {
      expect(() => appInstance({ SDKAppID: bad }), bad).toThrow(
        expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }),
      );
    }
  });

  it('logs in with a string SDKAppID; login resolves what TIM resolves', async () => {
    const calling = appInstance({ SDKAppID: String(ts.server.sdkAppID) });
    const userID = `env_${++n}`;
    try {
      await expect(calling.login({ userID, userSig: ts.sig(userID) })).resolves.toEqual({
        code: 0,
        data: { repeatLogin: false, actionStatus: 'OK', errorCode: 0, errorInfo: '' },
      });
      expect(calling.getUserID()).toBe(userID);
      await expect(calling.logout()).resolves.toMatchObject({ code: 0 });
      expect(calling.getUserID()).toBe('');
    } finally {
      await calling.logout().catch(() => {});
    }
  });

  it('setLogLevel takes 1.0.6 levels 0 (all) … 4 (none) and sets what reaches the console', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const calling = appInstance({ SDKAppID: ts.server.sdkAppID });
    calling.on(E.ERROR, () => {});
    calling.setLogLevel(4);
    await expect(calling.accept()).rejects.toMatchObject({ code: 40100 });
    expect(warn).not.toHaveBeenCalled();
    calling.setLogLevel(2);
    await expect(calling.accept()).rejects.toMatchObject({ code: 40100 });
    expect(warn).toHaveBeenCalledTimes(1);
    calling.setLogLevel('silent');
    await expect(calling.accept()).rejects.toMatchObject({ code: 40100 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(() => calling.setLogLevel(7 as never)).toThrow(
      expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }),
    );
  });

  it('calls a listener registered without a context with this = the instance', async () => {
    const p = await user('self', { login: false });
    const seen: unknown[] = [];
    function onError(this: unknown) {
      seen.push(this);
    }
    p.calling.on(E.ERROR, onError);
    await expect(p.calling.accept()).rejects.toMatchObject({ code: 40100 });
    p.calling.off(E.ERROR, onError);
    await expect(p.calling.accept()).rejects.toMatchObject({ code: 40100 });
    expect(seen).toEqual([p.calling]);
  });

  it('reports idle getters before any call, as 1.0.6', async () => {
    const p = await user('fresh');
    expect({
      status: p.calling.getCallStatus(),
      quality: p.calling.getVideoQuality(),
      group: p.calling.isGroupCall(),
      inviter: p.calling.isInviter(),
      invitees: p.calling.getInviteeList(),
      groupID: p.calling.getGroupID(),
      userID: p.calling.getUserID(),
      callType: p.calling.getCallType(),
      connected: p.calling.hasRemoteConnectedUsers(),
      streams: p.calling.getRemoteStreamCount(),
    }).toEqual({
      status: 'idle',
      quality: '480p',
      group: false,
      inviter: false,
      invitees: [],
      groupID: undefined,
      userID: p.userID,
      callType: 0,
      connected: false,
      streams: 0,
    });
    await p.calling.setVideoQuality('720p');
    expect(p.calling.getVideoQuality()).toBe('720p');
  });
});

describe('a one-to-one call, as 1.0.6 reports it', () => {
  it('call/accept resolve 1.0.6 shapes; USER_ACCEPT, getters; the peer hang-up ends with userID', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const called = await alice.calling.call({ userID: bob.userID, type: 2 });
    const invited = await bob.events.next(E.INVITED);
    expect(called).toEqual({
      code: 0,
      inviteID: invited.inviteID,
      data: {
        message: {
          conversationType: 1,
          from: alice.userID,
          to: bob.userID,
          payload: { data: expect.any(String) },
        },
      },
    });
    expect(invited).toMatchObject({
      sponsor: alice.userID,
      userIDList: [bob.userID],
      isFromGroup: false,
      inviteData: { version: 4, callType: 2, callEnd: 0, roomID: expect.any(Number) },
    });
    expect(alice.calling.getCallStatus()).toBe('calling');
    expect(bob.calling.getCallStatus()).toBe('calling');
    expect(alice.calling.isInviter()).toBe(true);
    expect(bob.calling.isInviter()).toBe(false);
    expect(bob.calling.getCallType()).toBe(2);

    const accepted = await bob.calling.accept();
    expect(accepted).toMatchObject({
      code: 0,
      inviteID: invited.inviteID,
      roomID: (invited.inviteData as { roomID: number }).roomID,
      callType: 2,
      data: { message: { conversationType: 1, from: bob.userID, to: alice.userID } },
    });
    expect(await alice.events.next(E.USER_ACCEPT)).toEqual({ userID: bob.userID });
    await alice.events.next(E.USER_ENTER);
    await bob.events.next(E.USER_ENTER);
    const order = alice.events.names.filter(
      (name) => name === E.USER_ACCEPT || name === E.USER_ENTER,
    );
    expect(order).toEqual([E.USER_ACCEPT, E.USER_ENTER]);
    expect(bob.events.count(E.USER_ACCEPT)).toBe(0);
    expect({
      status: alice.calling.getCallStatus(),
      group: alice.calling.isGroupCall(),
      invitees: alice.calling.getInviteeList(),
      groupID: alice.calling.getGroupID(),
      callType: alice.calling.getCallType(),
      connected: alice.calling.hasRemoteConnectedUsers(),
      streams: alice.calling.getRemoteStreamCount(),
    }).toEqual({
      status: 'connected',
      group: false,
      invitees: [],
      groupID: '',
      callType: 2,
      connected: true,
      streams: 1,
    });

    // Tencent's demo listens on CALLING_END; the alias fires on every call end.
    const endedViaAlias: unknown[] = [];
    alice.calling.on(E.CALLING_END, (event) => endedViaAlias.push(event));
    await bob.calling.hangup();
    const end = await alice.events.next(E.CALL_END);
    expect(end).toMatchObject({ userID: bob.userID, callEnd: expect.any(Number) });
    expect(endedViaAlias).toEqual([end]);
    expect(alice.events.count(E.CALL_END)).toBe(1);
    expect(alice.calling.getCallStatus()).toBe('idle');
    expect(alice.calling.isInviter()).toBe(false);
    expect(alice.calling.getRemoteStreamCount()).toBe(0);
    expect(alice.calling.getCallType()).toBe(2); // 1.0.6 keeps the last call's type
  });

  it('reject resolves the reject signal; hangup while dialing resolves the cancelled invitations', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1 });
    const invited = await bob.events.next(E.INVITED);
    await expect(bob.calling.reject()).resolves.toMatchObject({
      code: 0,
      inviteID: invited.inviteID,
      data: { message: { conversationType: 1, from: bob.userID, to: alice.userID } },
    });
    await alice.events.next(E.REJECT);

    const called = await alice.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    await expect(alice.calling.hangup()).resolves.toEqual([
      {
        code: 0,
        inviteID: called.inviteID,
        data: { message: expect.objectContaining({ from: alice.userID, to: bob.userID }) },
      },
    ]);
    await bob.events.next(E.CALLING_CANCEL);
  });

  it('a muted mic does not carry into the next call: both sides see it on', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    for (const round of [1, 2]) {
      await alice.calling.call({ userID: bob.userID, type: 1 });
      await bob.events.next(E.INVITED);
      await bob.calling.accept();
      const heard = await bob.events.next(E.USER_AUDIO_AVAILABLE);
      expect(heard, `call ${round}`).toEqual({ userID: alice.userID, isAudioAvailable: true });
      expect(alice.calling.getLocalAudioTrack()?.enabled, `call ${round}`).toBe(true);
      await alice.calling.setMicMute(true);
      expect(await bob.events.next(E.USER_AUDIO_AVAILABLE)).toEqual({
        userID: alice.userID,
        isAudioAvailable: false,
      });
      await alice.calling.hangup();
      await bob.events.next(E.CALL_END);
    }
  });
});

describe('group calls, as 1.0.6 reports them', () => {
  it('two invitees without a groupID: isFromGroup true; groupCall resolves one result each', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const result = await alice.calling.groupCall({
      userIDList: [bob.userID, carol.userID],
      type: 1,
    });
    const invited = await Promise.all([bob, carol].map((p) => p.events.next(E.INVITED)));
    for (const event of invited) expect(event).toMatchObject({ isFromGroup: true });
    expect(result).toEqual({
      code: 0,
      data: [bob, carol].map((p) => ({
        code: 0,
        inviteID: expect.any(String),
        data: { message: expect.objectContaining({ conversationType: 1, to: p.userID }) },
      })),
    });
    expect(alice.calling.isGroupCall()).toBe(true);
    expect(alice.calling.getInviteeList()).toEqual([bob.userID, carol.userID]);
    expect(alice.calling.getGroupID()).toBe('');
    expect(bob.calling.isGroupCall()).toBe(true);
    expect(bob.calling.getInviteeList()).toEqual([bob.userID, carol.userID]);
    await bob.calling.accept();
    expect(await alice.events.next(E.USER_ACCEPT)).toEqual({ userID: bob.userID });
    await alice.calling.hangup();
  });
});
