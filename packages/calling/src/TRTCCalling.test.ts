import { ServerErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import TRTCCalling from './TRTCCalling.js';
import { SessionEvent } from './media/MediaSession.js';
import { FakeMediaBackend } from './test-support/fakeMedia.test-support.js';
import { hangUpAll, phone, type Phone } from './test-support/phone.test-support.js';
import { startTestServer, type TestServer } from './test-support/server.test-support.js';

const E = TRTCCalling.EVENT;

let ts: TestServer;
const phones: Phone[] = [];
let n = 0;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});
afterEach(async () => {
  await hangUpAll(phones);
});

/** A logged-in phone with a user ID unique to this test. */
async function user(name: string, options: Parameters<typeof phone>[2] = {}, server = ts) {
  const p = await phone(server, `${name}_${++n}`, options);
  phones.push(p);
  return p;
}

/** alice calls bob (video unless said otherwise) and bob accepts; both see each other enter. */
async function connected(type: 1 | 2 = 2, server = ts) {
  const alice = await user('alice', {}, server);
  const bob = await user('bob', {}, server);
  await alice.calling.call({ userID: bob.userID, type });
  await bob.events.next(E.INVITED);
  await bob.calling.accept();
  await alice.events.next(E.USER_ENTER);
  await bob.events.next(E.USER_ENTER);
  return { alice, bob };
}

describe('TRTCCalling API surface', () => {
  it('TRTCCalling.EVENT holds the seed event names', () => {
    expect(TRTCCalling.EVENT).toMatchObject({
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
      SDK_READY: 'sdkReady',
      GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
      CALL_TYPE_CHANGED: 'onCallTypeChanged',
      NETWORK_QUALITY: 'onNetworkQuality',
    });
    expect(TRTCCalling.NETWORK_QUALITY).toEqual({
      UNKNOWN: 0,
      EXCELLENT: 1,
      GOOD: 2,
      POOR: 3,
      BAD: 4,
      VERY_BAD: 5,
      DOWN: 6,
    });
  });

  it('on(name, callback, context) calls back with this = context; off removes that pair', async () => {
    const p = await user('ctx', { login: false });
    const context = { seen: [] as unknown[] };
    function onError(this: typeof context, event: unknown) {
      this.seen.push(event);
    }
    p.calling.on('onError', onError, context);
    await expect(p.calling.accept()).rejects.toMatchObject({ code: 40100 });
    p.calling.off('onError', onError, context);
    await expect(p.calling.accept()).rejects.toMatchObject({ code: 40100 });
    expect(context.seen).toEqual([
      {
        code: 40100,
        message: 'accept needs login() first',
        msg: 'accept needs login() first',
      },
    ]);
  });

  it('a listener that throws does not break the SDK', async () => {
    const p = await user('thrower', { login: false });
    p.calling.on(E.SDK_READY, () => {
      throw new Error('app bug');
    });
    await p.calling.login({ userID: p.userID, userSig: ts.sig(p.userID) });
    expect(await p.events.next(E.SDK_READY)).toEqual({ userID: p.userID });
  });

  it('refuses a bad SDKAppID or server URL with a coded error', () => {
    expect(() => new TRTCCalling({ SDKAppID: 0, server: ts.server.url })).toThrow(
      expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }),
    );
    expect(() => new TRTCCalling({ SDKAppID: 1, server: 'not a url' })).toThrow(
      expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }),
    );
    expect(() => new TRTCCalling({ SDKAppID: 1, server: 'ftp://x' })).toThrow(
      expect.objectContaining({ code: ServerErrorCode.INVALID_FIELD }),
    );
  });
});

describe('login', () => {
  it('resolves, then SDK_READY fires with the user ID', async () => {
    const p = await user('ready', { login: false });
    await p.calling.login({ userID: p.userID, userSig: ts.sig(p.userID) });
    expect(await p.events.next(E.SDK_READY)).toEqual({ userID: p.userID });
  });

  it('a wrong userSig rejects with the server code and fires ERROR', async () => {
    const p = await user('badsig', { login: false });
    await expect(
      p.calling.login({ userID: p.userID, userSig: ts.sig('someone_else') }),
    ).rejects.toMatchObject({ code: ServerErrorCode.USERSIG_WRONG_USER });
    expect(await p.events.next(E.ERROR)).toMatchObject({
      code: ServerErrorCode.USERSIG_WRONG_USER,
      message: expect.any(String),
    });
    expect(p.events.count(E.SDK_READY)).toBe(0);
  });

  it('a malformed user ID is refused before anything is sent', async () => {
    const p = await user('badid', { login: false });
    await expect(p.calling.login({ userID: 'no spaces!', userSig: 'x' })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_USER_ID,
    });
    expect(p.network.sockets).toHaveLength(0);
  });

  it('an operation before login fails with NOT_LOGGED_IN', async () => {
    const p = await user('early', { login: false });
    await expect(p.calling.call({ userID: 'anyone', type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.NOT_LOGGED_IN,
    });
    expect(await p.events.next(E.ERROR)).toMatchObject({ code: ServerErrorCode.NOT_LOGGED_IN });
  });

  it('without RTCPeerConnection: ERROR 60006 after construction, and login rejects with 60006', async () => {
    const media = new FakeMediaBackend();
    media.missing.peerConnection = true;
    const p = await user('norct', { login: false, media });
    expect(await p.events.next(E.ERROR)).toMatchObject({ code: 60006 });
    await expect(
      p.calling.login({ userID: p.userID, userSig: ts.sig(p.userID) }),
    ).rejects.toMatchObject({ code: 60006 });
  });

  it('logout() then login() again works', async () => {
    const p = await user('again');
    await p.calling.logout();
    await p.calling.login({ userID: p.userID, userSig: ts.sig(p.userID) });
    expect(await p.events.next(E.SDK_READY)).toEqual({ userID: p.userID });
  });
});

describe('a call that is accepted', () => {
  it('invitee gets INVITED with the seed payload', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    const invited = await bob.events.next(E.INVITED);
    expect(invited).toEqual({
      sponsor: alice.userID,
      userIDList: [bob.userID],
      isFromGroup: false,
      inviteData: { version: 4, callType: 2, callEnd: 0, roomID: expect.any(Number) },
      inviteID: expect.any(String),
    });
    await alice.calling.hangup();
  });

  it('both sides get USER_ENTER for the other and the availability of their media', async () => {
    const { alice, bob } = await connected(2);
    expect(alice.events.names.slice(-3)).toEqual([
      E.USER_ENTER,
      E.USER_AUDIO_AVAILABLE,
      E.USER_VIDEO_AVAILABLE,
    ]);
    expect(alice.events.all.find((e) => e.name === E.USER_ENTER)!.payload).toEqual({
      userID: bob.userID,
    });
    expect(await alice.events.next(E.USER_VIDEO_AVAILABLE)).toEqual({
      userID: bob.userID,
      isVideoAvailable: true,
    });
    expect(await alice.events.next(E.USER_AUDIO_AVAILABLE)).toEqual({
      userID: bob.userID,
      isAudioAvailable: true,
    });
    expect(bob.events.all.find((e) => e.name === E.USER_ENTER)!.payload).toEqual({
      userID: alice.userID,
    });
    expect(await bob.events.next(E.USER_VIDEO_AVAILABLE)).toEqual({
      userID: alice.userID,
      isVideoAvailable: true,
    });
  });

  it('takes the mic and camera first, then negotiates through the server (caller offers)', async () => {
    const { alice, bob } = await connected(2);
    expect(alice.media.captures[0]).toMatchObject({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
    });
    const aliceSession = alice.media.session;
    const bobSession = bob.media.session;
    await expect.poll(() => aliceSession.negotiated.has(bob.userID)).toBe(true);
    expect(bobSession.received.map((r) => Object.keys(r.data)[0])).toEqual([
      'description',
      'candidate',
    ]);
    expect(bobSession.received[0]).toMatchObject({
      from: alice.userID,
      data: { description: { type: 'offer' } },
    });
    expect(aliceSession.received[0]).toMatchObject({
      from: bob.userID,
      data: { description: { type: 'answer' } },
    });
    expect(aliceSession.peers.get(bob.userID)).toEqual({ initiator: true });
    expect(bobSession.peers.get(alice.userID)).toEqual({ initiator: false });
    expect(aliceSession.localTracks.video).not.toBeNull();
    expect(bobSession.localTracks.audio).not.toBeNull();
  });

  it('an audio call sends no video', async () => {
    const { alice, bob } = await connected(1);
    expect(alice.media.captures[0]).toEqual({ audio: true });
    expect(bob.media.captures[0]).toEqual({ audio: true });
    expect(await alice.events.next(E.USER_VIDEO_AVAILABLE)).toEqual({
      userID: bob.userID,
      isVideoAvailable: false,
    });
    expect(alice.media.session.localTracks.video).toBeNull();
  });

  it('the peer hanging up gives USER_LEAVE then CALL_END; self hangup gives CALL_END', async () => {
    const { alice, bob } = await connected(2);
    await bob.calling.hangup();
    expect(await bob.events.next(E.CALL_END)).toMatchObject({
      reason: 'hangup',
      userID: bob.userID,
      callEnd: expect.any(Number),
    });
    await alice.events.next(E.CALL_END);
    const names = alice.events.names;
    expect(names.indexOf(E.USER_LEAVE)).toBeLessThan(names.indexOf(E.CALL_END));
    expect(alice.events.all.find((e) => e.name === E.USER_LEAVE)!.payload).toEqual({
      userID: bob.userID,
    });
    expect(alice.events.all.find((e) => e.name === E.CALL_END)!.payload).toMatchObject({
      reason: 'hangup',
      callID: expect.any(String),
    });
    // Cameras and mics are released on both sides, sessions closed.
    expect(alice.media.liveTracks).toEqual([]);
    expect(bob.media.liveTracks).toEqual([]);
    expect(alice.media.session.closed).toBe(true);
    expect(bob.media.session.closed).toBe(true);
    // And both can take the next call at once.
    await bob.calling.call({ userID: alice.userID, type: 1 });
    await alice.events.next(E.INVITED);
    await bob.calling.hangup();
  });

  it('accepts the pre-1.0 accept({inviteID, roomID, callType}) and refuses a stale inviteID', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1 });
    const { inviteID, inviteData } = (await bob.events.next(E.INVITED)) as {
      inviteID: string;
      inviteData: { roomID: number; callType: 1 };
    };
    await expect(
      bob.calling.accept({ inviteID: 'stale', roomID: 1, callType: 1 }),
    ).rejects.toMatchObject({
      code: ServerErrorCode.INVITATION_NOT_FOUND,
    });
    await bob.calling.accept({
      inviteID,
      roomID: inviteData.roomID,
      callType: inviteData.callType,
    });
    expect(await alice.events.next(E.USER_ENTER)).toEqual({ userID: bob.userID });
  });
});

describe('a call that is not answered', () => {
  it('rejected: the caller gets REJECT and no CALL_END, and can call again at once', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await bob.calling.reject();
    expect(await alice.events.next(E.REJECT)).toEqual({ userID: bob.userID });
    expect(alice.media.liveTracks).toEqual([]);
    // The next invite's reply comes after every push of the first call, so it is a barrier.
    await alice.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    expect(alice.events.count(E.CALL_END)).toBe(0);
    expect(bob.events.count(E.CALL_END)).toBe(0);
    await alice.calling.hangup();
  });

  it('busy (invitee ringing from someone else): the caller gets LINE_BUSY', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    await carol.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    await alice.calling.call({ userID: bob.userID, type: 1 });
    expect(await alice.events.next(E.LINE_BUSY)).toEqual({
      sponsor: alice.userID,
      userID: bob.userID,
    });
    expect(bob.events.count(E.INVITED)).toBe(1);
    expect(alice.media.liveTracks).toEqual([]);
    await carol.calling.hangup();
  });

  it('busy before the camera opened: LINE_BUSY, and call() still resolves', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    await carol.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    const release = alice.media.hold();
    const calling = alice.calling.call({ userID: bob.userID, type: 2 });
    expect(await alice.events.next(E.LINE_BUSY)).toEqual({
      sponsor: alice.userID,
      userID: bob.userID,
    });
    release();
    await expect(calling).resolves.toMatchObject({ code: 0 });
    // The camera the prompt delivered after the call ended is stopped at once.
    await expect.poll(() => alice.media.tracks.length).toBe(2);
    expect(alice.media.liveTracks).toEqual([]);
    expect(alice.events.count(E.ERROR)).toBe(0);
    await carol.calling.hangup();
  });

  it('busy (invitee in a call): the caller gets LINE_BUSY', async () => {
    const { bob } = await connected(1);
    const carol = await user('carol');
    await carol.calling.call({ userID: bob.userID, type: 2 });
    expect(await carol.events.next(E.LINE_BUSY)).toEqual({
      sponsor: carol.userID,
      userID: bob.userID,
    });
  });

  it('pre-1.0 reject({inviteID, isBusy: true}) gives the caller LINE_BUSY', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1 });
    const { inviteID } = (await bob.events.next(E.INVITED)) as { inviteID: string };
    await bob.calling.reject({ inviteID, isBusy: true, callType: 1 });
    expect(await alice.events.next(E.LINE_BUSY)).toEqual({
      sponsor: alice.userID,
      userID: bob.userID,
    });
    expect(alice.events.count(E.REJECT)).toBe(0);
  });

  it('timeout (pre-1.0 call timeout): caller NO_RESP, callee CALLING_TIMEOUT', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1, timeout: 1 });
    const { inviteID } = (await bob.events.next(E.INVITED)) as { inviteID: string };
    expect(await alice.events.next(E.NO_RESP)).toEqual({
      sponsor: alice.userID,
      userID: bob.userID,
      userIDList: [bob.userID],
    });
    expect(await bob.events.next(E.CALLING_TIMEOUT)).toMatchObject({
      inviteID,
      sponsor: alice.userID,
      userIDList: [bob.userID],
    });
    // As trtc-calling-js: an unanswered 1:1 call then ends with CALL_END on both sides.
    for (const side of [alice, bob]) {
      expect(await side.events.next(E.CALL_END)).toMatchObject({
        reason: 'no_answer',
        userID: alice.userID,
        callEnd: 0,
      });
      const names = side.events.names;
      expect(names.lastIndexOf(E.CALL_END)).toBeGreaterThan(
        names.indexOf(side === alice ? E.NO_RESP : E.CALLING_TIMEOUT),
      );
    }
    expect(alice.media.liveTracks).toEqual([]);
    await expect(bob.calling.accept()).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_CALL_STATE,
    });
  });

  it('cancelled by the caller: callee gets CALLING_CANCEL, the caller no event', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    const { inviteID } = (await bob.events.next(E.INVITED)) as { inviteID: string };
    await alice.calling.hangup();
    expect(await bob.events.next(E.CALLING_CANCEL)).toEqual({
      inviteID,
      sponsor: alice.userID,
      userID: alice.userID,
      reason: 'cancelled',
    });
    expect(alice.events.names.filter((name) => name !== E.SDK_READY)).toEqual([]);
    expect(alice.media.liveTracks).toEqual([]);
  });

  it('answered on another device (server ring-all): CALLING_CANCEL with reason answered_elsewhere', async () => {
    const ringAll = await startTestServer({ multiDevice: 'ring-all' });
    try {
      const alice = await user('alice', {}, ringAll);
      const bobID = `bob_${++n}`;
      const bobPhone = await phone(ringAll, bobID);
      const bobLaptop = await phone(ringAll, bobID);
      phones.push(bobPhone, bobLaptop);
      await alice.calling.call({ userID: bobID, type: 1 });
      const { inviteID } = (await bobPhone.events.next(E.INVITED)) as { inviteID: string };
      await bobLaptop.events.next(E.INVITED);
      await bobLaptop.calling.accept();
      expect(await bobPhone.events.next(E.CALLING_CANCEL)).toEqual({
        inviteID,
        sponsor: alice.userID,
        userID: alice.userID,
        reason: 'answered_elsewhere',
      });
      await alice.events.next(E.USER_ENTER);
      expect(bobPhone.media.liveTracks).toEqual([]);
    } finally {
      await hangUpAll(phones);
      await ringAll.close();
    }
  });

  it('an invitation while in a call never reaches the busy user', async () => {
    const { alice, bob } = await connected(1);
    const carol = await user('carol');
    await carol.calling.call({ userID: alice.userID, type: 1 });
    await carol.events.next(E.LINE_BUSY);
    expect(alice.events.count(E.INVITED)).toBe(0);
    await bob.calling.hangup();
  });
});

describe('media during a call', () => {
  it('closeCamera / openCamera reach the peer as USER_VIDEO_AVAILABLE, without renegotiating', async () => {
    const { alice, bob } = await connected(2);
    const session = alice.media.session;
    const firstTrack = session.localTracks.video;
    await alice.calling.closeCamera();
    expect(
      await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === false),
    ).toEqual({
      userID: alice.userID,
      isVideoAvailable: false,
    });
    expect(session.localTracks.video).toBeNull();
    expect((firstTrack as unknown as { readyState: string }).readyState).toBe('ended');
    await alice.calling.openCamera();
    expect(
      await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === true),
    ).toEqual({
      userID: alice.userID,
      isVideoAvailable: true,
    });
    expect(session.localTracks.video).not.toBeNull();
    expect(session.localTracks.video).not.toBe(firstTrack);
    expect(alice.media.sessions).toHaveLength(1);
    expect(bob.media.session.received.filter((r) => r.data.description)).toHaveLength(1);
  });

  it('setMicMute reaches the peer as USER_AUDIO_AVAILABLE and disables the track', async () => {
    const { alice, bob } = await connected(1);
    const track = alice.media.session.localTracks.audio as unknown as { enabled: boolean };
    await alice.calling.setMicMute(true);
    expect(
      await bob.events.next(E.USER_AUDIO_AVAILABLE, (p) => p.isAudioAvailable === false),
    ).toEqual({
      userID: alice.userID,
      isAudioAvailable: false,
    });
    expect(track.enabled).toBe(false);
    await alice.calling.setMicMute(false);
    await bob.events.next(E.USER_AUDIO_AVAILABLE, (p) => p.isAudioAvailable === true);
    expect(track.enabled).toBe(true);
    await expect(alice.calling.setMicMute('yes' as unknown as boolean)).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
  });

  it('getLocalAudioTrack() is the microphone sent in the call (disabled while muted), null after', async () => {
    const { alice } = await connected(1);
    const sent = alice.media.session.localTracks.audio;
    expect(sent).not.toBeNull();
    expect(alice.calling.getLocalAudioTrack()).toBe(sent);
    await alice.calling.setMicMute(true);
    expect(alice.calling.getLocalAudioTrack()).toMatchObject({ enabled: false });
    await alice.calling.hangup();
    expect(alice.calling.getLocalAudioTrack()).toBeNull();
  });

  it('NETWORK_QUALITY: the session’s levels as {localQuality, remoteQuality} while connected', async () => {
    const { alice, bob } = await connected(1);
    // The fake session measures nothing (no media flows): Unknown until it is given levels.
    const first = await alice.events.next(E.NETWORK_QUALITY);
    expect(first).toEqual({
      localQuality: { userID: alice.userID, quality: 0 },
      remoteQuality: [{ userID: bob.userID, quality: 0 }],
    });
    alice.media.session.quality = { local: 2, remote: { [bob.userID]: 4 } };
    expect(
      // The next reading after the change (none was under way: readings are 2 s apart).
      await alice.events.next(E.NETWORK_QUALITY),
    ).toEqual({
      localQuality: { userID: alice.userID, quality: 2 },
      remoteQuality: [{ userID: bob.userID, quality: 4 }],
    });
    // Ended: the session is no longer read, and no report follows CALL_END (see the real-media
    // test for a watch over several intervals).
    await alice.calling.hangup();
    const reads = alice.media.session.qualityReads;
    const reports = alice.events.count(E.NETWORK_QUALITY);
    await bob.events.next(E.CALL_END);
    expect(alice.media.session.qualityReads).toBe(reads);
    expect(alice.events.count(E.NETWORK_QUALITY)).toBe(reports);
  });

  it('switchToAudioCall: the peer gets CALL_TYPE_CHANGED and turns its camera off too', async () => {
    const { alice, bob } = await connected(2);
    await alice.calling.switchToAudioCall();
    expect(await bob.events.next(E.CALL_TYPE_CHANGED)).toEqual({
      userID: alice.userID,
      callType: 1,
    });
    expect(await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => !p.isVideoAvailable)).toEqual({
      userID: alice.userID,
      isVideoAvailable: false,
    });
    // Bob followed: his camera is off, which Alice sees.
    expect(await alice.events.next(E.USER_VIDEO_AVAILABLE, (p) => !p.isVideoAvailable)).toEqual({
      userID: bob.userID,
      isVideoAvailable: false,
    });
    expect(bob.media.session.localTracks.video).toBeNull();
    expect(alice.media.session.localTracks.video).toBeNull();

    await bob.calling.switchToVideoCall();
    expect(await alice.events.next(E.CALL_TYPE_CHANGED)).toEqual({
      userID: bob.userID,
      callType: 2,
    });
    await alice.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === true);
    await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === true);
    expect(alice.media.session.localTracks.video).not.toBeNull();
    expect(bob.media.session.localTracks.video).not.toBeNull();
  });

  it('switching outside a connected call fails with 60001 / 60002 through ERROR and the promise', async () => {
    const alice = await user('alice');
    await expect(alice.calling.switchToAudioCall()).rejects.toMatchObject({ code: 60001 });
    expect(await alice.events.next(E.ERROR)).toMatchObject({ code: 60001 });
    await expect(alice.calling.switchToVideoCall()).rejects.toMatchObject({ code: 60002 });
    expect(await alice.events.next(E.ERROR)).toMatchObject({ code: 60002 });
  });

  it('switchToVideoCall without a camera fails with 60002 and the call stays audio', async () => {
    const { alice, bob } = await connected(1);
    alice.media.failures.video = 'NotFoundError';
    await expect(alice.calling.switchToVideoCall()).rejects.toMatchObject({
      code: 60002,
      message: expect.stringContaining('no available camera'),
    });
    // The peer heard of no switch: the next event it gets is the mute below.
    await alice.calling.setMicMute(true);
    await bob.events.next(E.USER_AUDIO_AVAILABLE, (p) => p.isAudioAvailable === false);
    expect(bob.events.count(E.CALL_TYPE_CHANGED)).toBe(0);
  });

  it('setVideoQuality before a call sets the capture size and the encoder bitrate', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.setVideoQuality('720p');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    expect(alice.media.captures[0]).toMatchObject({
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    await bob.events.next(E.INVITED);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    expect(alice.media.session.maxVideoBitrate).toBe(1_500_000);
    await alice.calling.setVideoQuality('1080p');
    expect(alice.media.session.maxVideoBitrate).toBe(2_500_000);
    expect(
      (alice.media.session.localTracks.video as unknown as { constraints: unknown }).constraints,
    ).toMatchObject({
      width: { ideal: 1920 },
      height: { ideal: 1080 },
    });
    await expect(alice.calling.setVideoQuality('4k' as '720p')).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
  });

  it('getCameras / getMicrophones list devices; switchDevice replaces the live track', async () => {
    const { alice } = await connected(2);
    expect(await alice.calling.getCameras()).toEqual([
      { deviceId: 'cam-1', groupId: 'g1', kind: 'videoinput', label: 'Fake camera 1' },
      { deviceId: 'cam-2', groupId: 'g2', kind: 'videoinput', label: 'Fake camera 2' },
    ]);
    expect(await alice.calling.getMicrophones()).toEqual([
      { deviceId: 'mic-1', groupId: 'g1', kind: 'audioinput', label: 'Fake microphone' },
    ]);
    const before = alice.media.session.localTracks.video as unknown as { readyState: string };
    await alice.calling.switchDevice({ deviceType: 'video', deviceId: 'cam-2' });
    expect(alice.media.captures.at(-1)).toMatchObject({ video: { deviceId: { exact: 'cam-2' } } });
    expect(alice.media.session.localTracks.video).not.toBe(before);
    expect(before.readyState).toBe('ended');
    await expect(
      alice.calling.switchDevice({ deviceType: 'screen' as 'video', deviceId: 'x' }),
    ).rejects.toMatchObject({ code: ServerErrorCode.INVALID_FIELD });
  });
});

describe('operations that cross', () => {
  it('call() rings the callee while the camera is still opening; it resolves once both are done', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const release = alice.media.hold();
    let resolved = false;
    const calling = alice.calling.call({ userID: bob.userID, type: 2 }).then((r) => {
      resolved = true;
      return r;
    });
    // The permission prompt is still open, and Bob's phone rings already.
    await bob.events.next(E.INVITED);
    expect(alice.media.captures).toHaveLength(1);
    expect(alice.media.liveTracks).toEqual([]);
    expect(resolved).toBe(false);
    release();
    await expect(calling).resolves.toMatchObject({ code: 0 });
    expect(alice.media.liveTracks).toHaveLength(2);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    await alice.calling.hangup();
  });

  it('hangup() while call() waits for the permission prompt: the invitation is cancelled, the camera released', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const release = alice.media.hold();
    const calling = alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await alice.calling.hangup();
    // Resolved as trtc-calling-js resolves a call() hung up before it was answered.
    await expect(calling).resolves.toMatchObject({ code: 0 });
    await bob.events.next(E.CALLING_CANCEL);
    release();
    // The tracks the prompt delivered too late are stopped at once.
    await expect.poll(() => alice.media.tracks.length).toBe(2);
    expect(alice.media.liveTracks).toEqual([]);
    expect(alice.events.count(E.ERROR)).toBe(0);
    // Nothing rings any more: the next invitation Bob gets is a new one.
    await alice.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    expect(bob.events.count(E.INVITED)).toBe(2);
    await alice.calling.hangup();
  });

  it('reject() while accept() waits for the permission prompt: the caller gets REJECT', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    const release = bob.media.hold();
    const accepting = bob.calling.accept();
    await expect.poll(() => bob.media.captures.length).toBe(1);
    await bob.calling.reject();
    await expect(accepting).resolves.toMatchObject({ code: 0, roomID: 0 });
    expect(await alice.events.next(E.REJECT)).toEqual({ userID: bob.userID });
    release();
    await expect.poll(() => bob.media.tracks.length).toBe(2);
    expect(bob.media.liveTracks).toEqual([]);
    expect(alice.events.count(E.USER_ENTER)).toBe(0);
  });

  it('the caller cancels while accept() waits for the prompt: CALLING_CANCEL, accept fails coded', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    const release = bob.media.hold();
    const accepting = expect(bob.calling.accept()).rejects.toMatchObject({
      code: ServerErrorCode.INVITATION_NOT_FOUND,
    });
    await expect.poll(() => bob.media.captures.length).toBe(1);
    await alice.calling.hangup();
    await bob.events.next(E.CALLING_CANCEL);
    await accepting;
    release();
    await expect.poll(() => bob.media.tracks.length).toBe(1);
    expect(bob.media.liveTracks).toEqual([]);
  });
});

describe('media failures', () => {
  it('no microphone: call() rejects with 60003 and the invitation it sent is cancelled', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    alice.media.failures.audio = 'NotFoundError';
    await expect(alice.calling.call({ userID: bob.userID, type: 2 })).rejects.toMatchObject({
      code: 60003,
    });
    expect(await alice.events.next(E.ERROR)).toMatchObject({ code: 60003 });
    await bob.events.next(E.CALLING_CANCEL);
    alice.media.failures = {};
    await alice.calling.call({ userID: bob.userID, type: 1 });
    await bob.events.next(E.INVITED);
    expect(bob.events.count(E.INVITED)).toBe(2);
    await alice.calling.hangup();
  });

  it('no camera: accept() of a video call rejects with 60004, the invitation keeps ringing', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    bob.media.failures.video = 'NotFoundError';
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await expect(bob.calling.accept()).rejects.toMatchObject({ code: 60004 });
    expect(await bob.events.next(E.ERROR)).toMatchObject({ code: 60004 });
    await bob.calling.reject();
    expect(await alice.events.next(E.REJECT)).toEqual({ userID: bob.userID });
  });

  it('permission denied: 60005', async () => {
    const alice = await user('alice');
    alice.media.failures.audio = 'NotAllowedError';
    await expect(alice.calling.call({ userID: 'whoever', type: 1 })).rejects.toMatchObject({
      code: 60005,
    });
  });

  it('no getUserMedia (insecure page): call() rejects with 60006', async () => {
    const alice = await user('alice');
    alice.media.missing.capture = true;
    await expect(alice.calling.call({ userID: 'whoever', type: 1 })).rejects.toMatchObject({
      code: 60006,
    });
    expect(await alice.events.next(E.ERROR)).toMatchObject({ code: 60006 });
  });
});

describe('bad input', () => {
  it('call() checks its arguments', async () => {
    const alice = await user('alice');
    await expect(alice.calling.call({ userID: 'bad id', type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_USER_ID,
    });
    await expect(alice.calling.call({ userID: 'bob', type: 3 as 1 })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
    await expect(alice.calling.call({ userID: 'bob', type: 1, timeout: -1 })).rejects.toMatchObject(
      {
        code: ServerErrorCode.INVALID_FIELD,
      },
    );
    await expect(alice.calling.call({ userID: alice.userID, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.CANNOT_CALL_SELF,
    });
    expect(alice.media.captures).toEqual([]);
  });

  it('accept / reject with nothing ringing fail with INVALID_CALL_STATE', async () => {
    const alice = await user('alice');
    await expect(alice.calling.accept()).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_CALL_STATE,
    });
    await expect(alice.calling.reject()).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_CALL_STATE,
    });
    // As trtc-calling-js: nothing to cancel resolves {code: 0, msg: 'ok'}.
    await expect(alice.calling.hangup()).resolves.toEqual({ code: 0, msg: 'ok' });
  });

  it('a second call while dialing fails with ALREADY_IN_CALL', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await alice.calling.call({ userID: bob.userID, type: 1 });
    await expect(alice.calling.call({ userID: bob.userID, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.ALREADY_IN_CALL,
    });
    await alice.calling.hangup();
  });

  it('groupCall into a group that does not exist: GROUP_NOT_FOUND through ERROR and the promise', async () => {
    const alice = await user('alice');
    await expect(
      alice.calling.groupCall({ userIDList: ['a1', 'b1'], type: 2, groupID: 'nosuchgroup' }),
    ).rejects.toMatchObject({ code: ServerErrorCode.GROUP_NOT_FOUND });
    expect(await alice.events.next(E.ERROR)).toMatchObject({
      code: ServerErrorCode.GROUP_NOT_FOUND,
      message: expect.stringContaining('nosuchgroup'),
    });
    expect(alice.media.liveTracks).toEqual([]);
  });

  it('views need a page: startRemoteView in Node rejects with 60006', async () => {
    const alice = await user('alice');
    await expect(
      alice.calling.startRemoteView({ userID: 'bob', videoViewDomID: 'remote' }),
    ).rejects.toMatchObject({ code: 60006 });
  });
});

describe('session trouble', () => {
  it('a second login of the same user elsewhere: KICKED_OUT, and the call ends', async () => {
    const { alice, bob } = await connected(1);
    const again = await phone(ts, alice.userID);
    phones.push(again);
    expect(await alice.events.next(E.KICKED_OUT)).toEqual({ reason: 'duplicate_login' });
    expect(alice.events.names.slice(-2)).toEqual([E.CALL_END, E.KICKED_OUT]);
    expect(alice.media.liveTracks).toEqual([]);
    // The server took Alice out of the call.
    await bob.events.next(E.USER_LEAVE);
    await bob.events.next(E.CALL_END);
  });

  it('a dropped connection resumes and the call goes on', async () => {
    const { alice, bob } = await connected(2);
    alice.network.cut();
    await alice.calling.closeCamera();
    expect(
      await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === false),
    ).toEqual({
      userID: alice.userID,
      isVideoAvailable: false,
    });
    expect(alice.network.sockets.length).toBeGreaterThan(1);
    expect(alice.events.count(E.CALL_END)).toBe(0);
    // A push sent while Alice is away is replayed to her.
    alice.network.blocked = true;
    alice.network.cut();
    await bob.calling.setMicMute(true);
    alice.network.blocked = false;
    expect(await alice.events.next(E.USER_AUDIO_AVAILABLE, (p) => !p.isAudioAvailable)).toEqual({
      userID: bob.userID,
      isAudioAvailable: false,
    });
  });

  it('media that stops makes the SDK check its socket: a dead one is replaced at once, the media negotiates again, the call goes on', async () => {
    const { alice, bob } = await connected(2);
    const session = alice.media.session;
    // The engine tells the session what the peer sends, and keeps it up to date.
    expect(session.remoteMedia.get(bob.userID)).toEqual({ audio: true, video: true });
    await bob.calling.setMicMute(true);
    await alice.events.next(E.USER_AUDIO_AVAILABLE, (p) => !p.isAudioAvailable);
    expect(session.remoteMedia.get(bob.userID)).toMatchObject({ audio: false });
    // Alice's address changed: what she sends on her socket goes nowhere, and nothing says so.
    const dead = alice.network.current;
    alice.network.drop = () => alice.network.current === dead;
    session.events.emit(SessionEvent.MediaStalled, bob.userID);
    await vi.waitFor(() => expect(session.resyncs).toBe(1), { timeout: 5_000 });
    expect(alice.network.current).not.toBe(dead);
    expect(alice.events.count(E.CALL_END)).toBe(0);
    // The new socket works: a media state change reaches Bob.
    await alice.calling.closeCamera();
    await bob.events.next(E.USER_VIDEO_AVAILABLE, (p) => p.isVideoAvailable === false);
  });

  it('a session the server could not keep (resumed: false) ends the call with CALL_END', async () => {
    const strict = await startTestServer({ resumeWindow: 0 });
    try {
      const { alice, bob } = await connected(1, strict);
      alice.network.cut();
      expect(await alice.events.next(E.CALL_END)).toMatchObject({ reason: 'disconnected' });
      expect(alice.media.liveTracks).toEqual([]);
      await bob.events.next(E.USER_LEAVE);
      await bob.events.next(E.CALL_END);
      // Alice's fresh session works: she can be called again.
      await bob.calling.call({ userID: alice.userID, type: 1 });
      await alice.events.next(E.INVITED);
      await bob.calling.hangup();
    } finally {
      await hangUpAll(phones);
      await strict.close();
    }
  });
});
