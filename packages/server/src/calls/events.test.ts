/**
 * Domain events (calls/events.ts): every committed call change hands what happened — invited,
 * answered, rejected, joined, left, ended, missed — to the observers, one batch per commit, in
 * order, after the commit; failed operations and reads hand nothing. Real server, real WebSocket
 * clients (and a real Janus for the group call when one is installed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, MediaMode, ServerErrorCode } from '@ringline/protocol';
import {
  expectNoCallState,
  makeGroup,
  startTestServer,
  type TestServer,
} from '../testing/server.js';
import { hasJanus, useTestSfu } from '../testing/sfu.js';
import type { CallEvent, CallObserver } from './events.js';

const audio = CallType.AUDIO;
const video = CallType.VIDEO;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server whose observer records each commit's events as one batch. */
async function start(options: Parameters<typeof startTestServer>[0] = {}) {
  const batches: CallEvent[][] = [];
  const record: CallObserver = (events) => batches.push([...events]);
  server = await startTestServer({
    ...options,
    callObservers: [...(options.callObservers ?? []), record],
  });
  /** Each batch as `type user/reason` strings, to read the sequence at a glance. */
  const summary = () =>
    batches.map((b) =>
      b.map((e) => {
        switch (e.type) {
          case 'invited':
            return `invited ${e.invitees.join(',')}${e.created ? ' (new call)' : ''}`;
          case 'answered':
            return `answered ${e.userID}`;
          case 'rejected':
          case 'missed':
          case 'left':
            return `${e.type} ${e.userID} ${e.reason}`;
          case 'joined':
            return `joined ${e.userID}${e.connected ? ' (connected)' : ''}`;
          case 'ended':
            return `ended ${e.reason}`;
        }
      }),
    );
  return { s: server, batches, summary };
}

describe('a one-to-one call', () => {
  it('invite, accept, hangup: one batch per commit, in order, with the call’s fields', async () => {
    const { s, batches, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const before = Date.now();
    const { inviteID, callID, roomID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: video,
      timeout: 20,
    });
    await bob.call('accept', { inviteID });
    await bob.call('hangup', { callID });
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['answered bob', 'joined bob (connected)'],
      ['left bob hangup', 'ended hangup'],
    ]);
    const call = { callID, roomID, sponsor: 'alice', callType: video, media: MediaMode.P2P };
    expect(batches.flat()).toEqual([
      {
        type: 'invited',
        ...call,
        seq: 1,
        time: expect.any(Number),
        inviteID,
        inviter: 'alice',
        invitees: ['bob'],
        timeout: 20,
        created: true,
        offline: [],
      },
      { type: 'answered', ...call, seq: 2, time: expect.any(Number), inviteID, userID: 'bob' },
      { type: 'joined', ...call, seq: 3, time: expect.any(Number), userID: 'bob', connected: true },
      { type: 'left', ...call, seq: 4, time: expect.any(Number), userID: 'bob', reason: 'hangup' },
      {
        type: 'ended',
        ...call,
        seq: 5,
        time: expect.any(Number),
        reason: 'hangup',
        startedAt: batches[0]![0]!.time,
        connectedAt: batches[1]![0]!.time,
        joined: ['alice', 'bob'],
      },
    ]);
    const times = batches.map((b) => b[0]!.time);
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // One commit's events share its time.
    for (const b of batches) expect(new Set(b.map((e) => e.time)).size).toBe(1);
    expectNoCallState(s);
  });

  it('a reject ends the call for no answer', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('reject', { inviteID });
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['rejected bob declined', 'ended no_answer'],
    ]);
  });

  it('a reject saying busy is rejected for busy', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('reject', { inviteID, busy: true });
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['rejected bob busy', 'ended no_answer'],
    ]);
  });

  it('calling someone already in a call: invited, rejected for busy and ended, in one commit', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    await s.login('bob');
    const carol = await s.login('carol');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await carol.call('invite', { userIDList: ['bob'], callType: audio });
    await carol.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['invited bob (new call)', 'rejected bob busy', 'ended no_answer'],
    ]);
  });

  it('an invitation nobody answers is missed for timeout, with the offlinePushInfo', async () => {
    const { s, batches, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const offlinePushInfo = { title: 'Alice', description: 'is calling you' };
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 1,
      offlinePushInfo,
    });
    await bob.waitForPush('inviteEnded');
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['missed bob timeout', 'ended no_answer'],
    ]);
    expect(batches[0]![0]).toMatchObject({ offlinePushInfo });
    expect(batches[1]![0]).toMatchObject({
      inviteID,
      userID: 'bob',
      inviter: 'alice',
      offlinePushInfo,
    });
    // A call that never connected ends with no connect time.
    expect(batches[1]![1]).not.toHaveProperty('connectedAt');
  });

  it('a cancelled invitation is missed for cancelled, and the call ends cancelled', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await alice.call('cancel', { inviteID });
    await bob.waitForPush('inviteEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['missed bob cancelled', 'ended cancelled'],
    ]);
  });
});

describe('sessions that end', () => {
  it('a member who logs out leaves (disconnected), and the call ends', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('accept', { inviteID });
    await bob.call('logout', {});
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['answered bob', 'joined bob (connected)'],
      ['left bob disconnected', 'ended disconnected'],
    ]);
  });

  it('a caller who logs out while ringing leaves, and the invitation is missed', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await alice.call('logout', {});
    await bob.waitForPush('inviteEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['left alice disconnected', 'missed bob cancelled', 'ended cancelled'],
    ]);
  });

  it('an invitee who logs out while ringing declines', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.waitForPush('invited');
    await bob.call('logout', {});
    await alice.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['rejected bob declined', 'ended no_answer'],
    ]);
  });
});

describe('an invitee who is offline', () => {
  it('is named in invited; one who never logs in misses it offline, one who logs in while it rings does not', async () => {
    const { s, batches } = await start();
    const alice = await s.login('alice');
    // bob has no session: the invitation rings for him until he logs in, or times out.
    await alice.call('invite', { userIDList: ['bob'], callType: audio, timeout: 1 });
    expect(batches[0]![0]).toMatchObject({ type: 'invited', invitees: ['bob'], offline: ['bob'] });
    await alice.waitForPush('callEnded');
    // carol has none either, but logs in while it rings: she gets it, and lets it time out.
    const { inviteID } = await alice.call('invite', {
      userIDList: ['carol'],
      callType: audio,
      timeout: 1,
    });
    const carol = await s.login('carol');
    expect((await carol.waitForPush('invited')).inviteID).toBe(inviteID);
    await carol.waitForPush('inviteEnded');
    const missed = batches.flat().filter((e) => e.type === 'missed');
    expect(missed.map((e) => [e.userID, e.reason, e.offline])).toEqual([
      ['bob', 'timeout', true],
      ['carol', 'timeout', false],
    ]);
    // An invitee with a session is not offline.
    const bobNow = await s.login('bob');
    const last = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bobNow.waitForPush('invited');
    expect(batches.flat().at(-1)).toMatchObject({ type: 'invited', offline: [] });
    await alice.call('cancel', { inviteID: last.inviteID });
    await bobNow.waitForPush('inviteEnded');
    expectNoCallState(s);
  });
});

describe('what hands no events', () => {
  it('refused requests and reads (redelivery, relays) hand nothing', async () => {
    const { s, summary } = await start();
    const alice = await s.login('alice');
    const mallory = await s.login('mallory');
    // bob is offline: the invitation rings for him until he logs in.
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    expect((await mallory.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    expect((await alice.fail('cancel', { inviteID: 'nope' })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
    expect((await mallory.fail('hangup', { callID })).code).toBe(ServerErrorCode.NOT_CALL_MEMBER);
    // His login redelivers `invited`: a read.
    const bob = await s.login('bob');
    await bob.waitForPush('invited');
    expect(summary()).toEqual([['invited bob (new call)']]);
    await bob.call('accept', { inviteID });
    await alice.call('signal', {
      callID,
      to: 'bob',
      data: { description: { type: 'offer', sdp: 'o' } },
    });
    await bob.waitForPush('signal');
    expect(summary()).toEqual([
      ['invited bob (new call)'],
      ['answered bob', 'joined bob (connected)'],
    ]);
    await bob.call('hangup', { callID });
    expectNoCallState(s);
  });
});

describe('observers', () => {
  it('one that throws is logged and skipped: the call goes on and the others still hear', async () => {
    const thrown: number[] = [];
    const { s, summary } = await start({
      callObservers: [
        (events) => {
          thrown.push(events.length);
          throw new Error('observer failure');
        },
      ],
    });
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.call('accept', { inviteID });
    await alice.call('hangup', { callID });
    await bob.waitForPush('callEnded');
    expect(thrown).toEqual([1, 2, 2]);
    expect(summary()).toHaveLength(3);
    expectNoCallState(s);
  });
});

describe.skipIf(!hasJanus)('group calls (real Janus)', () => {
  const sfu = useTestSfu();

  it('carry the group and the SFU; a join without invitation is joined alone', async () => {
    const { s, batches, summary } = await start(sfu.options());
    await makeGroup(s, 'team', ['gina', 'hank', 'ivan', 'judy']);
    const [gina, hank, ivan, judy] = await Promise.all(
      ['gina', 'hank', 'ivan', 'judy'].map((u) => s.login(u)),
    );
    const { inviteID, callID } = await gina!.call('invite', {
      userIDList: ['hank', 'ivan'],
      callType: video,
      groupID: 'team',
    });
    await hank!.call('accept', { inviteID });
    await judy!.call('join', { groupID: 'team', callType: video });
    await ivan!.call('join', { groupID: 'team', callType: audio });
    await judy!.call('hangup', { callID });
    await gina!.call('hangup', { callID });
    await ivan!.call('hangup', { callID });
    await hank!.waitForPush('callEnded');
    expect(summary()).toEqual([
      ['invited hank,ivan (new call)'],
      ['answered hank', 'joined hank (connected)'],
      ['joined judy'],
      ['answered ivan', 'joined ivan'],
      ['left judy hangup'],
      ['left gina hangup'],
      ['left ivan hangup', 'ended hangup'],
    ]);
    for (const e of batches.flat()) {
      expect(e).toMatchObject({ callID, groupID: 'team', media: MediaMode.SFU, sponsor: 'gina' });
    }
    expect(batches.at(-1)!.at(-1)).toMatchObject({ joined: ['gina', 'hank', 'judy', 'ivan'] });
    expectNoCallState(s);
  });
});
