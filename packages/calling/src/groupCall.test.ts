/**
 * Group calls through the SDK against the real server with a real Janus (started by the server in
 * auto mode, ICE only on the test's interface) and the real groups store. Media is the fake backend:
 * its SFU sessions send made-up SDP, so these tests are about signalling — who hears what, when
 * a call ends, which session carries the media; real frames are the e2e tests' job.
 */
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import TRTCCalling from './TRTCCalling.js';
import { hangUpAll, phone, type Phone } from './test-support/phone.test-support.js';
import {
  makeGroup,
  startTestServer,
  startTestServerWithSfu,
  type TestServer,
} from './test-support/server.test-support.js';

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
  await hangUpAll(phones);
});

async function user(name: string, server = ts): Promise<Phone> {
  const p = await phone(server, `${name}_${++n}`);
  phones.push(p);
  return p;
}

async function users<N extends string[]>(...names: N): Promise<{ [K in keyof N]: Phone }> {
  return Promise.all(names.map((name) => user(name))) as Promise<{ [K in keyof N]: Phone }>;
}

/** alice calls the others as a group (video); resolves once every invitation rings. */
async function ring(alice: Phone, invitees: Phone[], options: { timeout?: number } = {}) {
  await alice.calling.groupCall({
    userIDList: invitees.map((p) => p.userID),
    type: 2,
    ...options,
  });
  return Promise.all(invitees.map((p) => p.events.next(E.INVITED)));
}

/** alice calls the others and every one accepts; everybody has seen everybody enter. */
async function inCall(alice: Phone, others: Phone[]): Promise<void> {
  await ring(alice, others);
  for (const p of others) await p.calling.accept();
  const everyone = [alice, ...others];
  for (const p of everyone) {
    for (const q of everyone) {
      if (q !== p) await p.events.next(E.USER_ENTER, (e) => e.userID === q.userID);
    }
  }
}

describe('groupCall', () => {
  it('every invitee gets INVITED with the whole list; the call goes through the SFU', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const invited = await ring(alice, [bob, carol]);
    for (const event of invited) {
      expect(event).toEqual({
        sponsor: alice.userID,
        userIDList: [bob.userID, carol.userID],
        isFromGroup: true, // two or more invitees, as trtc-calling-js 1.0.6
        inviteData: { version: 4, callType: 2, callEnd: 0, roomID: expect.any(Number) },
        inviteID: expect.any(String),
      });
    }
    // The caller publishes to the SFU while it rings; nobody else has a session yet.
    expect(alice.media.session.media).toBe('sfu');
    expect(alice.media.session.started).toBe(1);
    expect(bob.media.sessions).toHaveLength(0);
    await alice.calling.hangup();
    await bob.events.next(E.CALLING_CANCEL);
    await carol.events.next(E.CALLING_CANCEL);
  });

  it('members enter one by one; each sees the others and their media state', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await inCall(alice, [bob, carol]);
    for (const p of [alice, bob, carol]) {
      expect(p.media.session.media).toBe('sfu');
      for (const q of [alice, bob, carol]) {
        if (q === p) continue;
        expect(await p.events.next(E.USER_VIDEO_AVAILABLE, (e) => e.userID === q.userID)).toEqual({
          userID: q.userID,
          isVideoAvailable: true,
        });
      }
    }
    expect(alice.events.count(E.CALL_END)).toBe(0);
  });

  it('one rejects, one is busy, one times out: every member hears of each; the call goes on', async () => {
    const [alice, bob, carol, dave, erin, busyWith] = await users(
      'alice',
      'bob',
      'carol',
      'dave',
      'erin',
      'frank',
    );
    // Dave is busy: ringing from someone else.
    await busyWith.calling.call({ userID: dave.userID, type: 1 });
    await dave.events.next(E.INVITED);

    await alice.calling.groupCall({
      userIDList: [bob.userID, carol.userID, dave.userID, erin.userID],
      type: 2,
      timeout: 2,
    });
    expect(await alice.events.next(E.LINE_BUSY)).toEqual({
      sponsor: alice.userID,
      userID: dave.userID,
    });
    await bob.events.next(E.INVITED);
    await carol.events.next(E.INVITED);
    const erinInvite = await erin.events.next(E.INVITED);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER, (e) => e.userID === bob.userID);

    await carol.calling.reject();
    for (const member of [alice, bob]) {
      expect(await member.events.next(E.REJECT)).toEqual({ userID: carol.userID });
    }
    // Erin says nothing: the invitation times out.
    for (const member of [alice, bob]) {
      expect(await member.events.next(E.NO_RESP)).toEqual({
        sponsor: alice.userID,
        userID: erin.userID,
        userIDList: [erin.userID],
      });
    }
    expect(await erin.events.next(E.CALLING_TIMEOUT)).toMatchObject({
      inviteID: erinInvite.inviteID,
      sponsor: alice.userID,
    });
    // The members were told each time the ringing list shrank, down to nobody.
    await alice.events.next(
      E.GROUP_CALL_INVITEE_LIST_UPDATE,
      (e) => Array.isArray(e.userIDList) && e.userIDList.length === 0,
    );
    await bob.events.next(
      E.GROUP_CALL_INVITEE_LIST_UPDATE,
      (e) => Array.isArray(e.userIDList) && e.userIDList.length === 0,
    );
    // Alice and Bob are still in the call: a mute reaches Bob.
    await alice.calling.setMicMute(true);
    await bob.events.next(E.USER_AUDIO_AVAILABLE, (e) => e.isAudioAvailable === false);
    expect(alice.events.count(E.CALL_END)).toBe(0);
    expect(bob.events.count(E.CALL_END)).toBe(0);
    await busyWith.calling.hangup();
  }, 15_000);

  it('everybody declines: the caller gets each REJECT, then CALL_END', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await ring(alice, [bob, carol]);
    await bob.calling.reject();
    await carol.calling.reject();
    expect(await alice.events.next(E.REJECT)).toEqual({ userID: bob.userID });
    expect(await alice.events.next(E.REJECT)).toEqual({ userID: carol.userID });
    expect(await alice.events.next(E.CALL_END)).toMatchObject({ reason: 'no_answer', callEnd: 0 });
    expect(alice.media.liveTracks).toEqual([]);
    expect(alice.media.session.closed).toBe(true);
  });

  it('a member hangs up and the rest continue; the last two ending leaves nobody in the call', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await inCall(alice, [bob, carol]);
    await carol.calling.hangup();
    expect(await carol.events.next(E.CALL_END)).toMatchObject({ reason: 'hangup' });
    for (const p of [alice, bob]) {
      expect(await p.events.next(E.USER_LEAVE)).toEqual({ userID: carol.userID });
    }
    await bob.calling.closeCamera();
    await alice.events.next(E.USER_VIDEO_AVAILABLE, (e) => e.isVideoAvailable === false);
    expect(alice.events.count(E.CALL_END)).toBe(0);
    // Fewer than two remain: the call ends for Alice.
    await bob.calling.hangup();
    await alice.events.next(E.USER_LEAVE, (e) => e.userID === bob.userID);
    expect(await alice.events.next(E.CALL_END)).toMatchObject({ reason: 'hangup' });
    expect(alice.media.liveTracks).toEqual([]);
  });

  it('a member whose connection to the SFU fails reports 60120 and leaves; the others see USER_LEAVE and go on', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await inCall(alice, [bob, carol]);
    carol.media.sessions.at(-1)!.fail('sfu:subscriber', 'not back within 20000 ms of the loss');
    expect(await carol.events.next(E.ERROR)).toMatchObject({
      code: SdkErrorCode.MEDIA_CONNECT_FAILED,
    });
    await carol.events.next(E.CALL_END);
    for (const p of [alice, bob]) {
      expect(await p.events.next(E.USER_LEAVE)).toEqual({ userID: carol.userID });
    }
    // The others' connections are fine: no error there, and their call goes on.
    await bob.calling.closeCamera();
    await alice.events.next(
      E.USER_VIDEO_AVAILABLE,
      (e) => e.userID === bob.userID && e.isVideoAvailable === false,
    );
    expect([alice.events.count(E.ERROR), alice.events.count(E.CALL_END)]).toEqual([0, 0]);
    expect(bob.events.count(E.ERROR)).toBe(0);
  });

  it('switchToAudioCall switches the whole group call; everyone turns the camera off', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await inCall(alice, [bob, carol]);
    await alice.calling.switchToAudioCall();
    for (const p of [bob, carol]) {
      expect(await p.events.next(E.CALL_TYPE_CHANGED)).toEqual({
        userID: alice.userID,
        callType: 1,
      });
      await expect.poll(() => p.media.session.localTracks.video).toBeNull();
    }
    expect(alice.media.session.localTracks.video).toBeNull();
    await alice.events.next(
      E.USER_VIDEO_AVAILABLE,
      (e) => e.userID === carol.userID && e.isVideoAvailable === false,
    );
  });

  it('without an SFU it fails with SFU_UNAVAILABLE saying how to enable one', async () => {
    const bare = await startTestServer();
    try {
      const alice = await phone(bare, `alice_${++n}`);
      phones.push(alice);
      const failure = alice.calling.groupCall({ userIDList: ['bob_x', 'carol_x'], type: 2 });
      await expect(failure).rejects.toMatchObject({
        code: ServerErrorCode.SFU_UNAVAILABLE,
        message: expect.stringContaining('janus'),
      });
      expect(await alice.events.next(E.ERROR)).toMatchObject({
        code: ServerErrorCode.SFU_UNAVAILABLE,
      });
      expect(alice.media.liveTracks).toEqual([]);
    } finally {
      await hangUpAll(phones);
      await bare.close();
    }
  });

  it('more than a call may hold: CALL_FULL', async () => {
    const alice = await user('alice');
    const list = Array.from({ length: 16 }, (_, i) => `crowd_${n}_${i}`);
    await expect(alice.calling.groupCall({ userIDList: list, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.CALL_FULL,
    });
    expect(await alice.events.next(E.ERROR)).toMatchObject({ code: ServerErrorCode.CALL_FULL });
  });

  it('checks its arguments before anything is sent', async () => {
    const alice = await user('alice');
    const cases: [unknown, number][] = [
      [undefined, ServerErrorCode.INVALID_FIELD],
      [{ userIDList: [], type: 2 }, ServerErrorCode.INVALID_FIELD],
      [{ userIDList: ['ok', 'not ok'], type: 2 }, ServerErrorCode.INVALID_USER_ID],
      [{ userIDList: ['ok'], type: 5 }, ServerErrorCode.INVALID_FIELD],
      [{ userIDList: ['ok'], type: 1, groupID: 42 }, ServerErrorCode.INVALID_FIELD],
      [{ userIDList: [alice.userID, 'ok'], type: 1 }, ServerErrorCode.CANNOT_CALL_SELF],
    ];
    for (const [params, code] of cases) {
      await expect(
        alice.calling.groupCall(params as Parameters<TRTCCalling['groupCall']>[0]),
      ).rejects.toMatchObject({ code });
    }
    expect(alice.media.captures).toEqual([]);
  });
});

describe('groupCall with groupID', () => {
  it('invitees see isFromGroup and the group; the call works as any group call', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const groupID = `team_${n}`;
    await makeGroup(ts, groupID, [alice.userID, bob.userID, carol.userID]);
    await alice.calling.groupCall({ userIDList: [bob.userID, carol.userID], type: 1, groupID });
    for (const p of [bob, carol]) {
      expect(await p.events.next(E.INVITED)).toMatchObject({
        sponsor: alice.userID,
        isFromGroup: true,
        groupID,
        inviteData: { callType: 1 },
      });
    }
    await bob.calling.accept();
    expect(await alice.events.next(E.USER_ENTER)).toEqual({ userID: bob.userID });
  });

  it('an invitee who is not a member: NOT_GROUP_MEMBER, nobody rings', async () => {
    const [alice, bob, outsider] = await users('alice', 'bob', 'outsider');
    const groupID = `team_${n}`;
    await makeGroup(ts, groupID, [alice.userID, bob.userID]);
    await expect(
      alice.calling.groupCall({ userIDList: [bob.userID, outsider.userID], type: 2, groupID }),
    ).rejects.toMatchObject({ code: ServerErrorCode.NOT_GROUP_MEMBER });
    expect(await alice.events.next(E.ERROR)).toMatchObject({
      code: ServerErrorCode.NOT_GROUP_MEMBER,
    });
    expect(alice.media.liveTracks).toEqual([]);
    // Bob was never invited: the next invitation he gets is the first.
    await alice.calling.groupCall({ userIDList: [bob.userID], type: 1, groupID });
    await bob.events.next(E.INVITED);
    expect(bob.events.count(E.INVITED)).toBe(1);
  });
});

describe('joinInGroupCall', () => {
  it("a member joins the group's call in progress; everyone sees them enter", async () => {
    const [alice, bob, dave] = await users('alice', 'bob', 'dave');
    const groupID = `team_${n}`;
    await makeGroup(ts, groupID, [alice.userID, bob.userID, dave.userID]);
    await alice.calling.groupCall({ userIDList: [bob.userID], type: 2, groupID });
    await bob.events.next(E.INVITED);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);

    await dave.calling.joinInGroupCall({ groupID, type: 2 });
    for (const p of [alice, bob]) {
      expect(await p.events.next(E.USER_ENTER, (e) => e.userID === dave.userID)).toEqual({
        userID: dave.userID,
      });
    }
    await dave.events.next(E.USER_ENTER, (e) => e.userID === alice.userID);
    await dave.events.next(E.USER_ENTER, (e) => e.userID === bob.userID);
    expect(dave.media.session.media).toBe('sfu');
    expect(dave.media.session.started).toBe(1);
    // Dave is a full member: his hangup reaches the others, who stay.
    await dave.calling.hangup();
    await alice.events.next(E.USER_LEAVE, (e) => e.userID === dave.userID);
    expect(alice.events.count(E.CALL_END)).toBe(0);
  });

  it('a non-member is refused with NOT_GROUP_MEMBER; no call gives CALL_NOT_FOUND', async () => {
    const [alice, bob, outsider] = await users('alice', 'bob', 'outsider');
    const groupID = `team_${n}`;
    await makeGroup(ts, groupID, [alice.userID, bob.userID]);
    await expect(bob.calling.joinInGroupCall({ groupID, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.CALL_NOT_FOUND,
    });
    expect(bob.media.liveTracks).toEqual([]);
    await alice.calling.groupCall({ userIDList: [bob.userID], type: 1, groupID });
    await bob.events.next(E.INVITED);
    await expect(outsider.calling.joinInGroupCall({ groupID, type: 1 })).rejects.toMatchObject({
      code: ServerErrorCode.NOT_GROUP_MEMBER,
    });
    expect(await outsider.events.next(E.ERROR)).toMatchObject({
      code: ServerErrorCode.NOT_GROUP_MEMBER,
    });
    expect(outsider.media.liveTracks).toEqual([]);
    expect(alice.events.count(E.USER_ENTER)).toBe(0);
  });
});

describe('inviteUser', () => {
  it('a 1:1 call that gains a third person moves to the SFU without anyone redialling', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);
    await bob.events.next(E.USER_ENTER);
    const [aliceP2P, bobP2P] = [alice.media.session, bob.media.session];
    expect(aliceP2P.media).toBe('p2p');

    await alice.calling.inviteUser({ userIDList: [carol.userID] });
    expect(await carol.events.next(E.INVITED)).toMatchObject({
      sponsor: alice.userID,
      userIDList: [carol.userID],
    });
    // Both moved: the direct connection closed, an SFU session sends the same local tracks.
    for (const [p, old] of [
      [alice, aliceP2P],
      [bob, bobP2P],
    ] as const) {
      await expect.poll(() => p.media.session.media).toBe('sfu');
      expect(old.closed).toBe(true);
      expect(p.media.session.localTracks.video).toBe(old.localTracks.video);
      expect(p.media.session.started).toBe(1);
    }
    await carol.calling.accept();
    for (const p of [alice, bob]) {
      expect(await p.events.next(E.USER_ENTER, (e) => e.userID === carol.userID)).toEqual({
        userID: carol.userID,
      });
    }
    expect(carol.media.session.media).toBe('sfu');
    // Nothing but the newcomer was announced: no one left, no call ended.
    for (const p of [alice, bob]) {
      expect(p.events.count(E.USER_LEAVE)).toBe(0);
      expect(p.events.count(E.CALL_END)).toBe(0);
    }
  });

  it('into a group call: the invitee gets INVITED; members see the invitee list grow', async () => {
    const [alice, bob, carol, dave] = await users('alice', 'bob', 'carol', 'dave');
    await inCall(alice, [bob, carol]);
    await bob.calling.inviteUser({ userIDList: [dave.userID] });
    expect(await dave.events.next(E.INVITED)).toMatchObject({ sponsor: bob.userID });
    for (const p of [alice, bob, carol]) {
      await p.events.next(
        E.GROUP_CALL_INVITEE_LIST_UPDATE,
        (e) => JSON.stringify(e.userIDList) === JSON.stringify([dave.userID]),
      );
    }
    await dave.calling.reject();
    for (const p of [alice, bob, carol]) {
      expect(await p.events.next(E.REJECT)).toEqual({ userID: dave.userID });
    }
  });

  it('outside a call it fails with INVALID_CALL_STATE', async () => {
    const alice = await user('alice');
    await expect(alice.calling.inviteUser({ userIDList: ['someone'] })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_CALL_STATE,
    });
    await expect(alice.calling.inviteUser({ userIDList: [] })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
  });
});
