/**
 * getCallHistory / getMissedCalls / markMissedCallsSeen against the real server: the SDK reads
 * the logged-in user's own history over HTTP with their userSig; coded errors before login,
 * for bad arguments, when the server refuses and when it cannot be reached.
 */
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import { describe, expect, it } from 'vitest';
import TRTCCalling from '../TRTCCalling.js';
import { hangUpAll, phone, usePhones, type Phone } from '../test-support/phone.test-support.js';
import { startTestServer } from '../test-support/server.test-support.js';

const E = TRTCCalling.EVENT;
const { server, user } = usePhones();

/** alice calls bob and hangs up while it rings: a missed call for bob. */
async function missedCall(alice: Phone, bob: Phone): Promise<void> {
  await alice.calling.call({ userID: bob.userID, type: 1 });
  await bob.events.next(E.INVITED);
  await alice.calling.hangup();
  await bob.events.next(E.CALLING_CANCEL);
}

describe('the call history through the SDK', () => {
  it('getCallHistory() lists the user’s own calls with their outcome, page by page', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missedCall(alice, bob);
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await bob.calling.reject();
    await alice.events.next(E.REJECT);

    // The server writes its history a moment behind the calls.
    await expect
      .poll(async () => (await bob.calling.getCallHistory()).calls.map((c) => c.outcome))
      .toEqual(['rejected', 'cancelled']);
    const first = await bob.calling.getCallHistory({ limit: 1 });
    expect(first.calls[0]).toMatchObject({
      sponsor: alice.userID,
      callType: 2,
      role: 'invitee',
      outcome: 'rejected',
      missed: false,
    });
    expect(first.next).toEqual(expect.any(String));
    const second = await bob.calling.getCallHistory({ limit: 1, cursor: first.next! });
    expect(second.calls[0]).toMatchObject({ outcome: 'cancelled', missed: true, seen: false });
    expect(second.next).toBeUndefined();
    // alice sees the same calls from her side, and none of them is missed for her.
    const mine = await alice.calling.getCallHistory();
    expect(mine.calls.map((c) => [c.role, c.missed])).toEqual([
      ['inviter', false],
      ['inviter', false],
    ]);
  });

  it('getMissedCalls() counts unread missed calls; markMissedCallsSeen() clears them', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missedCall(alice, bob);
    await missedCall(alice, bob);
    await expect.poll(async () => (await bob.calling.getMissedCalls()).unread).toBe(2);
    const missed = await bob.calling.getMissedCalls();
    expect(missed.calls).toHaveLength(2);
    expect(await bob.calling.markMissedCallsSeen({ callIDs: [missed.calls[0]!.callID] })).toEqual({
      marked: 1,
      unread: 1,
    });
    expect(await bob.calling.markMissedCallsSeen()).toEqual({ marked: 1, unread: 0 });
    expect((await bob.calling.getMissedCalls()).calls.every((c) => c.seen)).toBe(true);
    expect((await alice.calling.getMissedCalls()).unread).toBe(0);
  });

  it('a call answered on another of the user’s devices (ring-all) is answered elsewhere, not missed', async () => {
    const ringAll = await startTestServer({ multiDevice: 'ring-all' });
    const phones: Phone[] = [];
    try {
      const alice = await phone(ringAll, 'alice_ra');
      const bobPhone = await phone(ringAll, 'bob_ra');
      const bobLaptop = await phone(ringAll, 'bob_ra');
      phones.push(alice, bobPhone, bobLaptop);
      await alice.calling.call({ userID: 'bob_ra', type: 1 });
      await bobPhone.events.next(E.INVITED);
      await bobLaptop.events.next(E.INVITED);
      await bobLaptop.calling.accept();
      await bobPhone.events.next(E.CALLING_CANCEL);
      await alice.events.next(E.USER_ENTER);
      await alice.calling.hangup();
      await bobLaptop.events.next(E.CALL_END);
      // Each device passes its own ID: the one that answered sees it answered, the other not.
      await expect
        .poll(async () => (await bobPhone.calling.getCallHistory()).calls.map((c) => c.outcome))
        .toEqual(['answered_elsewhere']);
      expect((await bobLaptop.calling.getCallHistory()).calls[0]).toMatchObject({
        outcome: 'answered',
        missed: false,
      });
      const missed = await bobPhone.calling.getMissedCalls();
      expect(missed).toEqual({ unread: 0, calls: [] });
    } finally {
      await hangUpAll(phones);
      await ringAll.close();
    }
  });

  it('rejects NOT_LOGGED_IN before login and after logout, and reports ERROR', async () => {
    const carol = await user('carol', { login: false });
    const err = await carol.calling.getCallHistory().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ServerErrorCode.NOT_LOGGED_IN, codeName: 'NOT_LOGGED_IN' });
    expect((await carol.events.next(E.ERROR)).code).toBe(ServerErrorCode.NOT_LOGGED_IN);
    await carol.calling.login({ userID: carol.userID, userSig: server().sig(carol.userID) });
    await carol.events.next(E.SDK_READY);
    expect((await carol.calling.getMissedCalls()).unread).toBe(0);
    await carol.calling.logout();
    await expect(carol.calling.getMissedCalls()).rejects.toMatchObject({
      code: ServerErrorCode.NOT_LOGGED_IN,
    });
  });

  it('refuses bad arguments before asking, and carries the server’s refusal through', async () => {
    const dave = await user('dave');
    await expect(dave.calling.getCallHistory({ limit: 0 })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
    await expect(
      dave.calling.markMissedCallsSeen({ callIDs: Array(101).fill('c') }),
    ).rejects.toMatchObject({ code: ServerErrorCode.INVALID_FIELD });
    await expect(dave.calling.getCallHistory({ cursor: 'forged' })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_CURSOR,
      codeName: 'INVALID_CURSOR',
    });
  });

  it('rejects SIGNAL_DISCONNECTED when the history cannot be fetched', async () => {
    const erin = await user('erin');
    const down = new TRTCCalling(
      { SDKAppID: server().server.sdkAppID, server: server().server.url },
      {
        media: erin.media,
        WebSocket: erin.network.WebSocket as never,
        fetch: async () => {
          throw new TypeError('fetch failed');
        },
      },
    );
    try {
      await down.login({ userID: erin.userID + 'x', userSig: server().sig(erin.userID + 'x') });
      await expect(down.getCallHistory()).rejects.toMatchObject({
        code: SdkErrorCode.SIGNAL_DISCONNECTED,
      });
    } finally {
      await down.logout();
    }
  });
});
