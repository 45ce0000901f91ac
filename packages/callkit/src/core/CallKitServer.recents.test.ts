/**
 * The kit's recent calls against the real server: the list loads the user's history, marks
 * missed calls and counts the unread ones, refreshes itself when a call ends, marks them seen,
 * and calls back with one call of the same type to the same peer.
 */
import { ServerErrorCode } from '@ringline/protocol';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../../calling/src/test-support/server.test-support.js';
import { outcomeText, STRINGS } from '../i18n/index.js';
import { testKit, useKits, type TestKit } from './testKit.test-support.js';
import { CallMediaType, STATUS } from './types.js';

const { user } = useKits();

/** alice calls bob (audio) and cancels while it rings: a missed call for bob. */
async function missed(alice: TestKit, bob: TestKit): Promise<void> {
  await alice.kit.call({ userID: bob.userID, type: CallMediaType.AUDIO });
  await bob.status(STATUS.BE_INVITED);
  await alice.kit.hangup();
  await bob.status(STATUS.IDLE);
}

describe('recent calls in the kit', () => {
  it('loads the history with missed calls marked and the unread count', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missed(alice, bob);
    await bob.kit.refreshRecentCalls();
    expect(bob.kit.state.recents).toMatchObject({ unread: 1, loading: false });
    expect(bob.kit.state.recents.calls).toEqual([
      expect.objectContaining({
        peer: alice.userID,
        isGroup: false,
        mediaType: CallMediaType.AUDIO,
        direction: 'incoming',
        outcome: 'cancelled',
        missed: true,
        seen: false,
        durationMs: 0,
      }),
    ]);
    await alice.kit.refreshRecentCalls();
    expect(alice.kit.state.recents.calls[0]).toMatchObject({
      peer: bob.userID,
      direction: 'outgoing',
      missed: false,
    });
    expect(alice.kit.state.recents.unread).toBe(0);
  });

  it('refreshes by itself when a call ends, once the list is shown', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await bob.kit.refreshRecentCalls();
    expect(bob.kit.state.recents.calls).toEqual([]);
    await missed(alice, bob);
    await bob.until((s) => s.recents.calls.length === 1, 'the missed call in the list');
    expect(bob.kit.state.recents.unread).toBe(1);
  });

  it('markMissedCallsSeen() clears the unread count and marks the rows seen', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missed(alice, bob);
    await missed(alice, bob);
    await bob.kit.refreshRecentCalls();
    expect(bob.kit.state.recents.unread).toBe(2);
    await bob.kit.markMissedCallsSeen();
    expect(bob.kit.state.recents.unread).toBe(0);
    expect(bob.kit.state.recents.calls.every((c) => c.missed && c.seen)).toBe(true);
    await bob.kit.refreshRecentCalls();
    expect(bob.kit.state.recents.unread).toBe(0);
  });

  it('calls back with one click: the same media type, to the same peer', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missed(alice, bob);
    await bob.kit.refreshRecentCalls();
    const [call] = bob.kit.state.recents.calls;
    await bob.kit.callBack(call!.callID);
    await alice.status(STATUS.BE_INVITED);
    expect(alice.kit.state).toMatchObject({
      peerUserID: bob.userID,
      mediaType: CallMediaType.AUDIO,
    });
    expect(bob.kit.state.status).toBe(STATUS.DIALING_C2C);
    await bob.kit.hangup();
  });

  it('pages with loadMoreRecentCalls() until the history is exhausted', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    // Past one page of the list (20), so a second page exists.
    for (let i = 0; i < 21; i++) await missed(alice, bob);
    await bob.kit.refreshRecentCalls();
    expect(bob.kit.state.recents.calls).toHaveLength(20);
    expect(bob.kit.state.recents.next).toEqual(expect.any(String));
    await bob.kit.loadMoreRecentCalls();
    expect(bob.kit.state.recents.calls).toHaveLength(21);
    expect(new Set(bob.kit.state.recents.calls.map((c) => c.callID)).size).toBe(21);
    expect(bob.kit.state.recents.next).toBeUndefined();
    await bob.kit.loadMoreRecentCalls(); // nothing left: a no-op
    expect(bob.kit.state.recents.calls).toHaveLength(21);
  });

  it('a call answered on another of my devices (ring-all) says so there, and is not missed', async () => {
    const ringAll = await startTestServer({ multiDevice: 'ring-all' });
    const kits: TestKit[] = [];
    try {
      const alice = await testKit(ringAll, 'alice_ra');
      const phone = await testKit(ringAll, 'bob_ra');
      const laptop = await testKit(ringAll, 'bob_ra');
      kits.push(alice, phone, laptop);
      await phone.kit.refreshRecentCalls(); // the list is shown: it refreshes after each call
      await alice.kit.call({ userID: 'bob_ra', type: CallMediaType.AUDIO });
      await phone.status(STATUS.BE_INVITED);
      await laptop.status(STATUS.BE_INVITED);
      await laptop.kit.accept();
      await phone.status(STATUS.IDLE);
      const { recents } = await phone.until(
        (s) => s.recents.calls.length === 1 && !s.recents.loading,
        'the call in the list',
      );
      const [call] = recents.calls;
      expect(call).toMatchObject({ outcome: 'answered_elsewhere', missed: false });
      expect(recents.unread).toBe(0);
      for (const [language, strings] of Object.entries(STRINGS)) {
        expect(outcomeText(language as never, call!)).toBe(strings.outcomes.answered_elsewhere);
      }
      expect(outcomeText('en', call!)).toBe('Answered on another device');
      await laptop.kit.hangup();
      await laptop.kit.refreshRecentCalls();
      expect(laptop.kit.state.recents.calls[0]).toMatchObject({ outcome: 'left', missed: false });
    } finally {
      await Promise.all(kits.map((k) => k.kit.destroyed()));
      await ringAll.close();
    }
  });

  it('refuses before init, and an unknown call back, with coded errors', async () => {
    const carol = await user('carol', { init: false });
    await expect(carol.kit.refreshRecentCalls()).rejects.toMatchObject({
      code: ServerErrorCode.NOT_LOGGED_IN,
    });
    await expect(carol.kit.callBack('nope')).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
    });
  });

  it('forgets the list when the user goes (destroyed)', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await missed(alice, bob);
    await bob.kit.refreshRecentCalls();
    await bob.kit.destroyed();
    expect(bob.kit.state.recents).toEqual({ calls: [], unread: 0, loading: false });
  });
});
