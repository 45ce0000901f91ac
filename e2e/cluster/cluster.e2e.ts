/**
 * One app on many machines, in Chromium: three `ringline serve` processes sharing redis-server and
 * PostgreSQL, one Janus, Debian's nginx in front with docs/deploy/cluster-nginx.conf. Users connect
 * through nginx, or straight to one node's port where a scenario needs to know who is where (which
 * node holds a session is read from Redis presence, so each placement is checked, not assumed).
 * Decoded frames are the proof that media flows.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  EVENT,
  SdkCallError,
  TestUser,
  VIDEO,
  connect,
  connectGroup,
  expectEveryoneDecodes,
  launchChromium,
  ring,
  showAll,
  showEachOther,
} from '../harness/index.js';
import type { UserServer } from '../harness/user.js';
import { startCluster, waitUntil, type Cluster, type ClusterNode } from './harness.js';

/** Seconds an invitation rings in the node-loss scenario. */
const RING_S = 4;

let cluster: Cluster;
let browser: Browser;
let users: TestUser[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, janus: true });
  browser = await launchChromium(cluster.browserArgs);
}, 90_000);

afterEach(async () => {
  await Promise.allSettled(users.splice(0).map((u) => u.close()));
});

afterAll(async () => {
  await browser?.close();
  await cluster?.close();
});

/** A logged-in user on `server` (nginx, or one node directly). */
async function user(name: string, server: UserServer = cluster): Promise<TestUser> {
  const u = await TestUser.open(browser, server, name, `${name}-${randomBytes(4).toString('hex')}`);
  users.push(u);
  await u.login();
  return u;
}

/** The node holding `u`'s session, which must be one. */
async function nodeOf(u: TestUser): Promise<ClusterNode> {
  const node = await cluster.nodeOf(u.userID);
  if (!node) throw new Error(`${u.name} has no session on any node`);
  return node;
}

/** A node other than the ones given. */
function otherNode(...taken: ClusterNode[]): ClusterNode {
  const node = cluster.nodes.find((n) => !taken.includes(n) && n.child.exitCode === null);
  if (!node) throw new Error('no other node left');
  return node;
}

describe('a cluster of three nodes behind nginx', () => {
  test('caller through nginx and callee on another node: a P2P video call, frames both ways', async () => {
    const alice = await user('alice');
    const aliceNode = await nodeOf(alice);
    const bob = await user('bob', otherNode(aliceNode).direct);
    expect((await nodeOf(bob)).name).not.toBe(aliceNode.name);

    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([
      alice.expectFramesRising(bob.userID, { by: 20 }),
      bob.expectFramesRising(alice.userID, { by: 20 }),
    ]);
    const after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after });
  });

  // Needs POOL's cross-node sfu* (issue 13, item 4): on this branch an sfu* request reaching a node
  // that did not open the room gets CALL_NOT_FOUND, so members on other nodes never publish.
  test.skip('a group video call with one member on each node, through the shared Janus', async () => {
    const [alice, bob, carol] = await Promise.all(
      cluster.nodes.map((n, i) => user(['alice', 'bob', 'carol'][i]!, n.direct)),
    );
    const placed = await Promise.all([alice, bob, carol].map((u) => nodeOf(u!)));
    expect(new Set(placed.map((n) => n.name)).size).toBe(3);

    await connectGroup(alice!, [bob!, carol!]);
    await showAll([alice!, bob!, carol!]);
    await expectEveryoneDecodes([alice!, bob!, carol!], { by: 20 });
  });

  test('Redis stopped for 5 s mid-call: media goes on, /readyz is false meanwhile, a new call works after', async () => {
    const [first, second] = cluster.nodes;
    const alice = await user('alice', first!.direct);
    const bob = await user('bob', second!.direct);
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    const stoppedAt = Date.now();
    await cluster.redis.stop();
    try {
      await waitUntil(
        'every node to report not ready',
        async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => !r),
      );
      // A new call is refused with a coded error while Redis is away…
      const carol = await user('carol', first!.direct).catch(() => undefined);
      if (carol) {
        const refused = await carol.sdk
          .call({ userID: alice.userID, type: VIDEO })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(SdkCallError);
        expect((refused as SdkCallError).code).toEqual(expect.any(Number));
      }
      // …while the call in progress keeps its media, for the whole outage.
      do {
        await Promise.all([
          alice.expectFramesRising(bob.userID, { by: 10 }),
          bob.expectFramesRising(alice.userID, { by: 10 }),
        ]);
      } while (Date.now() - stoppedAt < 5_000);
      for (const n of cluster.nodes) expect(await n.ready(), `${n.name} /readyz`).toBe(false);
    } finally {
      await cluster.redis.restart();
    }
    await waitUntil(
      'every node to be ready again',
      async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every(Boolean),
      20_000,
    );
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    // The old call ends and a new one is set up across the same two nodes.
    const after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after, timeoutMs: 20_000 });
    await connect(bob, alice, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
  });

  // Last: it kills a node.
  describe("an invitation whose caller's node is killed (kill -9)", () => {
    let alice: TestUser;
    let bob: TestUser;
    let aliceNode: ClusterNode;
    let bobMark: number;
    let aliceMark: number;

    test('the invitee still gets CALLING_TIMEOUT, exactly once', async () => {
      // The caller through nginx, so that its SDK can reconnect to a surviving node.
      alice = await user('alice');
      aliceNode = await nodeOf(alice);
      bob = await user('bob', otherNode(aliceNode).direct);
      [aliceMark, bobMark] = await Promise.all([alice.mark(), bob.mark()]);
      await ring(alice, bob, { timeout: RING_S });

      await aliceNode.kill();
      const timeout = await bob.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, {
        after: bobMark,
        timeoutMs: (RING_S + 15) * 1000,
      });
      expect(timeout.payload).toBeTypeOf('object');
      // Once: a second claim of the timer (by another node, or the first again) would show here.
      // Bob's next round trip through his node is after any push already queued to him.
      await bob.sdk.getCameras();
      await connectOnce(bob);
    });

    // Needs NODE LOSS (issue 13, item 2): the caller's SDK reconnects through nginx to another
    // node and resumes its session with the pushes it missed; without it the caller's session
    // died with its node and NO_RESP never reaches it.
    test.skip('the caller reconnects through nginx to another node and gets NO_RESP, exactly once', async () => {
      const noResp = await alice.waitForEvent(EVENT.NO_RESP, undefined, {
        after: aliceMark,
        timeoutMs: 20_000,
      });
      expect(noResp.payload).toMatchObject({ userID: bob.userID });
      expect((await nodeOf(alice)).name).not.toBe(aliceNode.name);
      expect((await alice.events(EVENT.NO_RESP)).filter((e) => e.index >= aliceMark)).toHaveLength(
        1,
      );
    });

    /** `bob` saw one CALLING_TIMEOUT since the ring, and can take a new call from a live node. */
    async function connectOnce(invitee: TestUser) {
      const timeouts = (await invitee.events(EVENT.CALLING_TIMEOUT)).filter(
        (e) => e.index >= bobMark,
      );
      expect(timeouts).toHaveLength(1);
      const carol = await user('carol', otherNode(aliceNode, await nodeOf(invitee)).direct);
      await connect(carol, invitee, { type: VIDEO });
      expect(
        (await invitee.events(EVENT.CALLING_TIMEOUT)).filter((e) => e.index >= bobMark),
      ).toHaveLength(1);
    }
  });
});
