/**
 * Redis unreachable for 5 s in the middle of a call between two nodes (the server stopped with
 * SIGSTOP: connections stay open, nothing answers, its data is kept). What is decided: clients
 * keep their connections and sessions (nobody is kicked or leaves), /readyz is 503, requests that
 * need the shared state, the P2P relay of `signal` included, fail with CLUSTER_UNAVAILABLE (the
 * media itself flows peer to peer, without the server); when Redis answers again the nodes
 * recover by themselves: the call goes on and new calls work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startRedis, type TestRedis } from '../../testing/redis.js';
import { startRedisTestServers, type TestServer } from '../../testing/server.js';
import type { ServerOptions } from '../../server.js';
import { waitFor } from '../conformance/index.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  redis?.thaw();
  await redis?.stop();
});

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  redis.thaw();
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** How long Redis is away. */
const OUTAGE_MS = 5_000;

async function twoNodes(options: ServerOptions = {}): Promise<[TestServer, TestServer]> {
  const [a, b] = await startRedisTestServers(redis.url, 2, {
    sdkAppID: 1400000779,
    secretKey: 'redis-outage-key',
    ...options,
  });
  opened.push(a!, b!);
  return [a!, b!];
}

/** Kills Redis and starts it again empty (no persistence); resolves once both nodes are ready. */
async function restartEmpty(a: TestServer, b: TestServer): Promise<void> {
  const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;
  await redis.kill();
  try {
    await waitFor(async () => (await readyz(a.url)) === 503, 'node a to report not ready');
  } finally {
    await redis.restart();
  }
  await waitFor(async () => (await readyz(a.url)) === 200, 'node a to recover');
  await waitFor(async () => (await readyz(b.url)) === 200, 'node b to recover');
}

describe('Redis stopped for 5 s mid-call', () => {
  test('the call survives, signal fails with CLUSTER_UNAVAILABLE meanwhile, new calls work after', async () => {
    const [a, b] = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.VIDEO,
    });
    await bob.waitForPush('invited');
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');

    const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;
    redis.freeze();
    const away = Date.now();
    await waitFor(async () => (await readyz(a.url)) === 503, 'node a to report not ready');
    const err = await alice.fail('signal', {
      callID,
      to: 'bob',
      data: { candidate: { candidate: 'during' } },
    });
    expect(err).toMatchObject({ name: 'CLUSTER_UNAVAILABLE' });
    // The connections stay up through the outage (pings are answered by the node itself).
    await alice.sync();
    await bob.sync();
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - away))));
    redis.thaw();

    await waitFor(async () => (await readyz(a.url)) === 200, 'node a to recover');
    await waitFor(async () => (await readyz(b.url)) === 200, 'node b to recover');
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'after' } } });
    expect((await bob.waitForPush('signal')).data).toEqual({ candidate: { candidate: 'after' } });
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'back' } } });
    expect((await alice.waitForPush('signal')).data).toEqual({ candidate: { candidate: 'back' } });
    const gone = (p: { type: string }) =>
      p.type === 'userLeave' || p.type === 'callEnded' || p.type === 'kicked';
    expect(alice.pushes.filter(gone)).toEqual([]);
    expect(bob.pushes.filter(gone)).toEqual([]);

    // New calls work, across the nodes.
    const carol = await a.login('carol');
    const dave = await b.login('dave');
    const next = await carol.call('invite', { userIDList: ['dave'], callType: CallType.AUDIO });
    await dave.waitForPush('invited', (p) => p.inviteID === next.inviteID);
    await dave.call('accept', { inviteID: next.inviteID });
    await carol.waitForPush('userEnter');

    await bob.call('hangup', { callID });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID });
  }, 30_000);

  test('Redis restarted empty: logged-in users are listed again and new calls reach them', async () => {
    const [a, b] = await twoNodes();
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    await restartEmpty(a, b);
    // Each node's next heartbeat finds it unlisted and lists its sessions again.
    const listed = async (userID: string) =>
      (await a.cluster.presence.get(userID).catch(() => undefined)) !== undefined;
    await waitFor(async () => (await listed('alice')) && (await listed('bob')), 'both listed');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    expect(await bob.waitForPush('invited', (p) => p.inviteID === inviteID)).toMatchObject({
      sponsor: 'alice',
    });
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
  }, 30_000);

  test('Redis restarted empty with ring-all: every device is listed again and rings', async () => {
    const [a, b] = await twoNodes({ multiDevice: 'ring-all' });
    const alice = await a.login('alice');
    const phone = await a.login('bob');
    const laptop = await b.login('bob');
    await restartEmpty(a, b);
    const devices = async () =>
      (await a.cluster.devices?.get('bob').catch(() => undefined))?.sessionIDs.length ?? 0;
    await waitFor(async () => (await devices()) === 2, 'both of bob’s devices listed');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    for (const device of [phone, laptop]) {
      await device.waitForPush('invited', (p) => p.inviteID === inviteID);
    }
  }, 30_000);
});
