/**
 * The kit's core against the real server, with the SDK's fake media backend (signalling for real,
 * no frames): which statuses, callbacks, toasts and participants an app and the views see.
 */
import { ServerErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestServer,
  type TestServer,
} from '../../../calling/src/test-support/server.test-support.js';
import { testKit, type TestKit } from './testKit.test-support.js';
import { CallMediaType, CallRole, CallStatus, STATUS } from './types.js';

let ts: TestServer;
const kits: TestKit[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.kit.destroyed()));
});

async function user(name: string, options: { init?: boolean } = {}): Promise<TestKit> {
  const k = await testKit(ts, `${name}_${++n}`, options);
  kits.push(k);
  return k;
}

/** alice calls bob (video unless said otherwise); resolves once bob's kit rings. */
async function dial(type: CallMediaType = CallMediaType.VIDEO, timeout?: number) {
  const alice = await user('alice');
  const bob = await user('bob');
  await alice.kit.call({ userID: bob.userID, type, ...(timeout ? { timeout } : {}) });
  await bob.status(STATUS.BE_INVITED);
  return { alice, bob };
}

/** alice calls bob and bob accepts; both kits show the call. */
async function connected(type: CallMediaType = CallMediaType.VIDEO) {
  const { alice, bob } = await dial(type);
  await bob.kit.accept();
  const calling =
    type === CallMediaType.VIDEO ? STATUS.CALLING_C2C_VIDEO : STATUS.CALLING_C2C_AUDIO;
  await alice.status(calling);
  await bob.status(calling);
  return { alice, bob };
}

describe('a one-to-one call', () => {
  it('accepted then hung up: exact statusChanged sequences and callbacks on both sides', async () => {
    const { alice, bob } = await connected();
    await alice.kit.hangup();
    await bob.status(STATUS.IDLE);

    expect(alice.statuses).toEqual([
      'idle->dialing-c2c',
      'dialing-c2c->calling-c2c-video',
      'calling-c2c-video->idle',
    ]);
    expect(bob.statuses).toEqual([
      'idle->be-invited',
      'dialing-c2c->calling-c2c-video',
      'calling-c2c-video->idle',
    ]);
    expect(alice.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
    expect(bob.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
    // Back to idle forgets the call but keeps who is logged in.
    expect(alice.kit.state).toMatchObject({
      status: STATUS.IDLE,
      role: CallRole.UNKNOWN,
      callStatus: CallStatus.IDLE,
      remotes: [],
      self: { userID: alice.userID },
    });
    expect(alice.kit.state.connectedAt).toBeUndefined();
  });

  it('gives each side its role, the peer as a participant with media state, and the timer start', async () => {
    const before = Date.now();
    const { alice, bob } = await dial();
    expect(alice.kit.state).toMatchObject({
      role: CallRole.CALLER,
      callStatus: CallStatus.CALLING,
      mediaType: CallMediaType.VIDEO,
      isGroup: false,
      peerUserID: bob.userID,
      remotes: [{ userID: bob.userID, ringing: true }],
    });
    expect(bob.kit.state).toMatchObject({
      role: CallRole.CALLEE,
      callStatus: CallStatus.CALLING,
      peerUserID: alice.userID,
      remotes: [{ userID: alice.userID, ringing: false }],
    });
    await bob.kit.accept();
    const a = await alice.until(
      (s) => s.remotes[0]?.video === true && s.callStatus === CallStatus.CONNECTED,
      'bob with camera on',
    );
    expect(a.remotes).toEqual([
      expect.objectContaining({ userID: bob.userID, audio: true, ringing: false }),
    ]);
    expect(a.self).toMatchObject({ userID: alice.userID, audio: true, video: true });
    expect(a.connectedAt).toBeGreaterThanOrEqual(before);
    expect(bob.kit.state.connectedAt).toBeGreaterThanOrEqual(before);
  });

  it('callee hangs up: the caller goes back to idle once', async () => {
    const { alice, bob } = await connected(CallMediaType.AUDIO);
    await bob.kit.hangup();
    await alice.status(STATUS.IDLE);
    expect(alice.statuses).toEqual([
      'idle->dialing-c2c',
      'dialing-c2c->calling-c2c-audio',
      'calling-c2c-audio->idle',
    ]);
    expect(alice.callbacks).toEqual(['beforeCalling:1', 'afterCalling']);
  });

  it('rejected: caller dialing -> idle with a "rejected" toast; callee be-invited -> idle', async () => {
    const { alice, bob } = await dial();
    await bob.kit.reject();
    const a = await alice.status(STATUS.IDLE);
    expect(alice.statuses).toEqual(['idle->dialing-c2c', 'dialing-c2c->idle']);
    expect(bob.statuses).toEqual(['idle->be-invited', 'dialing-c2c->idle']);
    expect(a.toasts).toEqual([expect.objectContaining({ kind: 'rejected', userID: bob.userID })]);
    expect(alice.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
    expect(bob.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
  });

  it('no answer: both back to idle after the timeout, the caller with a "no-answer" toast', async () => {
    const { alice, bob } = await dial(CallMediaType.VIDEO, 1);
    const a = await alice.status(STATUS.IDLE, 5_000);
    await bob.status(STATUS.IDLE);
    expect(alice.statuses).toEqual(['idle->dialing-c2c', 'dialing-c2c->idle']);
    expect(bob.statuses).toEqual(['idle->be-invited', 'dialing-c2c->idle']);
    expect(a.toasts).toEqual([expect.objectContaining({ kind: 'no-answer', userID: bob.userID })]);
    expect(alice.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
  });

  it('cancelled: the callee stops ringing with a "cancelled" toast', async () => {
    const { alice, bob } = await dial();
    expect(bob.kit.ringing).toBe(true);
    await alice.kit.hangup();
    const b = await bob.status(STATUS.IDLE);
    expect(bob.kit.ringing).toBe(false);
    expect(alice.statuses).toEqual(['idle->dialing-c2c', 'dialing-c2c->idle']);
    expect(bob.statuses).toEqual(['idle->be-invited', 'dialing-c2c->idle']);
    expect(b.toasts).toEqual([
      expect.objectContaining({ kind: 'cancelled', userID: alice.userID }),
    ]);
    expect(bob.callbacks).toEqual(['beforeCalling:2', 'afterCalling']);
  });

  it('busy: calling someone in a call ends with a "busy" toast', async () => {
    const { bob } = await connected();
    const carol = await user('carol');
    await carol.kit.call({ userID: bob.userID, type: CallMediaType.AUDIO });
    const c = await carol.status(STATUS.IDLE);
    expect(carol.statuses).toEqual(['idle->dialing-c2c', 'dialing-c2c->idle']);
    expect(c.toasts).toEqual([expect.objectContaining({ kind: 'busy', userID: bob.userID })]);
    // bob's call is untouched.
    expect(bob.kit.state.status).toBe(STATUS.CALLING_C2C_VIDEO);
  });

  it('switching to audio moves both sides to calling-c2c-audio; only the switcher hears statusChanged', async () => {
    const { alice, bob } = await connected();
    await alice.kit.switchMediaType();
    await bob.status(STATUS.CALLING_C2C_AUDIO);
    expect(alice.kit.state).toMatchObject({
      status: STATUS.CALLING_C2C_AUDIO,
      mediaType: CallMediaType.AUDIO,
      self: { video: false },
    });
    expect(alice.statuses).toContain('calling-c2c-video->calling-c2c-audio');
    // TUICallKit calls statusChanged from switchCallMediaType only: the peer's view follows quietly.
    expect(bob.statuses).not.toContain('calling-c2c-video->calling-c2c-audio');
    expect(bob.kit.state.mediaType).toBe(CallMediaType.AUDIO);
  });

  it('mic and camera toggles show on the other side', async () => {
    const { alice, bob } = await connected();
    await alice.kit.toggleMic();
    await alice.kit.toggleCamera();
    expect(alice.kit.state.self).toMatchObject({ audio: false, video: false });
    await bob.until(
      (s) => s.remotes[0]?.audio === false && s.remotes[0]?.video === false,
      "alice's mic and camera off",
    );
    await alice.kit.toggleCamera();
    await bob.until((s) => s.remotes[0]?.video === true, "alice's camera on again");
  });

  it('refuses a second call while in one, without touching the status', async () => {
    const { alice, bob } = await connected();
    const before = [...alice.statuses];
    await expect(alice.kit.call({ userID: bob.userID, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.ALREADY_IN_CALL,
    });
    expect(alice.statuses).toEqual(before);
  });

  it('calling yourself is refused before dialing: no status change, beforeCalling hears the error', async () => {
    const alice = await user('alice');
    await expect(alice.kit.call({ userID: alice.userID, type: 2 })).rejects.toMatchObject({
      code: ServerErrorCode.CANNOT_CALL_SELF,
    });
    expect(alice.statuses).toEqual([]);
    // TUICallKit's `beforeCalling(type, error)`, once; no afterCalling, as no call began.
    expect(alice.callbacks).toEqual([`beforeCalling:2:error ${ServerErrorCode.CANNOT_CALL_SELF}`]);
    expect(alice.kit.state.toasts).toEqual([
      expect.objectContaining({ kind: 'error', code: ServerErrorCode.CANNOT_CALL_SELF }),
    ]);
    expect(alice.kit.state).toMatchObject({ status: STATUS.IDLE, role: CallRole.UNKNOWN });
    // Nothing was captured or sent.
    expect(alice.media.tracks).toEqual([]);
    expect(alice.media.sessions).toEqual([]);
  });

  it('bad arguments are refused the same way, each with its code', async () => {
    const alice = await user('alice');
    const refusals: [Parameters<typeof alice.kit.call>[0], number][] = [
      [{ userID: '', type: 2 }, ServerErrorCode.INVALID_USER_ID],
      [{ userID: 'not a user id!', type: 1 }, ServerErrorCode.INVALID_USER_ID],
      [{ userID: 'bob', type: 3 as never }, ServerErrorCode.INVALID_FIELD],
    ];
    for (const [params, code] of refusals) {
      await expect(alice.kit.call(params), JSON.stringify(params)).rejects.toMatchObject({ code });
    }
    await expect(
      alice.kit.groupCall({ userIDList: ['bob', alice.userID], type: 2 }),
    ).rejects.toMatchObject({ code: ServerErrorCode.CANNOT_CALL_SELF });
    await expect(alice.kit.groupCall({ userIDList: [], type: 2 })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
    await expect(alice.kit.joinInGroupCall({ type: 2, groupID: '' })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
    expect(alice.statuses).toEqual([]);
    expect(alice.callbacks).toEqual([
      `beforeCalling:2:error ${ServerErrorCode.INVALID_USER_ID}`,
      `beforeCalling:1:error ${ServerErrorCode.INVALID_USER_ID}`,
      `beforeCalling:3:error ${ServerErrorCode.INVALID_FIELD}`,
      `beforeCalling:2:error ${ServerErrorCode.CANNOT_CALL_SELF}`,
      `beforeCalling:2:error ${ServerErrorCode.INVALID_FIELD}`,
      `beforeCalling:2:error ${ServerErrorCode.INVALID_FIELD}`,
    ]);
    expect(alice.media.sessions).toEqual([]);
  });

  it('a failure only the server knows still goes dialing -> idle with an error toast', async () => {
    const alice = await user('alice');
    const failure = await alice.kit
      .groupCall({ userIDList: ['bob', 'carol'], type: 2, groupID: 'nosuchgroup' })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number },
      );
    expect(failure?.code).toBeGreaterThan(0);
    expect(alice.statuses).toEqual(['idle->dialing-group', 'dialing-group->idle']);
    expect(alice.callbacks).toEqual([
      'beforeCalling:2',
      `beforeCalling:2:error ${failure!.code}`,
      'afterCalling',
    ]);
    expect(alice.kit.state.toasts).toEqual([
      expect.objectContaining({ kind: 'error', code: failure!.code }),
    ]);
  });
});

describe('network quality and speaking levels', () => {
  it('NETWORK_QUALITY sets each participant’s networkQuality (self: localQuality)', async () => {
    const { alice, bob } = await connected();
    expect(alice.kit.state.self.networkQuality).toBe(0);
    // The SDK's fake media measures nothing; give its session levels to report.
    alice.media.session.quality = { local: 1, remote: { [bob.userID]: 3 } };
    const a = await alice.until(
      (s) => s.self.networkQuality === 1 && s.remotes[0]?.networkQuality === 3,
      'network quality 1 (self) and 3 (bob)',
    );
    expect(a.remotes).toEqual([expect.objectContaining({ userID: bob.userID, networkQuality: 3 })]);
    // Bob's kit is untouched: his session measured nothing.
    expect(bob.kit.state.self.networkQuality).toBe(0);
    await alice.kit.hangup();
    expect(alice.kit.state.self.networkQuality).toBe(0);
  });

  it('muting the microphone drops the own speaking level to 0 at once', async () => {
    const { alice } = await connected();
    // No WebAudio in Node, so the meter never runs here; the level is set as a Chromium meter
    // would have left it (the e2e test checks the real meter).
    alice.kit.store.update((s) => ({ self: { ...s.self, volume: 0.8 } }));
    await alice.kit.toggleMic();
    expect(alice.kit.state.self).toMatchObject({ audio: false, volume: 0 });
  });
});

describe('callbacks and options', () => {
  it('kickedOut when the same user logs in elsewhere, ending the call', async () => {
    const { alice, bob } = await connected();
    const again = await testKit(ts, bob.userID);
    kits.push(again);
    await bob.until((s) => s.toasts.some((t) => t.kind === 'kicked'), 'kicked toast');
    // TUICallKit's kick handler: kickedOut(event) first, then the reset to idle.
    expect(bob.callbacks).toEqual(['beforeCalling:2', 'kickedOut', 'afterCalling']);
    expect(bob.statuses.at(-1)).toBe('calling-c2c-video->idle');
    await alice.status(STATUS.IDLE);
  });

  it('onMinimized(old, new) on minimize and restore, only during a call', async () => {
    const { alice } = await connected();
    alice.kit.setMinimized(true);
    alice.kit.setMinimized(true);
    alice.kit.setMinimized(false);
    expect(alice.callbacks.filter((c) => c.startsWith('onMinimized'))).toEqual([
      'onMinimized:false->true',
      'onMinimized:true->false',
    ]);
    await alice.kit.hangup();
    alice.kit.setMinimized(true);
    expect(alice.kit.state.minimized).toBe(false);
  });

  it('setCameraDefaultState(false): a video call starts with the camera off', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    bob.kit.setCameraDefaultState(false);
    await alice.kit.call({ userID: bob.userID, type: 2 });
    await bob.status(STATUS.BE_INVITED);
    await bob.kit.accept();
    expect(bob.kit.state.self.video).toBe(false);
    await alice.until(
      (s) => s.callStatus === CallStatus.CONNECTED && s.remotes[0]?.video === false,
      "bob's camera off",
    );
  });

  it('muteMode keeps the ringtone silent; the bell URL is kept', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await bob.kit.setCallingBell('https://example.invalid/bell.mp3');
    await bob.kit.enableMuteMode(true);
    await alice.kit.call({ userID: bob.userID, type: 1 });
    await bob.status(STATUS.BE_INVITED);
    expect(bob.kit.ringing).toBe(false);
    expect(alice.kit.ringing).toBe(true);
    expect(bob.kit.state.options).toMatchObject({
      muteMode: true,
      callingBell: 'https://example.invalid/bell.mp3',
    });
    await bob.kit.enableMuteMode(false);
    expect(bob.kit.ringing).toBe(true);
  });

  it('the API options land in the state; bad values are refused with code 40002', async () => {
    const k = await user('k', { init: false });
    k.kit.setLanguage('ja_JP');
    k.kit.enableFloatWindow(false);
    k.kit.hideFeatureButton('inviteUser');
    k.kit.setLocalViewBackgroundImage('/bg.png');
    k.kit.setRemoteViewBackgroundImage('*', '/remote.png');
    k.kit.setLayoutMode('local');
    await k.kit.setSelfInfo({ nickName: 'Kay', avatar: '/kay.png' });
    k.kit.setComponentOptions({
      allowedMinimized: true,
      allowedFullScreen: false,
      videoDisplayMode: 'contain',
      videoResolution: '720p',
    });
    expect(k.kit.state).toMatchObject({
      language: 'ja_JP',
      layout: 'local',
      self: { nickName: 'Kay', avatar: '/kay.png' },
      options: {
        floatWindow: false,
        hiddenButtons: ['inviteUser'],
        localBackground: '/bg.png',
        remoteBackgrounds: { '*': '/remote.png' },
        allowedMinimized: true,
        allowedFullScreen: false,
        videoDisplayMode: 'contain',
        videoResolution: '720p',
      },
    });
    const invalid = { code: ServerErrorCode.INVALID_FIELD };
    expect(() => k.kit.setLanguage('fr' as never)).toThrow(expect.objectContaining(invalid));
    expect(() => k.kit.setComponentOptions({ videoResolution: '4k' as never })).toThrow(
      expect.objectContaining(invalid),
    );
    expect(() => k.kit.hideFeatureButton('nope' as never)).toThrow(
      expect.objectContaining(invalid),
    );
    await expect(k.kit.call({ userID: 'x', type: 2 })).rejects.toMatchObject({
      code: ServerErrorCode.NOT_LOGGED_IN,
    });
    await expect(
      k.kit.init({ userID: '', userSig: 'x', SDKAppID: ts.server.sdkAppID }),
    ).rejects.toMatchObject(invalid);
  });

  it('videoResolution is applied to the camera before a call', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    alice.kit.setComponentOptions({ videoResolution: '720p' });
    await alice.kit.call({ userID: bob.userID, type: 2 });
    const video = alice.media.tracks.find((t) => t.kind === 'video' && t.readyState === 'live');
    expect(video?.constraints).toMatchObject({ width: { ideal: 1280 }, height: { ideal: 720 } });
  });

  it('a callback that throws does not break the call flow', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    bob.kit.setCallbacks({
      beforeCalling: () => {
        throw new Error('app bug');
      },
    });
    await alice.kit.call({ userID: bob.userID, type: 2 });
    await bob.status(STATUS.BE_INVITED);
    await bob.kit.accept();
    await alice.status(STATUS.CALLING_C2C_VIDEO);
  });

  it('destroyed() ends the call and logs out; the peer goes back to idle', async () => {
    const { alice, bob } = await connected();
    await alice.kit.destroyed();
    expect(alice.kit.state.self.userID).toBe('');
    expect(alice.statuses.at(-1)).toBe('calling-c2c-video->idle');
    await bob.status(STATUS.IDLE);
    await expect(alice.kit.accept()).rejects.toMatchObject({ code: ServerErrorCode.NOT_LOGGED_IN });
  });

  it('toasts go away when dismissed', async () => {
    const { alice, bob } = await dial();
    await bob.kit.reject();
    const a = await alice.until((s) => s.toasts.length === 1, 'a toast');
    alice.kit.dismissToast(a.toasts[0]!.id);
    expect(alice.kit.state.toasts).toEqual([]);
  });
});

describe('two devices of one user (server --multi-device ring-all)', () => {
  let ringAll: TestServer;
  beforeAll(async () => {
    ringAll = await startTestServer({ multiDevice: 'ring-all' });
  });
  afterAll(async () => {
    await ringAll.close();
  });

  it('accepting on one device stops the other ringing with an "answered elsewhere" toast', async () => {
    const alice = await testKit(ringAll, `alice_${++n}`);
    const bobID = `bob_${++n}`;
    const phone = await testKit(ringAll, bobID);
    const laptop = await testKit(ringAll, bobID);
    kits.push(alice, phone, laptop);
    await alice.kit.call({ userID: bobID, type: CallMediaType.AUDIO });
    await phone.status(STATUS.BE_INVITED);
    await laptop.status(STATUS.BE_INVITED);
    await laptop.kit.accept();
    await alice.status(STATUS.CALLING_C2C_AUDIO);
    const p = await phone.status(STATUS.IDLE);
    expect(phone.kit.ringing).toBe(false);
    expect(p.toasts).toEqual([expect.objectContaining({ kind: 'answered-elsewhere' })]);
    expect(laptop.kit.state.status).toBe(STATUS.CALLING_C2C_AUDIO);
    await alice.kit.hangup();
    await laptop.status(STATUS.IDLE);
  });
});
