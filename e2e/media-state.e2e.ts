import { describe, expect, test } from 'vitest';
import {
  AUDIO,
  EVENT,
  LOCAL_VIEW,
  REMOTE_VIEW,
  VIDEO,
  connect,
  pollUntil,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

const ringline = useRingline();

/** Waits for `viewer` to see `subject`'s camera (isVideoAvailable) become `available`. */
function videoAvailable(viewer: TestUser, subject: TestUser, available: boolean, after: number) {
  return viewer.waitForEvent(
    EVENT.USER_VIDEO_AVAILABLE,
    (p) => p.userID === subject.userID && p.isVideoAvailable === available,
    { after },
  );
}

/**
 * Waits until `user`'s page hears more sound from its peer: inbound audio packets and bytes rise
 * and so does their energy (totalAudioEnergy grows only for sound, not for the silence a muted
 * track still sends; Chromium's fake microphone beeps).
 */
async function expectSoundRising(user: TestUser) {
  const before = await user.rtpStats('inbound-rtp', 'audio');
  const after = await pollUntil(
    `${user.name} hears the peer`,
    () => user.rtpStats('inbound-rtp', 'audio'),
    (s) =>
      s.packets > before.packets + 25 &&
      s.bytes > before.bytes &&
      s.audioEnergy > before.audioEnergy + 0.05,
  );
  return { before, after };
}

describe('USER_VIDEO_AVAILABLE', () => {
  test('the peer sees the camera go off and on again, and frames decode again afterwards', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await bob.expectFramesRising(alice.userID);

    let after = await bob.mark();
    await alice.sdk.closeCamera();
    const off = await videoAvailable(bob, alice, false, after);
    expect(off.payload).toEqual({ userID: alice.userID, isVideoAvailable: false });
    // alice sends no live camera track any more…
    expect(
      (await alice.sentTracks()).filter(
        (t) => t.kind === 'video' && t.readyState === 'live' && t.enabled,
      ),
    ).toEqual([]);
    // …and bob's view of her stands still: while bob's own preview shows 30 new frames, her count
    // does not move (the first 10 preview frames let frames already in flight land).
    await bob.sdk.startLocalView({ userID: bob.userID, videoViewDomID: LOCAL_VIEW });
    await bob.expectFramesRising(bob.userID, { by: 10 });
    const frozen = await bob.framesDecoded(alice.userID);
    await bob.expectFramesRising(bob.userID, { by: 30 });
    expect(await bob.framesDecoded(alice.userID)).toBe(frozen);

    after = await bob.mark();
    await alice.sdk.openCamera();
    const on = await videoAvailable(bob, alice, true, after);
    expect(on.payload).toEqual({ userID: alice.userID, isVideoAvailable: true });
    await bob.expectFramesRising(alice.userID, { by: 20 });
  });
});

describe('USER_AUDIO_AVAILABLE', () => {
  test('the peer sees the mic muted and unmuted', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob);

    let after = await alice.mark();
    await bob.sdk.setMicMute(true);
    const muted = await alice.waitForEvent(
      EVENT.USER_AUDIO_AVAILABLE,
      (p) => p.userID === bob.userID && p.isAudioAvailable === false,
      { after },
    );
    expect(muted.payload).toEqual({ userID: bob.userID, isAudioAvailable: false });
    // While muted alice hears silence: over 30 frames of bob's video (the first 10 let sound
    // already in flight land) the energy of what she receives does not grow.
    await alice.sdk.startRemoteView({ userID: bob.userID, videoViewDomID: REMOTE_VIEW });
    await alice.expectFramesRising(bob.userID, { by: 10 });
    const silent = await alice.rtpStats('inbound-rtp', 'audio');
    await alice.expectFramesRising(bob.userID, { by: 30 });
    const stillSilent = await alice.rtpStats('inbound-rtp', 'audio');
    expect(stillSilent.audioEnergy - silent.audioEnergy).toBeLessThan(1e-3);

    after = await alice.mark();
    await bob.sdk.setMicMute(false);
    const unmuted = await alice.waitForEvent(
      EVENT.USER_AUDIO_AVAILABLE,
      (p) => p.userID === bob.userID && p.isAudioAvailable === true,
      { after },
    );
    expect(unmuted.payload).toEqual({ userID: bob.userID, isAudioAvailable: true });
    await expectSoundRising(alice);
  });
});

describe('a mic muted in one call', () => {
  test('is on again in the next call: the peer is told so and hears it (as trtc-calling-js)', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: AUDIO });
    let after = await bob.mark();
    await alice.sdk.setMicMute(true);
    await bob.waitForEvent(
      EVENT.USER_AUDIO_AVAILABLE,
      (p) => p.userID === alice.userID && p.isAudioAvailable === false,
      { after },
    );
    after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after });

    // Call 2: alice's UI shows an unmuted mic (a new call); bob must see and hear the same.
    after = await bob.mark();
    await connect(alice, bob, { type: AUDIO });
    const told = await bob.waitForEvent(
      EVENT.USER_AUDIO_AVAILABLE,
      (p) => p.userID === alice.userID,
      { after },
    );
    expect(told.payload).toEqual({ userID: alice.userID, isAudioAvailable: true });
    await expectSoundRising(bob);
    const sending = (await alice.sentTracks()).filter((t) => t.kind === 'audio');
    expect(sending.map((t) => [t.readyState, t.enabled])).toEqual([['live', true]]);
  });
});

describe('an audio call (type 1)', () => {
  test('connects with sound arriving on both sides and no video', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: AUDIO });

    const [a, b] = await Promise.all([expectSoundRising(alice), expectSoundRising(bob)]);
    // Over the same stretch in which audio arrived, no video did.
    for (const [user, audio] of [
      [alice, a],
      [bob, b],
    ] as const) {
      expect(audio.after.bytes).toBeGreaterThan(audio.before.bytes);
      const video = await user.rtpStats('inbound-rtp', 'video');
      expect(video.framesDecoded, `${user.name} decoded video`).toBe(0);
      const sending = (await user.sentTracks()).filter((t) => t.readyState === 'live');
      expect(sending.map((t) => t.kind)).toEqual(['audio']);
    }
  });
});

describe('switching a call between video and audio', () => {
  test('video → audio → video: the peer follows both ways, and frames decode again at the end', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    // To audio: alice switches, bob follows by closing his camera too.
    let [aliceMark, bobMark] = [await alice.mark(), await bob.mark()];
    await alice.sdk.switchToAudioCall();
    await Promise.all([
      videoAvailable(bob, alice, false, bobMark),
      videoAvailable(alice, bob, false, aliceMark),
    ]);
    for (const user of [alice, bob]) {
      await pollUntil(
        `${user.name} stopped sending video`,
        () => user.sentTracks(),
        (tracks) => !tracks.some((t) => t.kind === 'video' && t.readyState === 'live' && t.enabled),
        { timeoutMs: 5_000 },
      );
    }
    await Promise.all([expectSoundRising(alice), expectSoundRising(bob)]);

    // Back to video: both cameras come back and frames flow again both ways.
    [aliceMark, bobMark] = [await alice.mark(), await bob.mark()];
    await alice.sdk.switchToVideoCall();
    await Promise.all([
      videoAvailable(bob, alice, true, bobMark),
      videoAvailable(alice, bob, true, aliceMark),
    ]);
    await Promise.all([
      alice.expectFramesRising(bob.userID, { by: 20 }),
      bob.expectFramesRising(alice.userID, { by: 20 }),
    ]);
    expect([...(await alice.events(EVENT.ERROR)), ...(await bob.events(EVENT.ERROR))]).toEqual([]);
  });
});
