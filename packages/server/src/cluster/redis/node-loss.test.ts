/**
 * Node loss with real node processes (`ringline serve --redis`, testing/nodes.ts) over a real
 * redis-server: a node is killed with SIGKILL mid-call and nothing is lost. Its clients resume on
 * another node with the pushes they missed; a user who never comes back leaves the call once the
 * node is found dead and the resume window is over; an invitation armed on the dead node still
 * times out, once.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import type { TestClient } from '../../testing/client.js';
import { startNodes, type TestNodes } from '../../testing/nodes.js';
import { startRedis, type TestRedis } from '../../testing/redis.js';
import { waitFor } from '../conformance/index.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

let cluster: TestNodes | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Three nodes; resume window 2 s. */
async function threeNodes(): Promise<TestNodes> {
  cluster = await startNodes({ count: 3, redis: redis.url, resumeWindow: 2 });
  return cluster;
}

/** Alice on node 0 calls Bob on node 1; the call is connected. */
async function callAcrossNodes(nodes: TestNodes) {
  const alice = await nodes.login(0, 'alice');
  const bob = await nodes.login(1, 'bob');
  const { inviteID, callID } = await alice.call('invite', {
    userIDList: ['bob'],
    callType: CallType.VIDEO,
  });
  await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
  await bob.call('accept', { inviteID });
  await alice.waitForPush('userEnter', (p) => p.userID === 'bob');
  return { alice, bob, callID };
}

/** A new connection to node `index` resuming `old`'s session. */
async function resumeOn(nodes: TestNodes, index: number, old: TestClient) {
  const client = await nodes.connect(index);
  const result = await client.login(nodes, old.userID!, {
    resume: { sessionID: old.sessionID!, lastSeq: old.lastSeq },
  });
  return { client, result };
}

/** A look at the nodes' shared state in Redis (the prefix is the server's default). */
async function inRedis<T>(nodes: TestNodes, fn: (r: Redis, prefix: string) => Promise<T>) {
  const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    return await fn(r, `ringline:${nodes.sdkAppID}`);
  } finally {
    r.disconnect();
  }
}
/** How many nodes are listed alive (the gateway's own ids, not --node-id: fresh per process). */
const nodesListed = (nodes: TestNodes) => inRedis(nodes, (r, p) => r.zcard(`${p}:nodes`));
const sessionTimers = (nodes: TestNodes) =>
  inRedis(nodes, async (r, p) =>
    (await r.zrange(`${p}:timers`, 0, -1)).filter((k) => k.startsWith('session:')),
  );

describe('a node killed mid-call', () => {
  test('its client resumes on another node with the pushes it missed; the other side sees no leave', async () => {
    const nodes = await threeNodes();
    const { alice, bob, callID } = await callAcrossNodes(nodes);
    const lastSeq = alice.lastSeq;
    await waitFor(async () => (await nodesListed(nodes)) === 3, 'three nodes listed');

    await nodes.kill(0);
    await alice.closed();
    // While Alice is away, Bob keeps negotiating: these pushes must wait for her.
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'c1' } } });
    await bob.call('media', { callID, audio: true, video: false });

    const { client: back, result } = await resumeOn(nodes, 2, alice);
    expect(result).toMatchObject({ resumed: true, sessionID: alice.sessionID });
    const signal = await back.waitForPush('signal');
    expect(signal).toMatchObject({ from: 'bob', seq: lastSeq + 1 });
    expect(signal.data).toEqual({ candidate: { candidate: 'c1' } });
    const media = await back.waitForPush('mediaState');
    expect(media.seq).toBe(lastSeq + 2);

    // The call goes on, both ways, from the new node.
    await back.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'c2' } } });
    expect((await bob.waitForPush('signal')).data).toEqual({ candidate: { candidate: 'c2' } });
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'c3' } } });
    expect(await back.waitForPush('signal')).toMatchObject({ seq: lastSeq + 3 });

    // Once a live node has claimed node-0 as dead, no expiry is armed for Alice's session (the
    // take-over moved it off node-0's list): nothing can end it behind her back.
    await waitFor(async () => (await nodesListed(nodes)) === 2, 'node 0 found dead', 15_000);
    expect(await sessionTimers(nodes)).toEqual([]);
    await Promise.all([back.sync(), bob.sync()]);
    expect(bob.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded')).toEqual([]);
    expect(back.pushes.filter((p) => p.type === 'callEnded')).toEqual([]);

    await bob.call('hangup', { callID });
    expect(await back.waitForPush('callEnded')).toMatchObject({ callID });
  }, 40_000);

  test('a user whose node died and who never comes back leaves the call, once', async () => {
    const nodes = await threeNodes();
    const { bob, callID } = await callAcrossNodes(nodes);
    await nodes.kill(0);
    // Death found within ~5 s, then the 2 s resume window: Alice's session ends on a live node.
    const ended = await bob.waitForPush('callEnded', (p) => p.callID === callID, 20_000);
    expect(ended).toMatchObject({ callID });
    await bob.sync();
    const leaves = bob.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded');
    expect(leaves.filter((p) => p.type === 'callEnded')).toHaveLength(1);
    expect(leaves.filter((p) => p.type === 'userLeave').length).toBeLessThanOrEqual(1);
    // Alice is gone everywhere: a new call to her does not find her busy.
    const carol = await nodes.login(2, 'carol');
    const { inviteID } = await carol.call('invite', {
      userIDList: ['alice'],
      callType: CallType.AUDIO,
    });
    expect(inviteID).toBeTruthy();
  }, 40_000);

  test('an invitation armed on the killed node times out once: NO_RESP to the caller, the invitee’s ends', async () => {
    const nodes = await threeNodes();
    const alice = await nodes.login(0, 'alice');
    const bob = await nodes.login(1, 'bob');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout: 3,
    });
    await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
    await nodes.kill(0);
    await alice.closed();
    const { client: back, result } = await resumeOn(nodes, 2, alice);
    expect(result.resumed).toBe(true);

    expect(await back.waitForPush('noResponse', undefined, 15_000)).toMatchObject({
      inviteID,
      userID: 'bob',
    });
    expect(await bob.waitForPush('inviteEnded', undefined, 15_000)).toMatchObject({
      inviteID,
      reason: 'timeout',
    });
    await Promise.all([back.sync(), bob.sync()]);
    expect(back.pushes.filter((p) => p.type === 'noResponse')).toHaveLength(1);
    expect(bob.pushes.filter((p) => p.type === 'inviteEnded')).toHaveLength(1);
  }, 40_000);
});

describe('ring-all: nodes holding devices of one user killed', () => {
  test('an idle device’s node dying leaves the call alone; the node of the device in it ends it', async () => {
    cluster = await startNodes({
      count: 3,
      redis: redis.url,
      resumeWindow: 2,
      args: ['--multi-device', 'ring-all'],
    });
    const nodes = cluster;
    const alice = await nodes.login(0, 'alice');
    const phone = await nodes.login(1, 'bob');
    const laptop = await nodes.login(2, 'bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await phone.waitForPush('invited', (p) => p.inviteID === inviteID);
    await laptop.waitForPush('invited', (p) => p.inviteID === inviteID);
    await laptop.call('accept', { inviteID });
    await alice.waitForPush('userEnter', (p) => p.userID === 'bob');
    const devices = () =>
      inRedis(nodes, async (r, p) =>
        Object.keys(await r.hgetall(`${p}:devices:bob`)).filter((f) => f.startsWith('s:')),
      );

    // The idle phone's node dies: once its resume window is over the phone is no device of bob's
    // any more, and the call goes on.
    await nodes.kill(1);
    await waitFor(
      async () => (await devices()).join() === `s:${laptop.sessionID}`,
      'the phone to be forgotten',
      20_000,
    );
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'z' } } });
    expect(await laptop.waitForPush('signal')).toMatchObject({ from: 'alice' });
    await alice.sync();
    expect(alice.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded')).toEqual(
      [],
    );

    // The laptop's node dies: bob leaves the call once its window is over.
    await nodes.kill(2);
    expect(await alice.waitForPush('callEnded', (p) => p.callID === callID, 20_000)).toMatchObject({
      callID,
    });
    await waitFor(async () => (await devices()).length === 0, 'bob to have no device', 20_000);
  }, 60_000);
});
