import { describe, expect, test } from 'vitest';
import {
  AUDIO,
  EVENT,
  VIDEO,
  connect,
  expectEveryoneDecodes,
  ring,
  showEachOther,
  useRingline,
} from './harness/index.js';

const ringline = useRingline();

describe('INVITED', () => {
  test('the callee gets sponsor, inviteID, inviteData {callType, roomID}, userIDList, isFromGroup', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');

    const invited = await ring(alice, bob, { type: VIDEO });

    const p = invited.payload;
    expect(p.sponsor).toBe(alice.userID);
    expect(typeof p.inviteID).toBe('string');
    expect(p.inviteID.length).toBeGreaterThan(0);
    expect(p.inviteData.callType).toBe(VIDEO);
    expect(Number.isInteger(p.inviteData.roomID)).toBe(true);
    expect(p.inviteData.roomID).toBeGreaterThan(0);
    expect(p.userIDList).toContain(bob.userID);
    expect(p.isFromGroup).toBe(false);
  });

  test('an audio call arrives with inviteData.callType 1, and each call has its own inviteID', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');

    const first = await ring(alice, bob, { type: AUDIO });
    expect(first.payload.inviteData.callType).toBe(AUDIO);
    const rejected = await alice.mark();
    await bob.sdk.reject();
    await alice.waitForEvent(EVENT.REJECT, undefined, { after: rejected });

    const second = await ring(alice, bob, { type: AUDIO });
    expect(second.payload.inviteID).not.toBe(first.payload.inviteID);
  });
});

describe('an invitation to someone who is offline', () => {
  test('rings on: the callee logging in while it rings gets INVITED, accepts, and both see each other', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob', { login: false });
    const [aliceMark, bobMark] = await Promise.all([alice.mark(), bob.mark()]);
    await alice.sdk.call({ userID: bob.userID, type: VIDEO, timeout: 60 });

    await bob.login();
    const invited = await bob.waitForEvent(EVENT.INVITED, undefined, { after: bobMark });
    expect(invited.payload).toMatchObject({ sponsor: alice.userID, isFromGroup: false });
    expect(invited.payload.inviteData.callType).toBe(VIDEO);

    await bob.sdk.accept();
    await Promise.all([
      alice.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === bob.userID, { after: aliceMark }),
      bob.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === alice.userID, { after: bobMark }),
    ]);
    await showEachOther(alice, bob);
    await expectEveryoneDecodes([alice, bob]);
  });
});

describe('REJECT', () => {
  test('the caller gets REJECT {userID} of the callee, and both can take the next call', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await ring(alice, bob);

    const after = await alice.mark();
    await bob.sdk.reject();
    const reject = await alice.waitForEvent(EVENT.REJECT, undefined, { after });
    expect(reject.payload).toMatchObject({ userID: bob.userID });

    // Neither side is left in a call: the next call rings and connects.
    await connect(alice, bob);
  });
});

describe('LINE_BUSY', () => {
  test('a third user calling someone who is in a call gets LINE_BUSY {userID}', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await connect(alice, bob);

    const after = await carol.mark();
    await carol.sdk.call({ userID: bob.userID, type: VIDEO });
    const busy = await carol.waitForEvent(EVENT.LINE_BUSY, undefined, { after });
    expect(busy.payload).toMatchObject({ userID: bob.userID });

    // The call in progress is untouched: bob never saw carol's invitation, and carol is free again.
    expect(await bob.events(EVENT.INVITED)).toHaveLength(1);
    await connect(carol, await ringline.user('dave'));
  });

  test('calling someone whose phone is already ringing is also LINE_BUSY', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    await ring(alice, bob);

    const after = await carol.mark();
    await carol.sdk.call({ userID: bob.userID, type: AUDIO });
    const busy = await carol.waitForEvent(EVENT.LINE_BUSY, undefined, { after });
    expect(busy.payload).toMatchObject({ userID: bob.userID });
  });
});

describe('NO_RESP and CALLING_TIMEOUT', () => {
  test('an unanswered call with the pre-1.0 timeout: 2 gives the caller NO_RESP and the callee CALLING_TIMEOUT', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const [aliceMark, bobMark] = [await alice.mark(), await bob.mark()];
    const started = Date.now();
    await ring(alice, bob, { timeout: 2 });

    const [noResp] = await Promise.all([
      alice.waitForEvent(EVENT.NO_RESP, undefined, { after: aliceMark, timeoutMs: 10_000 }),
      bob.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, { after: bobMark, timeoutMs: 10_000 }),
    ]);
    // The server's timer, not the default 30 s, ended it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(noResp.payload).toMatchObject({ userID: bob.userID });
    expect(noResp.payload.userIDList).toEqual([bob.userID]);
    // As in trtc-calling-js, the unanswered call then ends with CALL_END on both sides.
    await alice.waitForEvent(EVENT.CALL_END, undefined, { after: aliceMark });
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after: bobMark });

    // Both are free again.
    await connect(bob, alice);
  });
});

describe('CALLING_CANCEL', () => {
  test('the callee gets CALLING_CANCEL when the caller hangs up while it rings', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await ring(alice, bob);

    const after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALLING_CANCEL, undefined, { after });

    // Both are free again: the next call rings and connects.
    await connect(alice, bob);
  });
});
