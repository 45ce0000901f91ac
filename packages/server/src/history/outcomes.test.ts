/**
 * Each member's outcome in the call history, for every way a call goes: the real server with
 * WebSocket clients, read back from its SQLite store (and, for group calls, a real Janus).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, type CallHistoryCall } from '@ringline/protocol';
import { openStore, type Store } from '../store/index.js';
import { makeGroup, startTestServer, type TestServer } from '../testing/server.js';
import { hasJanus, useTestSfu } from '../testing/sfu.js';

const audio = CallType.AUDIO;

let server: TestServer | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  await server?.close();
  store = server = undefined;
});

async function start(options: Parameters<typeof startTestServer>[0] = {}) {
  server = await startTestServer(options);
  // A second connection to the server's SQLite file, as a report would open it.
  store = await openStore({ dataDir: server.dataDir });
  return server;
}

/** The call once its record has ended (the server commits history a moment behind the call). */
async function ended(callID: string): Promise<CallHistoryCall> {
  await expect.poll(() => store!.callHistory.get(callID)).toHaveProperty('endedAt');
  return (await store!.callHistory.get(callID))!;
}

/** `user outcome` for each member, in the record's order. */
const outcomes = (call: CallHistoryCall) => call.members.map((m) => `${m.userID} ${m.outcome}`);

/** A server where alice (logged in with bob) rings bob for an audio call. */
async function ring(fields: { timeout?: number } = {}) {
  const s = await start();
  const alice = await s.login('alice');
  const bob = await s.login('bob');
  const invite = await alice.call('invite', { userIDList: ['bob'], callType: audio, ...fields });
  await bob.waitForPush('invited');
  return { s, alice, bob, ...invite };
}

describe('a one-to-one call’s outcomes', () => {
  it('accepted, then hung up by the callee: the callee left, the caller answered', async () => {
    const { alice, bob, inviteID, callID } = await ring();
    await bob.call('accept', { inviteID });
    await bob.call('hangup', { callID });
    await alice.waitForPush('callEnded');
    const call = await ended(callID);
    expect(outcomes(call)).toEqual(['alice answered', 'bob left']);
    const bobRow = call.members[1]!;
    expect(bobRow.role).toBe('invitee');
    expect(bobRow.answeredAt).toBeGreaterThanOrEqual(bobRow.invitedAt!);
    expect(bobRow.joinedAt).toBeGreaterThanOrEqual(bobRow.answeredAt!);
    expect(call.durationMs).toBe(call.endedAt! - call.connectedAt!);
  });

  it('rejected: the callee rejected, the caller got no answer', async () => {
    const { alice, bob, inviteID, callID } = await ring();
    await bob.call('reject', { inviteID });
    await alice.waitForPush('callEnded');
    const call = await ended(callID);
    expect(outcomes(call)).toEqual(['alice no_answer', 'bob rejected']);
    expect(call.durationMs).toBe(0);
  });

  it('rejected as busy, and calling someone in another call: busy', async () => {
    const { s, alice, bob, inviteID, callID } = await ring();
    await bob.call('reject', { inviteID, busy: true });
    await alice.waitForPush('callEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice no_answer', 'bob busy']);

    const carol = await s.login('carol');
    const ringing = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    const second = await carol.call('invite', { userIDList: ['bob'], callType: audio });
    await carol.waitForPush('callEnded');
    expect(outcomes(await ended(second.callID))).toEqual(['carol no_answer', 'bob busy']);
    await alice.call('cancel', { inviteID: ringing.inviteID });
  });

  it('not answered in time: a missed call for the callee', async () => {
    const { alice, callID } = await ring({ timeout: 1 });
    await alice.waitForPush('callEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice no_answer', 'bob no_answer']);
    const missed = await store!.callHistory.missed('bob');
    expect(missed.unread).toBe(1);
    expect(missed.calls.map((c) => c.callID)).toEqual([callID]);
  });

  it('not answered in time by a callee who never logged in: an offline missed call', async () => {
    const s = await start();
    const alice = await s.login('alice');
    const { callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 1,
    });
    await alice.waitForPush('callEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice no_answer', 'bob offline']);
    const missed = await store!.callHistory.missed('bob');
    expect(missed.unread).toBe(1);
    expect(missed.calls.map((c) => c.callID)).toEqual([callID]);
  });

  it('cancelled by the caller: cancelled for both, missed for the callee', async () => {
    const { alice, bob, inviteID, callID } = await ring();
    await alice.call('cancel', { inviteID });
    await bob.waitForPush('inviteEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice cancelled', 'bob cancelled']);
    expect(await store!.callHistory.unreadMissed('bob')).toBe(1);
    expect(await store!.callHistory.unreadMissed('alice')).toBe(0);
  });

  it('a callee who logs out mid-call disconnected; the caller stayed to the end', async () => {
    const { alice, bob, inviteID, callID } = await ring();
    await bob.call('accept', { inviteID });
    await bob.call('logout', {});
    await alice.waitForPush('callEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice answered', 'bob disconnected']);
  });

  it('answered on one of the callee’s two devices (ring-all): the answer names that device', async () => {
    const s = await start({ multiDevice: 'ring-all' });
    const alice = await s.login('alice');
    const phone = await s.login('bob');
    const laptop = await s.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await phone.waitForPush('invited');
    await laptop.waitForPush('invited');
    await laptop.call('accept', { inviteID });
    await phone.waitForPush('inviteEnded');
    await laptop.call('hangup', { callID });
    await alice.waitForPush('callEnded');
    const call = await ended(callID);
    expect(outcomes(call)).toEqual(['alice answered', 'bob left']);
    expect(call.members[1]!.deviceID).toBe(laptop.sessionID);
    expect(call.members[1]!.deviceID).not.toBe(phone.sessionID);
    expect(call.members[0]).not.toHaveProperty('deviceID');
    // The phone stopped ringing because the laptop answered: no missed call for bob.
    expect(await store!.callHistory.unreadMissed('bob')).toBe(0);
  });

  it('a caller who logs out while ringing disconnected; the callee missed it', async () => {
    const { alice, bob, callID } = await ring();
    await alice.call('logout', {});
    await bob.waitForPush('inviteEnded');
    expect(outcomes(await ended(callID))).toEqual(['alice disconnected', 'bob cancelled']);
  });
});

describe.skipIf(!hasJanus)('a group call’s outcomes (real Janus)', () => {
  const sfu = useTestSfu();

  it('some answer, one rejects, one never answers, one joins uninvited and leaves', async () => {
    const s = await start(sfu.options());
    await makeGroup(s, 'team', ['gina', 'hank', 'ivan', 'judy', 'kim']);
    const [gina, hank, ivan, judy] = await Promise.all(
      ['gina', 'hank', 'ivan', 'judy'].map((u) => s.login(u)),
    );
    const { inviteID, callID } = await gina!.call('invite', {
      userIDList: ['hank', 'ivan', 'kim'],
      callType: audio,
      groupID: 'team',
      timeout: 2,
    });
    await hank!.call('accept', { inviteID });
    await ivan!.call('reject', { inviteID });
    await judy!.call('join', { groupID: 'team', callType: audio });
    await judy!.call('hangup', { callID });
    // kim is offline: the invitation rings for him until it times out, an offline miss.
    await expect
      .poll(async () => (await store!.callHistory.get(callID))?.members.at(3)?.outcome, {
        timeout: 10_000,
      })
      .toBe('offline');
    // gina leaves; hank, alone in it, ends the call by staying to its end.
    await gina!.call('hangup', { callID });
    await hank!.waitForPush('callEnded');
    const call = await ended(callID);
    expect(call).toMatchObject({ groupID: 'team', media: 'sfu' });
    expect(outcomes(call)).toEqual([
      'gina left',
      'hank answered',
      'ivan rejected',
      'kim offline',
      'judy left',
    ]);
    expect(call.members.map((m) => m.role)).toEqual([
      'inviter',
      'invitee',
      'invitee',
      'invitee',
      'joiner',
    ]);
    expect(await store!.callHistory.unreadMissed('kim')).toBe(1);
  });
});
