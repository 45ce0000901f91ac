/**
 * Calls and invitations under hostile use (issue 10): re-inviting people already in a call, the cap
 * on invitations per call, the cap on ring time, user IDs that are Object.prototype's property
 * names, and refusals naming a large group. Real server, real WebSocket clients, real SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { createDelivery, createMemoryCluster } from '../cluster/index.js';
import { GroupService, type GroupDirectory } from '../groups/index.js';
import { openStore } from '../store/index.js';
import { expectNoCallState, startTestServer, type TestServer } from '../testing/server.js';
import type { TestClient } from '../testing/client.js';
import { CallService } from './service.js';

const audio = CallType.AUDIO;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  server = await startTestServer(options);
  return server;
}

/** Pushes of `type` the client received so far. */
const pushesOf = (c: TestClient, type: string) => c.pushes.filter((p) => p.type === type);

describe('re-inviting someone already in the call', () => {
  it('a member is ALREADY_INVITED every time: no invitation record, no push to anyone', async () => {
    const s = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    const before = [alice.pushes.length, bob.pushes.length];
    for (let i = 0; i < 50; i++) {
      const err = await alice.fail('invite', { userIDList: ['bob'], callType: audio, callID });
      expect(err.code).toBe(ServerErrorCode.ALREADY_INVITED);
    }
    await Promise.all([alice.sync(), bob.sync()]);
    expect([alice.pushes.length, bob.pushes.length]).toEqual(before);
    expect((await s.cluster.calls.load(callID))?.call.inviteIDs).toEqual([inviteID]);
    expect(s.cluster.calls.size.invitations).toBe(1);
  });

  it('an invitee still ringing is ALREADY_INVITED; the first invitation keeps ringing', async () => {
    const s = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.waitForPush('invited');
    for (let i = 0; i < 20; i++) {
      const err = await alice.fail('invite', { userIDList: ['bob'], callType: audio, callID });
      expect(err.code).toBe(ServerErrorCode.ALREADY_INVITED);
    }
    await Promise.all([alice.sync(), bob.sync()]);
    expect(pushesOf(alice, 'lineBusy')).toEqual([]);
    expect(pushesOf(bob, 'invited')).toHaveLength(1);
    await bob.call('accept', { inviteID });
    expect(await alice.waitForPush('userEnter')).toMatchObject({ userID: 'bob' });
  });

  it('a call takes at most --max-invitations-per-call invitations, then TOO_MANY_INVITATIONS', async () => {
    const s = await start({ maxInvitationsPerCall: 1 });
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const carol = await s.login('carol');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.call('accept', { inviteID });
    const err = await alice.fail('invite', { userIDList: ['carol'], callType: audio, callID });
    expect(err.code).toBe(ServerErrorCode.TOO_MANY_INVITATIONS);
    await carol.sync();
    expect(carol.pushes).toEqual([]);
    expect(await s.cluster.calls.userCall('carol')).toBeUndefined();
  });
});

describe('ring time is capped by --max-ring-time', () => {
  it('timeout 0 (TRTCCalling: "no timeout") rings for the cap, then noResponse', async () => {
    const s = await start({ maxRingTime: 1 });
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 0,
    });
    expect((await bob.waitForPush('invited')).timeout).toBe(1);
    expect(await alice.waitForPush('noResponse')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ reason: 'timeout' });
    expectNoCallState(s);
  });

  it('a longer timeout is clamped to the cap', async () => {
    const s = await start({ maxRingTime: 1 });
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    await alice.call('invite', { userIDList: ['bob'], callType: audio, timeout: 3600 });
    expect((await bob.waitForPush('invited')).timeout).toBe(1);
    await alice.waitForPush('noResponse');
  });

  it('a user who never logs in is free again once the cap has passed', async () => {
    const s = await start({ maxRingTime: 1 });
    const alice = await s.login('alice');
    await alice.call('invite', { userIDList: ['ghost'], callType: audio, timeout: 0 });
    expect(await s.cluster.calls.userCall('ghost')).toBeDefined();
    expect(await alice.waitForPush('noResponse')).toMatchObject({ userID: 'ghost' });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ reason: 'no_answer' });
    expectNoCallState(s);
  });

  it('login reports the default ring time with the cap applied', async () => {
    const s = await start({ inviteTimeout: 0, maxRingTime: 7 });
    const client = await s.connect();
    expect((await client.login(s, 'alice')).inviteTimeout).toBe(7);
  });
});

/** Object.prototype's property names, valid user IDs all. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

describe.each(PROTOTYPE_NAMES)('a user called %s', (name) => {
  it('is rung, answers, talks, switches, hangs up; nothing is left behind', async () => {
    const s = await start();
    const alice = await s.login('alice');
    const odd = await s.login(name);
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: [name],
      callType: audio,
    });
    expect(await odd.waitForPush('invited')).toMatchObject({ inviteID, userIDList: [name] });
    await odd.call('accept', { inviteID });
    expect(await alice.waitForPush('userEnter')).toMatchObject({ userID: name });
    await alice.call('signal', { callID, to: name, data: { candidate: { candidate: 'a' } } });
    expect((await odd.waitForPush('signal')).from).toBe('alice');
    await odd.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'b' } } });
    expect((await alice.waitForPush('signal')).from).toBe(name);
    await odd.call('media', { callID, audio: false, video: false });
    expect(await alice.waitForPush('mediaState')).toMatchObject({ userID: name, audio: false });
    await odd.call('switchCallType', { callID, callType: CallType.VIDEO });
    expect(await alice.waitForPush('callTypeChanged')).toMatchObject({ userID: name });
    await odd.call('hangup', { callID });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    expectNoCallState(s);
  });

  it('calls, is rejected, cancels, is cancelled and times out like anyone else', async () => {
    const s = await start({ maxRingTime: 1 });
    const alice = await s.login('alice');
    const odd = await s.login(name);
    // As the caller: rejected.
    const first = await odd.call('invite', { userIDList: ['alice'], callType: audio });
    await alice.call('reject', { inviteID: first.inviteID });
    expect(await odd.waitForPush('rejected')).toMatchObject({ userID: 'alice' });
    await odd.waitForPush('callEnded');
    // As the caller: cancels.
    const second = await odd.call('invite', { userIDList: ['alice'], callType: audio });
    await odd.call('cancel', { inviteID: second.inviteID });
    expect(
      await alice.waitForPush('inviteEnded', (p) => p.inviteID === second.inviteID),
    ).toMatchObject({
      reason: 'cancelled',
    });
    // As the invitee: someone else's invitation is not theirs; a cancelled one is gone.
    const third = await alice.call('invite', { userIDList: [name], callType: audio });
    await odd.waitForPush('invited');
    expect((await odd.fail('cancel', { inviteID: third.inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    await alice.call('cancel', { inviteID: third.inviteID });
    expect((await odd.fail('accept', { inviteID: third.inviteID })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
    // As the invitee: times out, and is free again.
    const fourth = await alice.call('invite', { userIDList: [name], callType: audio, timeout: 0 });
    expect(await alice.waitForPush('noResponse')).toMatchObject({
      inviteID: fourth.inviteID,
      userID: name,
    });
    await alice.waitForPush('callEnded', (p) => p.callID === fourth.callID);
    expectNoCallState(s);
  });

  it('is told apart from a stranger of the same name in an invitation', async () => {
    const s = await start();
    const alice = await s.login('alice');
    await s.login('bob');
    const odd = await s.login(name);
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    expect((await odd.fail('accept', { inviteID })).code).toBe(ServerErrorCode.NOT_YOUR_INVITATION);
    expect((await odd.fail('reject', { inviteID })).code).toBe(ServerErrorCode.NOT_YOUR_INVITATION);
  });
});

/** The real group directory, counting how many members' rows each question returned. */
class CountingDirectory implements GroupDirectory {
  rows = 0;
  constructor(private readonly inner: GroupService) {}
  async isMember(groupID: string, userID: string): Promise<boolean> {
    const yes = await this.inner.isMember(groupID, userID);
    this.rows += yes ? 1 : 0;
    return yes;
  }
  async membersAmong(groupID: string, userIDs: string[]): Promise<string[] | undefined> {
    const found = await this.inner.membersAmong(groupID, userIDs);
    this.rows += found?.length ?? 0;
    return found;
  }
  async getGroup(groupID: string) {
    const group = await this.inner.getGroup(groupID);
    this.rows += group?.members.length ?? 0;
    return group;
  }
}

describe('a refused join or invite naming a group of 10,000', () => {
  it('reads only the rows of the users it names, never the member list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-biggroup-'));
    const store = await openStore({ dataDir: dir });
    const cluster = createMemoryCluster();
    const groups = new GroupService(store.db);
    const directory = new CountingDirectory(groups);
    const calls = new CallService({
      store: cluster.calls,
      scheduler: cluster.scheduler,
      locks: cluster.locks,
      deliver: createDelivery(cluster.presence, cluster.bus),
      defaultInviteTimeout: 30,
      groups: directory,
    });
    try {
      await groups.create({
        groupID: 'big',
        members: Array.from({ length: 10_000 }, (_, i) => `member${i}`),
      });
      const refusals: Array<[string, () => Promise<unknown>, number]> = [
        ['join by a stranger', () => calls.join('stranger', 'big', audio), 40303],
        [
          'invite through the group by a stranger',
          () =>
            calls.invite('stranger', { userIDList: ['member1'], callType: audio, groupID: 'big' }),
          40303,
        ],
        [
          'invite of a stranger through the group by a member',
          () =>
            calls.invite('member0', { userIDList: ['stranger'], callType: audio, groupID: 'big' }),
          40303,
        ],
        ['join of an unknown group', () => calls.join('member0', 'nope', audio), 40402],
      ];
      for (const [what, attempt, code] of refusals) {
        directory.rows = 0;
        await expect(attempt(), what).rejects.toMatchObject({ code });
        expect(directory.rows, what).toBeLessThanOrEqual(2);
      }
      expect(cluster.calls.size).toEqual({ calls: 0, invitations: 0, users: 0, groups: 0 });
    } finally {
      calls.close();
      await cluster.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
