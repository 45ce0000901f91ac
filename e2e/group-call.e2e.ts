import { ServerErrorCode } from '@ringline/protocol';
import { describe, expect, test } from 'vitest';
import {
  EVENT,
  SdkCallError,
  VIDEO,
  connect,
  connectGroup,
  connections,
  enteredAll,
  mediaBytes,
  expectEveryoneDecodes,
  groupRing,
  pollUntil,
  showAll,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

// Group calls through the server's Janus SFU (`--janus auto`, ICE on the namespace's veth).
const ringline = useRingline({ sfu: true });

/** The userIDs of `users`, sorted, for comparing with an event's userIDList. */
const ids = (...users: TestUser[]) => users.map((u) => u.userID).sort();

describe('a 3-person video group call', () => {
  test('every page decodes frames from both others', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const invited = await connectGroup(alice, [bob, carol], { type: VIDEO });
    for (const e of invited) {
      expect(e.payload.inviteData.callType).toBe(VIDEO);
      expect([...e.payload.userIDList].sort()).toEqual(ids(bob, carol));
    }

    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);
    // And frames keep coming: a second window on every page.
    await expectEveryoneDecodes([alice, bob, carol], { by: 20 });
    for (const u of [alice, bob, carol]) {
      expect(await u.events(EVENT.ERROR), `${u.name}'s ERROR events`).toEqual([]);
    }
  });

  test('a member who hangs up leaves; the other two get USER_LEAVE and keep decoding each other', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await connectGroup(alice, [bob, carol]);
    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);

    const [a, b] = await Promise.all([alice.mark(), bob.mark()]);
    await carol.sdk.hangup();
    for (const [u, after] of [
      [alice, a],
      [bob, b],
    ] as const) {
      await u.waitForEvent(EVENT.USER_LEAVE, (p) => p.userID === carol.userID, { after });
    }
    await expectEveryoneDecodes([alice, bob], { by: 20 });
    expect(await alice.events(EVENT.CALL_END)).toEqual([]);
    expect(await bob.events(EVENT.CALL_END)).toEqual([]);

    // Down to one member: the call ends for the last one.
    const last = await alice.mark();
    await bob.sdk.hangup();
    await alice.waitForEvent(EVENT.CALL_END, undefined, { after: last });
  });

  test('camera and microphone availability reach every other member', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await connectGroup(alice, [bob, carol]);

    let marks = await Promise.all([alice.mark(), carol.mark()]);
    await bob.sdk.closeCamera();
    await Promise.all(
      [alice, carol].map((u, i) =>
        u.waitForEvent(
          EVENT.USER_VIDEO_AVAILABLE,
          (p) => p.userID === bob.userID && p.isVideoAvailable === false,
          { after: marks[i] },
        ),
      ),
    );
    marks = await Promise.all([alice.mark(), carol.mark()]);
    await bob.sdk.openCamera();
    await Promise.all(
      [alice, carol].map((u, i) =>
        u.waitForEvent(
          EVENT.USER_VIDEO_AVAILABLE,
          (p) => p.userID === bob.userID && p.isVideoAvailable === true,
          { after: marks[i] },
        ),
      ),
    );
    marks = await Promise.all([alice.mark(), carol.mark()]);
    await bob.sdk.setMicMute(true);
    await Promise.all(
      [alice, carol].map((u, i) =>
        u.waitForEvent(
          EVENT.USER_AUDIO_AVAILABLE,
          (p) => p.userID === bob.userID && p.isAudioAvailable === false,
          { after: marks[i] },
        ),
      ),
    );
    // Bob's camera is back on: the others decode his video again.
    await showAll([alice, bob, carol]);
    await Promise.all([
      alice.expectFramesRising(bob.userID, { timeoutMs: 20_000 }),
      carol.expectFramesRising(bob.userID, { timeoutMs: 20_000 }),
    ]);
  });
});

describe('a group call by groupID', () => {
  test('invitees see isFromGroup true, and the members see each other', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const groupID = await ringline.group([alice, bob, carol]);

    const invited = await connectGroup(alice, [bob, carol], { groupID });
    for (const e of invited) {
      expect(e.payload.isFromGroup).toBe(true);
      expect(e.payload.sponsor).toBe(alice.userID);
    }
    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);
  });

  test('calling into a group with a non-member fails with NOT_GROUP_MEMBER', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const mallory = await ringline.user('mallory');
    const groupID = await ringline.group([alice, bob]);

    const error = await alice.sdk
      .groupCall({ userIDList: [bob.userID, mallory.userID], type: VIDEO, groupID })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SdkCallError);
    expect((error as SdkCallError).code).toBe(ServerErrorCode.NOT_GROUP_MEMBER);
    expect(await bob.events(EVENT.INVITED)).toEqual([]);
  });
});

describe('invitees answering differently', () => {
  test('one accepts, one rejects, one is busy, one times out: the right events on every page', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const dave = await ringline.user('dave');
    const erin = await ringline.user('erin');
    const frank = await ringline.user('frank');
    // Dave is already in a call: he is busy for Alice's.
    await connect(dave, frank);

    const [aliceMark, bobMark0, carolMark, erinMark] = await Promise.all(
      [alice, bob, carol, erin].map((u) => u.mark()),
    );
    await alice.sdk.groupCall({
      userIDList: [bob.userID, carol.userID, dave.userID, erin.userID],
      type: VIDEO,
      timeout: 6,
    });
    // Dave is busy: the caller gets LINE_BUSY and Dave never rings; the others do.
    await alice.waitForEvent(EVENT.LINE_BUSY, (p) => p.userID === dave.userID, {
      after: aliceMark,
    });
    await Promise.all(
      [bob, carol, erin].map((u, i) =>
        u.waitForEvent(EVENT.INVITED, (p) => p.sponsor === alice.userID, {
          after: [bobMark0, carolMark, erinMark][i],
        }),
      ),
    );
    expect(
      (await dave.events(EVENT.INVITED)).filter((e) => e.payload.sponsor === alice.userID),
    ).toEqual([]);

    const bobMark = await bob.mark();
    await bob.sdk.accept();
    await enteredAll(alice, [bob], aliceMark);
    await carol.sdk.reject();

    // Carol's REJECT reaches the caller and the member already in the call.
    for (const [u, after] of [
      [alice, aliceMark],
      [bob, bobMark],
    ] as const) {
      await u.waitForEvent(EVENT.REJECT, (p) => p.userID === carol.userID, { after });
    }
    // Erin does not answer: NO_RESP for everyone in the call, CALLING_TIMEOUT for Erin.
    for (const [u, after] of [
      [alice, aliceMark],
      [bob, bobMark],
    ] as const) {
      const noResp = await u.waitForEvent(EVENT.NO_RESP, (p) => p.userID === erin.userID, {
        after,
        timeoutMs: 15_000,
      });
      expect(noResp.payload.userIDList).toContain(erin.userID);
    }
    await erin.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, { after: erinMark });

    // The invitee list shrank step by step down to nobody ringing.
    const updates = await alice.events(EVENT.GROUP_CALL_INVITEE_LIST_UPDATE);
    expect(updates.length).toBeGreaterThan(0);
    const lists = updates.map((u) => [...u.payload.userIDList].sort());
    expect(lists).toContainEqual([]);
    expect(lists.some((l) => l.includes(erin.userID))).toBe(true);
    const bobUpdates = await bob.events(EVENT.GROUP_CALL_INVITEE_LIST_UPDATE);
    expect(bobUpdates.map((u) => u.payload.userIDList)).toContainEqual([]);

    // Alice and Bob are still in the call, with media.
    expect(await alice.events(EVENT.CALL_END)).toEqual([]);
    await showAll([alice, bob]);
    await expectEveryoneDecodes([alice, bob]);
    // Dave's own call was never touched.
    expect(await dave.events(EVENT.CALL_END)).toEqual([]);
  });

  test('when every invitee declines, the caller gets CALL_END', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const after = await alice.mark();
    await groupRing(alice, [bob, carol]);
    await bob.sdk.reject();
    await alice.waitForEvent(EVENT.REJECT, (p) => p.userID === bob.userID, { after });
    expect(await alice.events(EVENT.CALL_END)).toEqual([]);
    await carol.sdk.reject();
    await alice.waitForEvent(EVENT.CALL_END, undefined, { after });
  });
});

describe('growing a call', () => {
  test('inviteUser brings a fourth member into a running group call, seen and seeing everyone', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const dave = await ringline.user('dave');
    await connectGroup(alice, [bob, carol]);
    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);

    const marks = await Promise.all([alice, bob, carol].map((u) => u.mark()));
    const daveMark = await dave.mark();
    await alice.sdk.inviteUser({ userIDList: [dave.userID] });
    const invited = await dave.waitForEvent(EVENT.INVITED, undefined, { after: daveMark });
    expect(invited.payload.sponsor).toBe(alice.userID);
    // Everyone in the call hears that Dave is ringing.
    await Promise.all(
      [alice, bob, carol].map((u, i) =>
        u.waitForEvent(
          EVENT.GROUP_CALL_INVITEE_LIST_UPDATE,
          (p) => p.userIDList.includes(dave.userID),
          { after: marks[i] },
        ),
      ),
    );
    await dave.sdk.accept();
    await Promise.all([alice, bob, carol].map((u, i) => enteredAll(u, [dave], marks[i])));
    await enteredAll(dave, [alice, bob, carol], daveMark);

    await showAll([alice, bob, carol, dave]);
    await expectEveryoneDecodes([alice, bob, carol, dave]);
  });

  test('a one-to-one call that gains a third person becomes a group call, media keeps flowing', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await connect(alice, bob);
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    const marks = await Promise.all([alice.mark(), bob.mark(), carol.mark()]);
    await alice.sdk.inviteUser({ userIDList: [carol.userID] });
    await carol.waitForEvent(EVENT.INVITED, undefined, { after: marks[2] });
    await carol.sdk.accept();
    await enteredAll(alice, [carol], marks[0]);
    await enteredAll(bob, [carol], marks[1]);
    await enteredAll(carol, [alice, bob], marks[2]);

    // Alice and Bob keep their views of each other; frames arrive after the move to the SFU.
    await Promise.all([
      alice.expectFramesRising(bob.userID, { by: 20, timeoutMs: 20_000 }),
      bob.expectFramesRising(alice.userID, { by: 20, timeoutMs: 20_000 }),
    ]);
    await Promise.all([
      alice.showRemote(carol.userID),
      bob.showRemote(carol.userID),
      carol.showRemote(alice.userID),
      carol.showRemote(bob.userID),
    ]);
    await expectEveryoneDecodes([alice, bob, carol]);
    // Nobody saw the call end on the way.
    for (const u of [alice, bob, carol]) expect(await u.events(EVENT.CALL_END)).toEqual([]);
  });

  test('a group member joins the ongoing call with joinInGroupCall and decodes everyone', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const groupID = await ringline.group([alice, bob, carol]);
    await connectGroup(alice, [bob], { groupID });

    const marks = await Promise.all([alice.mark(), bob.mark(), carol.mark()]);
    await carol.sdk.joinInGroupCall({ groupID, type: VIDEO });
    await enteredAll(alice, [carol], marks[0]);
    await enteredAll(bob, [carol], marks[1]);
    await enteredAll(carol, [alice, bob], marks[2]);
    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);
  });

  test('joinInGroupCall by a non-member is refused with NOT_GROUP_MEMBER, and nobody sees them', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const mallory = await ringline.user('mallory');
    const groupID = await ringline.group([alice, bob]);
    await connectGroup(alice, [bob], { groupID });

    const error = await mallory.sdk.joinInGroupCall({ groupID, type: VIDEO }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SdkCallError);
    expect((error as SdkCallError).code).toBe(ServerErrorCode.NOT_GROUP_MEMBER);
    await alice.sdk.setMicMute(true); // a round trip through the server after the refusal
    await bob.waitForEvent(EVENT.USER_AUDIO_AVAILABLE, (p) => p.userID === alice.userID);
    for (const u of [alice, bob]) {
      expect(
        (await u.events(EVENT.USER_ENTER)).filter((e) => e.payload.userID === mallory.userID),
      ).toEqual([]);
    }
  });
});

describe('pre-connect', () => {
  test('a ringing invitee is connected to the SFU with no media either way; Accept: everyone decodes, on those connections', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol', { sdkOptions: { preconnect: true } });
    const [aliceMark, bobMark] = await Promise.all([alice.mark(), bob.mark()]);
    await groupRing(alice, [bob, carol]);
    await bob.sdk.accept();
    await enteredAll(alice, [bob], aliceMark);
    await enteredAll(bob, [alice], bobMark);
    // carol's publisher (no track) and subscriber (alice's and bob's streams, not sent yet).
    await pollUntil(
      'carol pre-connected to the SFU',
      () => connections(carol),
      (c) =>
        c.states.length === 2 &&
        c.states.every((s) => s === 'connected') &&
        c.dtls.filter((s) => s === 'connected').length === 2,
    );
    // Media flows between alice and bob meanwhile; none to or from carol.
    await showEachOther(alice, bob);
    await bob.expectFramesRising(alice.userID, { by: 20 });
    expect(await mediaBytes(carol), "carol's media bytes before Accept").toEqual({
      sent: 0,
      received: 0,
    });
    expect(await alice.events(EVENT.USER_ENTER)).not.toContainEqual(
      expect.objectContaining({ payload: expect.objectContaining({ userID: carol.userID }) }),
    );

    const carolMark = await carol.mark();
    await carol.sdk.accept();
    await enteredAll(carol, [alice, bob], carolMark);
    await showAll([alice, bob, carol]);
    await expectEveryoneDecodes([alice, bob, carol]);
    const after = await connections(carol);
    expect(after.made, 'carol made two peer connections in all').toBe(2);
    expect(after.states).toEqual(['connected', 'connected']);
    for (const u of [alice, bob, carol]) {
      expect(await u.events(EVENT.ERROR), `${u.name}'s ERROR events`).toEqual([]);
    }
  });
});

describe('simulcast', () => {
  test('a small remote view receives a lower resolution than a large one', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await Promise.all(
      [alice, carol].map((u) => u.page.setViewportSize({ width: 1300, height: 700 })),
    );
    await connectGroup(alice, [bob, carol]);
    // Alice shows Bob large (layer 2 at ≥ 540 px high), Carol shows him small (layer 0).
    await alice.showRemote(bob.userID, 960, 540);
    await carol.showRemote(bob.userID, 160, 90);
    await Promise.all([alice.expectFramesRising(bob.userID), carol.expectFramesRising(bob.userID)]);
    // Layers follow bandwidth estimation and the SDK's debounce: poll until they settle apart.
    const widths = await pollUntil(
      'large view wider than small view',
      async () => ({
        large: (await alice.videoInfo(bob.userID))?.width ?? 0,
        small: (await carol.videoInfo(bob.userID))?.width ?? 0,
      }),
      (w) => w.small > 0 && w.large > w.small,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(widths.large).toBeGreaterThan(widths.small);
  });
});
