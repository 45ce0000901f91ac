import { describe, expect, test } from 'vitest';
import {
  EVENT,
  REMOTE_VIEW,
  VIDEO,
  connect,
  pollUntil,
  showEachOther,
  useRingline,
} from './harness/index.js';

const ringline = useRingline();

describe('a video call that is accepted', () => {
  test('both sides decode rising frames of each other in their remote views', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);

    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
    // And they keep coming: a second window of frames on both sides.
    const [a, b] = await Promise.all([
      alice.expectFramesRising(bob.userID, { by: 20 }),
      bob.expectFramesRising(alice.userID, { by: 20 }),
    ]);
    expect(a.after).toBeGreaterThan(a.before);
    expect(b.after).toBeGreaterThan(b.before);

    for (const [viewer, shown] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const info = await viewer.videoInfo(shown.userID);
      expect(info, `${viewer.name} shows ${shown.name}`).toMatchObject({ hasStream: true });
      expect(info!.width).toBeGreaterThan(0);
      expect(info!.height).toBeGreaterThan(0);
      expect(await viewer.videosIn(REMOTE_VIEW)).toBe(1);
      expect(await viewer.events(EVENT.ERROR), `${viewer.name}'s ERROR events`).toEqual([]);
    }
  });

  test('USER_ENTER fires on both sides, each naming the other user', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob);

    const [aliceSaw] = await alice.events(EVENT.USER_ENTER);
    const [bobSaw] = await bob.events(EVENT.USER_ENTER);
    expect(aliceSaw?.payload).toMatchObject({ userID: bob.userID });
    expect(bobSaw?.payload).toMatchObject({ userID: alice.userID });
  });
});

describe('ending a connected call', () => {
  test('when the peer hangs up, the other side gets USER_LEAVE then CALL_END, and media stops', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob);
    await showEachOther(alice, bob);
    await alice.expectFramesRising(bob.userID);

    const after = await alice.mark();
    await bob.sdk.hangup();
    const leave = await alice.waitForEvent(EVENT.USER_LEAVE, undefined, { after });
    const end = await alice.waitForEvent(EVENT.CALL_END, undefined, { after });
    expect(leave.payload).toMatchObject({ userID: bob.userID });
    expect(end.index).toBeGreaterThan(leave.index);

    // Both pages close their peer connections (no event says when, so poll briefly).
    for (const user of [alice, bob]) {
      await pollUntil(
        `${user.name} closed every peer connection`,
        () => user.rtpStats('inbound-rtp', 'video'),
        (s) => s.connections === 0,
        { timeoutMs: 5_000 },
      );
    }
  });

  test('after a call ended, the same two users can call again and see each other', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob);
    const after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after });

    await connect(bob, alice);
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
  });
});
