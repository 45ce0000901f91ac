/**
 * Two real server nodes sharing a real redis-server for presence, calls and invitations, the bus,
 * timers and locks: calls across nodes work, and a node reports itself not ready and refuses new calls with
 * CLUSTER_UNAVAILABLE while Redis is away, then recovers by itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startRedis, type TestRedis } from '../../testing/redis.js';
import { startRedisTestServers } from '../../testing/server.js';
import { waitFor } from '../conformance/index.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function twoNodes() {
  const [a, b] = await startRedisTestServers(redis.url, 2, {
    sdkAppID: 1400000777,
    secretKey: 'redis-cluster-key',
  });
  opened.push(a!, b!);
  return { a: a!, b: b! };
}

describe('two server nodes sharing Redis', () => {
  test('a call between users on different nodes works end to end', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.VIDEO,
    });
    expect(await bob.waitForPush('invited')).toMatchObject({ inviteID, sponsor: 'alice' });
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    await alice.call('signal', {
      callID,
      to: 'bob',
      data: { description: { type: 'offer', sdp: 'o' } },
    });
    expect((await bob.waitForPush('signal')).from).toBe('alice');
    await bob.call('hangup', { callID });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
  });

  test('an invitation armed on one node times out through Redis, once', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout: 1,
    });
    expect(await alice.waitForPush('noResponse')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'timeout' });
    // A later invitation rings for a full second and times out too; a second firing of the first
    // timer would have pushed again before it.
    const next = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout: 1,
    });
    await alice.waitForPush('noResponse', (p) => p.inviteID === next.inviteID);
    await bob.waitForPush('inviteEnded', (p) => p.inviteID === next.inviteID);
    expect(alice.pushes.filter((p) => p.type === 'noResponse').map((p) => p.inviteID)).toEqual([
      inviteID,
      next.inviteID,
    ]);
    expect(bob.pushes.filter((p) => p.type === 'inviteEnded').map((p) => p.inviteID)).toEqual([
      inviteID,
      next.inviteID,
    ]);
  });

  test('an invitee offline when rung logs in on another node while it rings: invited with the time left, and accepts', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout: 20,
    });
    const bob = await b.login('bob');
    const invited = await bob.waitForPush('invited');
    expect(invited).toMatchObject({ inviteID, callID, sponsor: 'alice' });
    expect(invited.timeout).toBeGreaterThan(10);
    expect(invited.timeout).toBeLessThanOrEqual(20);
    await bob.call('accept', { inviteID });
    expect(await alice.waitForPush('userEnter')).toMatchObject({ callID, userID: 'bob' });
    await alice.call('hangup', { callID });
    expect(await bob.waitForPush('callEnded')).toMatchObject({ callID });
  });

  test('logging in on another node kicks the session on the first', async () => {
    const { a, b } = await twoNodes();
    const onA = await a.login('alice');
    await b.login('alice');
    expect(await onA.waitForPush('kicked')).toMatchObject({ reason: 'duplicate_login' });
    expect((await onA.closed()).code).toBe(4001);
  });

  test('/readyz is 503 and new calls fail with CLUSTER_UNAVAILABLE while Redis is away', async () => {
    const { a, b } = await twoNodes();
    const alice = await a.login('alice');
    await b.login('bob');
    const readyz = async () => (await fetch(`${a.url}/readyz`)).status;
    expect(await readyz()).toBe(200);
    await redis.kill();
    try {
      await waitFor(async () => (await readyz()) === 503, '/readyz to report 503');
      expect(await (await fetch(`${a.url}/readyz`)).json()).toEqual({
        ready: false,
        checks: { store: true, cluster: false, turn: true, draining: false },
      });
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
      const err = await alice.fail('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
      expect(err).toMatchObject({ code: 50303, name: 'CLUSTER_UNAVAILABLE' });
    } finally {
      await redis.restart();
    }
    await waitFor(async () => (await readyz()) === 200, '/readyz to recover');
    const carol = await a.login('carol');
    const { inviteID } = await carol.call('invite', {
      userIDList: ['dave'],
      callType: CallType.AUDIO,
    });
    expect(inviteID).toBeTruthy();
  });
});
