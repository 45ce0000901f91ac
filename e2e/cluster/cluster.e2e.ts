/**
 * One app on many machines, in Chromium: three `ringline serve` processes sharing redis-server and
 * PostgreSQL, one Janus, Debian's nginx in front with docs/deploy/cluster-nginx.conf. Users connect
 * through nginx, or straight to one node's port where a scenario needs to know who is where (which
 * node holds a session is read from Redis presence, so each placement is checked, not assumed).
 * Decoded frames are the proof that media flows.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  EVENT,
  SdkCallError,
  TestUser,
  VIDEO,
  connect,
  connectGroup,
  longestFreeze,
  expectEveryoneDecodes,
  launchChromium,
  ring,
  showAll,
  showEachOther,
} from '../harness/index.js';
import type { UserServer } from '../harness/user.js';
import {
  CLUSTER_NGINX_CONF,
  startCluster,
  waitUntil,
  type Cluster,
  type ClusterNode,
} from './harness.js';

/** Seconds an invitation rings in the node-loss scenario. */
const RING_S = 4;

let cluster: Cluster;
let browser: Browser;
const users: TestUser[] = [];

beforeAll(async () => {
  // Five: the last four tests kill one node each, and the first of them needs three alive.
  cluster = await startCluster({ nodes: 5, janus: true });
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
  const node = cluster.nodes.find(
    (n) => !taken.includes(n) && n.child.exitCode === null && n.child.signalCode === null,
  );
  if (!node) throw new Error('no other node left');
  return node;
}

/** GET `path` through nginx, trusting its test certificate; resolves with the status. */
function getThroughNginx(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(
      `${cluster.url}${path}`,
      { ca: cluster.ca, agent: false, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
  });
}

describe('the committed cluster nginx configuration', () => {
  test('balances round robin with no stickiness, and passes /ws as a long-lived WebSocket', () => {
    const text = readFileSync(CLUSTER_NGINX_CONF, 'utf8').replace(/#.*$/gm, '');
    const upstream = /upstream\s+ringline_nodes\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
    expect(upstream).toMatch(/server /);
    // Plain round robin: no method that pins a client to a node (the cluster must not need one).
    expect(upstream).not.toMatch(/\b(ip_hash|hash|sticky|least_conn|random)\b/);
    const ws = /location\s*=\s*\/ws\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
    expect(ws).toMatch(/proxy_pass\s+http:\/\/ringline_nodes;/);
    expect(ws).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(ws).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(ws).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/);
    expect(ws).toMatch(/proxy_read_timeout\s+120s;/);
  });

  test('run by nginx, spreads successive requests over every node', async () => {
    const before = cluster.accessLog().length;
    for (let i = 0; i < 2 * cluster.nodes.length; i++) {
      expect(await getThroughNginx('/healthz')).toBe(200);
    }
    const upstreams = new Set(
      [
        ...cluster
          .accessLog()
          .slice(before)
          .matchAll(/GET \/healthz HTTP\S+ 200 upstream=(\S+)/g),
      ].map((m) => m[1]),
    );
    expect([...upstreams].sort()).toEqual(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort());
  });
});

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

  // Each member's sfu* requests reach the node that opened the room (routed over the bus).
  test('a group video call with one member on each node, through the shared Janus', async () => {
    const [alice, bob, carol] = await Promise.all(
      cluster.nodes.map((n, i) => user(['alice', 'bob', 'carol'][i]!, n.direct)),
    );
    const placed = await Promise.all([alice, bob, carol].map((u) => nodeOf(u!)));
    expect(new Set(placed.map((n) => n.name)).size).toBe(3);

    await connectGroup(alice!, [bob!, carol!]);
    await showAll([alice!, bob!, carol!]);
    await expectEveryoneDecodes([alice!, bob!, carol!], { by: 20 });
  });

  test('Redis stopped for 5 s mid-call: media goes on, /readyz is false meanwhile, the call and a new one work after', async () => {
    const [first, second] = cluster.nodes;
    const alice = await user('alice', first!.direct);
    const bob = await user('bob', second!.direct);
    const carol = await user('carol', first!.direct);
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    const stoppedAt = Date.now();
    await cluster.stopRedisKeepingData();
    try {
      await waitUntil('every node to report not ready', async () =>
        (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => !r),
      );
      // A new call is refused with a coded error while Redis is away…
      const refused = await carol.sdk
        .call({ userID: alice.userID, type: VIDEO })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(SdkCallError);
      expect((refused as SdkCallError).code).toEqual(expect.any(Number));
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

    // The call survived in Redis: its hang-up crosses nodes as before…
    const after = await bob.mark();
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after });
    // …and a new call is set up across the same two nodes.
    await connect(bob, alice, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
  });

  // Redis comes back EMPTY (a restart without persistence): the calls' shared state is gone, but
  // each node lists its sessions again on its next heartbeat, so the users can be called.
  test('Redis restarted empty mid-call: media goes on, and the users can be called again after', async () => {
    const [first, second] = cluster.nodes;
    const alice = await user('alice', first!.direct);
    const bob = await user('bob', second!.direct);
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);

    await cluster.redis.kill();
    try {
      await waitUntil('every node to report not ready', async () =>
        (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => !r),
      );
      await Promise.all([
        alice.expectFramesRising(bob.userID),
        bob.expectFramesRising(alice.userID),
      ]);
    } finally {
      // Whatever failed above, the tests after this one need Redis back.
      await cluster.redis.stop();
      await cluster.redis.restart();
    }
    await waitUntil(
      'every node to be ready again',
      async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every(Boolean),
      20_000,
    );
    await waitUntil('both users to be known in Redis again', async () =>
      Boolean((await cluster.nodeOf(alice.userID)) && (await cluster.nodeOf(bob.userID))),
    );
    await Promise.allSettled([alice.sdk.hangup(), bob.sdk.hangup()]);
    await connect(bob, alice, { type: VIDEO });
  });

  // Last: these kill nodes (one each; the fifth node stays up).
  test("a 1:1 call whose caller's node is killed: P2P media never stops, the caller resumes on another node, nobody leaves", async () => {
    const alice = await user('alice'); // through nginx: her SDK reconnects, landing elsewhere
    const aliceNode = await nodeOf(alice);
    const bob = await user('bob', otherNode(aliceNode).direct);
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
    const marks = await Promise.all([alice.mark(), bob.mark()]);

    await aliceNode.kill();
    // Media goes peer to peer: the node's death must not show in it at all.
    const freezeMs = await longestFreeze([alice, bob], 8_000);
    await waitUntil('alice to resume on another node', async () => {
      const node = await cluster.nodeOf(alice.userID);
      return node !== undefined && node.name !== aliceNode.name;
    });
    // Bob never saw her leave while her node was gone…
    expect(
      (await bob.events(EVENT.USER_LEAVE)).filter((e) => e.index >= marks[1]!),
      "bob's USER_LEAVE events before the hang-up",
    ).toEqual([]);
    // …and signalling works again through her new node: she ends the call, Bob hears of it.
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after: marks[1] });
    console.log(`caller's node killed mid 1:1 call: longest freeze of either view: ${freezeMs} ms`);
  });

  test('a group call whose SFU room the killed node drove: the room moves to a live node, every member decodes every other again, nobody leaves', async () => {
    // Alice through nginx (her SDK resumes on another node); she invites, so her node opens the
    // room and drives it. Bob and Carol each on another node.
    const alice = await user('alice');
    const aliceNode = await nodeOf(alice);
    const bobNode = otherNode(aliceNode);
    const bob = await user('bob', bobNode.direct);
    const carol = await user('carol', otherNode(aliceNode, bobNode).direct);
    const everyone = [alice, bob, carol];
    await connectGroup(alice, [bob, carol]);
    await showAll(everyone);
    await expectEveryoneDecodes(everyone, { by: 20 });
    const marks = await Promise.all(everyone.map((u) => u.mark()));

    await aliceNode.kill();
    // The node is found dead within ~6 s; a live node then takes the room over and the members
    // publish again. Watched long enough to see all of it.
    const freezeMs = await longestFreeze(everyone, 15_000);
    await expectEveryoneDecodes(everyone, { by: 20 });
    expect((await nodeOf(alice)).name).not.toBe(aliceNode.name);
    for (const [i, u] of everyone.entries()) {
      for (const event of [EVENT.CALL_END, EVENT.USER_LEAVE, EVENT.ERROR]) {
        const seen = (await u.events(event)).filter((e) => e.index >= marks[i]!);
        expect(seen, `${u.name}'s ${event} events`).toEqual([]);
      }
    }
    console.log(`SFU owner node killed: longest freeze of any pair in 15 s: ${freezeMs} ms`);
  });

  describe("an invitation whose caller's node is killed (kill -9)", () => {
    test('the invitee still gets CALLING_TIMEOUT, exactly once', async () => {
      // The caller straight on the node that dies: its SDK cannot reconnect anywhere, so what
      // happens is the cluster's doing alone (the timer, armed in Redis, fired by a survivor).
      const aliceNode = otherNode();
      const alice = await user('alice', aliceNode.direct);
      const bob = await user('bob', otherNode(aliceNode).direct);
      const bobMark = await bob.mark();
      await ring(alice, bob, { timeout: RING_S });

      await aliceNode.kill();
      const timeout = await bob.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, {
        after: bobMark,
        timeoutMs: (RING_S + 15) * 1000,
      });
      expect(timeout.payload).toBeTypeOf('object');
      // Once: a second firing of the timer (by another node) would arrive around the first. Bob
      // takes a new call from the third node meanwhile, then the count is read again.
      const carol = await user('carol', otherNode(aliceNode, await nodeOf(bob)).direct);
      await connect(carol, bob, { type: VIDEO });
      const timeouts = await bob.events(EVENT.CALLING_TIMEOUT);
      expect(timeouts.filter((e) => e.index >= bobMark)).toHaveLength(1);
      expect(await bob.events(EVENT.CALLING_CANCEL)).toEqual([]);
    });

    // The caller's SDK reconnects through nginx to another node and resumes its session there,
    // with the pushes it missed (a fresh login would end its call: CALLING_CANCEL to the invitee).
    test('the caller reconnects through nginx to another node and gets NO_RESP once; the invitee CALLING_TIMEOUT once', async () => {
      const alice = await user('alice');
      const aliceNode = await nodeOf(alice);
      const bob = await user('bob', otherNode(aliceNode).direct);
      const [aliceMark, bobMark] = await Promise.all([alice.mark(), bob.mark()]);
      await ring(alice, bob, { timeout: RING_S });

      await aliceNode.kill();
      const [noResp] = await Promise.all([
        alice.waitForEvent(EVENT.NO_RESP, undefined, {
          after: aliceMark,
          timeoutMs: (RING_S + 15) * 1000,
        }),
        bob.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, {
          after: bobMark,
          timeoutMs: (RING_S + 15) * 1000,
        }),
      ]);
      expect(noResp.payload).toMatchObject({ userID: bob.userID });
      expect((await nodeOf(alice)).name).not.toBe(aliceNode.name);
      // Once each, after a new call between the two has come and gone.
      await connect(bob, alice, { type: VIDEO });
      expect((await alice.events(EVENT.NO_RESP)).filter((e) => e.index >= aliceMark)).toHaveLength(
        1,
      );
      expect(
        (await bob.events(EVENT.CALLING_TIMEOUT)).filter((e) => e.index >= bobMark),
      ).toHaveLength(1);
      expect(await bob.events(EVENT.CALLING_CANCEL)).toEqual([]);
    });
  });
});
