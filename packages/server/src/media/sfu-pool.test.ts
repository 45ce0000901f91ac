/**
 * A pool of Janus servers (`--janus ws://a,ws://b`) and SFU rooms reachable from every node.
 *
 * - Placement: each new room goes on the least-loaded Janus that answers, and the call's record
 *   says which Janus and room, and which node drives it.
 * - `kill -9` of the Janus holding a group call: the room is re-created on the other Janus, the
 *   members get `sfuReset`, publish again by themselves, and decode each other again; the killed
 *   Janus, restarted by its supervisor, takes new rooms again.
 * - Two server nodes sharing one cluster: a member whose session is on the node that did not open
 *   the room gets every `sfu*` request served (routed to the owner over the bus), with media; when
 *   the owner node is gone, they are answered SFU_NODE_UNREACHABLE.
 *
 * Real parts only: real servers, real Janus processes (started and supervised as `--janus auto`
 * does), @roamhq/wrtc peers decoding real frames (the media tests only inside the test network
 * namespace, scripts/in-netns.sh).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Janode from 'janode';
import VideoRoomPlugin from 'janode/plugins/videoroom';
import { afterEach, describe, expect, test } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { createMemoryCluster } from '../cluster/memory.js';
import type { CallRecord } from '../cluster/types.js';
import { silentLogger } from '../log.js';
import { JanusPool, JanusSfu, startJanus, createSfu, type JanusProcess } from '../sfu/index.js';
import { findExecutable, janusAnswers } from '../sfu/janus-process.js';
import type { TestClient } from '../testing/client.js';
import {
  expectNoCallState,
  makeGroup,
  startTestServer,
  type TestServer,
} from '../testing/server.js';
import { MediaPeer } from '../testing/wrtc-peer.js';

const hasJanus = findExecutable('janus') !== undefined;
const inNetns = process.env.RINGLINE_NETNS === '1';
const iceInterface = process.env.RINGLINE_MEDIA_IFACE ?? 'lo';
const video = CallType.VIDEO;

/** What a test opened, closed after it in reverse order. */
const opened: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  opened.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A supervised Janus of its own (restarted after a crash), closed after the test. */
async function janus(): Promise<JanusProcess> {
  const process = await startJanus({
    dataDir: await tempDir('ringline-pool-'),
    iceInterface,
    log: silentLogger,
  });
  opened.push(() => process.close());
  return process;
}

/** The pool over `urls`, as `--janus a,b` makes it; closed after the test. */
async function pool(urls: string[]): Promise<JanusPool> {
  const made = await createSfu({ mode: urls.join(','), dataDir: tmpdir(), log: silentLogger });
  if (!(made.sfu instanceof JanusPool)) throw new Error(`no pool: ${made.message}`);
  const sfu = made.sfu;
  opened.push(() => sfu.close());
  return sfu;
}

async function server(options: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer(options);
  opened.push(() => s.close());
  return s;
}

/** Whether Janus at `url` has the videoroom `room` (asked on a connection of its own). */
async function roomExists(url: string, room: number): Promise<boolean> {
  const connection = await Janode.connect({ address: { url }, retry_time_secs: 1, max_retries: 1 });
  try {
    const session = await connection.create();
    const handle = await session.attach(VideoRoomPlugin);
    return (await handle.exists({ room })).exists;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** The call's record as every node reads it. */
async function record(s: TestServer, callID: string): Promise<CallRecord> {
  const loaded = await s.cluster.calls.load(callID);
  if (!loaded) throw new Error(`call ${callID} is not stored`);
  return loaded.call;
}

/** Polls `check` every 50 ms until it holds; rejects after `timeoutMs` (bounded). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `inviter` calls the others of `groupID` (a group call through the SFU); all accept. */
async function groupCall(groupID: string, inviter: TestClient, invitees: TestClient[]) {
  const call = await inviter.call('invite', {
    userIDList: invitees.map((c) => c.userID!),
    callType: video,
    groupID,
  });
  for (const c of invitees) await c.call('accept', { inviteID: call.inviteID });
  return call;
}

/** Every member but the last hangs up; the call ends (one member left) and the last is told. */
async function endCall(callID: string, members: TestClient[]): Promise<void> {
  const last = members[members.length - 1]!;
  for (const c of members.slice(0, -1)) await c.call('hangup', { callID });
  expect(await last.waitForPush('callEnded', (p) => p.callID === callID)).toMatchObject({
    reason: 'hangup',
  });
}

/** Members publishing and following offers and resets, as the SDK does. */
function peersFor(clients: TestClient[], callID: string): MediaPeer[] {
  const peers = clients.map((c) => new MediaPeer(c, callID));
  opened.push(() => peers.forEach((p) => p.close()));
  for (const p of peers) {
    p.follow();
    p.followResets();
  }
  return peers;
}

/** Every peer decodes `more` new frames from every other one. */
async function everyoneSeesEveryone(peers: MediaPeer[], more: number): Promise<void> {
  for (const p of peers) {
    for (const other of peers) {
      if (other === p) continue;
      const from = other.client.userID!;
      await p.framesFrom(from, (p.frames.get(from) ?? 0) + more);
    }
  }
}

describe.skipIf(!hasJanus)('placing rooms on a pool of two Janus', () => {
  test('each new room goes on the least-loaded Janus that answers, and the call records where', async () => {
    const [a, b] = [await janus(), await janus()];
    const sfu = await pool([a.url, b.url]);
    const s = await server({ sfu });
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'];
    for (let g = 0; g < 3; g++) await makeGroup(s, `g${g}`, users.slice(g * 3, g * 3 + 3));
    const clients = await Promise.all(users.map((u) => s.login(u)));
    const at = async (callID: string) => (await record(s, callID)).sfu?.janus;

    // Both empty: the first in the list; then the other; then both hold one: the first again.
    const c0 = await groupCall('g0', clients[0]!, clients.slice(1, 3));
    const c1 = await groupCall('g1', clients[3]!, clients.slice(4, 6));
    expect([await at(c0.callID), await at(c1.callID)]).toEqual([a.url, b.url]);
    const placed = await record(s, c0.callID);
    expect(placed.sfu).toEqual({
      node: (await s.cluster.presence.get('u1'))!.nodeID,
      janus: a.url,
      room: expect.any(Number) as number,
    });
    expect(sfu.placement(c0.callID)).toEqual({ janus: a.url, room: placed.sfu!.room });

    // A ends its call: it is the least loaded now.
    await endCall(c0.callID, clients.slice(0, 3));
    const c2 = await groupCall('g2', clients[6]!, clients.slice(7, 9));
    expect(await at(c2.callID)).toBe(a.url);
    expect(sfu.members.map((m) => m.rooms)).toEqual([1, 1]);

    // A Janus that does not answer is skipped, however little it holds.
    await endCall(c2.callID, clients.slice(6, 9));
    await a.close();
    await until('the pool sees A gone', () => !sfu.members[0]!.connected);
    const c3 = await groupCall('g0', clients[0]!, clients.slice(1, 3));
    expect(await at(c3.callID)).toBe(b.url);
    expect(sfu.members).toEqual([
      { url: a.url, connected: false, rooms: 0 },
      { url: b.url, connected: true, rooms: 2 },
    ]);

    await endCall(c1.callID, clients.slice(3, 6));
    await endCall(c3.callID, clients.slice(0, 3));
    expectNoCallState(s);
    expect(sfu.members.map((m) => m.rooms)).toEqual([0, 0]);
  }, 60_000);

  test('a pool whose Janus all fail to answer gives no SFU and names them', async () => {
    const made = await createSfu({
      mode: 'ws://127.0.0.1:9,ws://127.0.0.1:7',
      dataDir: tmpdir(),
      log: silentLogger,
    });
    expect(made.sfu).toBeUndefined();
    expect(made.message).toContain('ws://127.0.0.1:9,ws://127.0.0.1:7');
  }, 20_000);
});

describe.skipIf(!hasJanus || !inNetns)('kill -9 of the Janus holding a group call', () => {
  test('the room is re-created on the other Janus, members publish again and decode each other; the killed one takes new rooms once back', async () => {
    const [a, b] = [await janus(), await janus()];
    const sfu = await pool([a.url, b.url]);
    const s = await server({ sfu });
    await makeGroup(s, 'team', ['alice', 'bob', 'carol']);
    await makeGroup(s, 'other', ['dave', 'erin', 'frank']);
    const [alice, bob, carol, dave, erin, frank] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((u) => s.login(u)),
    );
    const { callID } = await groupCall('team', alice!, [bob!, carol!]);
    const before = (await record(s, callID)).sfu!;
    expect(before.janus).toBe(a.url);
    const peers = peersFor([alice!, bob!, carol!], callID);
    await Promise.all(peers.map((p) => p.publish()));
    await everyoneSeesEveryone(peers, 10);

    const killed = a.pid!;
    const t0 = Date.now();
    process.kill(killed, 'SIGKILL');
    await until('every member handled sfuReset', () => peers.every((p) => p.resets === 1));
    // The first fresh frame of every member from every other one.
    await everyoneSeesEveryone(peers, 1);
    const mediaBackMs = Date.now() - t0;
    await everyoneSeesEveryone(peers, 10);
    const after = (await record(s, callID)).sfu!;
    expect(after).toMatchObject({ node: before.node, janus: b.url });
    expect(after.room).not.toBe(before.room);
    for (const c of [alice!, bob!, carol!]) {
      await c.sync();
      expect(c.pushes.filter((p) => p.type === 'callEnded' || p.type === 'userLeave')).toEqual([]);
    }
    console.log(
      `janus pool: kill -9 -> every member decodes every other again in ${mediaBackMs} ms`,
    );

    // A's supervisor restarts it; the pool reconnects and places the next room there.
    await until('A is back in the pool', () => a.pid !== killed && sfu.members[0]!.connected);
    const next = await groupCall('other', dave!, [erin!, frank!]);
    expect((await record(s, next.callID)).sfu!.janus).toBe(a.url);
    const nextPeers = peersFor([dave!, erin!, frank!], next.callID);
    await Promise.all(nextPeers.map((p) => p.publish()));
    await everyoneSeesEveryone(nextPeers, 10);

    await endCall(callID, [alice!, bob!, carol!]);
    await endCall(next.callID, [dave!, erin!, frank!]);
    expectNoCallState(s);
  }, 120_000);
});

describe.skipIf(!hasJanus)('two server nodes sharing one cluster and one Janus', () => {
  /** Node A and node B on one memory cluster, each with its own connection to `url`. */
  async function twoNodes(
    url: string,
    sfuRouteTimeoutMs?: number,
  ): Promise<[TestServer, TestServer]> {
    const cluster = createMemoryCluster();
    opened.push(() => cluster.close());
    const nodes: TestServer[] = [];
    for (let i = 0; i < 2; i++) {
      // The nodes of one app share a room key (the server derives it from the secret key).
      const sfu = await JanusSfu.connect({ url, log: silentLogger, roomKey: 'team-room-key' });
      opened.push(() => sfu.close());
      nodes.push(
        await server({
          sfu,
          cluster,
          ...(sfuRouteTimeoutMs !== undefined && { sfuRouteTimeoutMs }),
        }),
      );
    }
    // One group store per node in tests: both know the group.
    for (const n of nodes) await makeGroup(n, 'team', ['alice', 'bob', 'carol', 'dave']);
    return [nodes[0]!, nodes[1]!];
  }

  test("a member on the other node is served by the room's node: requests, errors and pushes cross the bus", async () => {
    const j = await janus();
    const [nodeA, nodeB] = await twoNodes(j.url);
    const alice = await nodeA.login('alice');
    const [bob, carol] = [await nodeB.login('bob'), await nodeB.login('carol')];
    const { callID } = await groupCall('team', alice, [bob, carol]);
    const placed = (await record(nodeA, callID)).sfu!;
    expect(placed.node).toBe((await nodeA.cluster.presence.get('alice'))!.nodeID);
    expect(placed.node).not.toBe((await nodeB.cluster.presence.get('bob'))!.nodeID);

    // Janus's refusal of a bad offer comes back to node B's member as the owner answered it.
    const refused = await bob.fail('sfuPublish', {
      callID,
      description: { type: 'offer', sdp: 'v=0\r\n' },
    });
    expect(refused.code).toBe(ServerErrorCode.INVALID_CALL_STATE);
    expect(refused.message).toMatch(/SFU publish refused/);
    // So do the owner's own checks.
    const self = await carol.fail('sfuLayer', { callID, userID: 'carol', substream: 0 });
    expect(self.code).toBe(ServerErrorCode.INVALID_FIELD);
    const noOffer = await carol.fail('sfuAnswer', {
      callID,
      description: { type: 'answer', sdp: 'v=0\r\n' },
    });
    expect(noOffer.code).toBe(ServerErrorCode.INVALID_CALL_STATE);
    // A join through node B (it asks the owner whether the room is being re-created) works.
    const dave = await nodeB.login('dave');
    expect((await dave.call('join', { groupID: 'team', callType: video })).callID).toBe(callID);

    // A hangup on node B leaves the room on node A; the last one closes it there.
    await endCall(callID, [bob, carol, dave, alice]);
    expectNoCallState(nodeA);
  }, 60_000);

  test.skipIf(!inNetns)(
    'a group call whose members are on different nodes has media both ways',
    async () => {
      const j = await janus();
      const [nodeA, nodeB] = await twoNodes(j.url);
      const alice = await nodeA.login('alice');
      const [bob, carol] = [await nodeB.login('bob'), await nodeB.login('carol')];
      const { callID } = await groupCall('team', alice, [bob, carol]);
      const peers = peersFor([alice, bob, carol], callID);
      await Promise.all(peers.map((p) => p.publish()));
      await everyoneSeesEveryone(peers, 10);
      // Choosing a layer from node B reaches the subscriber on node A's Janus session.
      await carol.call('sfuLayer', { callID, userID: 'alice', substream: 0 });
      await endCall(callID, [bob, carol, alice]);
      expectNoCallState(nodeA);
    },
    60_000,
  );

  test.skipIf(!inNetns)(
    "a ringing invitee on the other node pre-connects through the room's node; media flows at accept",
    async () => {
      const j = await janus();
      const [nodeA, nodeB] = await twoNodes(j.url);
      const alice = await nodeA.login('alice');
      const [bob, carol] = [await nodeB.login('bob'), await nodeB.login('carol')];
      const { callID, inviteID } = await alice.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: video,
        groupID: 'team',
      });
      await bob.call('accept', { inviteID });
      const [pa, pc] = peersFor([alice, carol], callID);
      await pa!.publish();
      // carol rings: her requests go from node B to node A, which holds her in its room.
      await pc!.publish({ held: true });
      await pc!.offer((o) => o.streams.some((s) => s.userID === 'alice'));
      await carol.call('accept', { inviteID });
      await pc!.attach();
      await pc!.framesFrom('alice', 5);
      await pa!.framesFrom('carol', 5);
      expect(pc!.offers).toHaveLength(1);
      await endCall(callID, [bob, carol, alice]);
      expectNoCallState(nodeA);
    },
    60_000,
  );

  test('when the node driving the room is gone, the other node takes the room over: SFU_RESTARTING, then sfuReset to every member, and the old room is destroyed', async () => {
    const j = await janus();
    // Shorter than the test client's 5 s reply timeout.
    const [nodeA, nodeB] = await twoNodes(j.url, 1_000);
    const alice = await nodeA.login('alice');
    const [bob, carol] = [await nodeB.login('bob'), await nodeB.login('carol')];
    const { callID } = await groupCall('team', alice, [bob, carol]);
    const before = (await record(nodeB, callID)).sfu!;
    const ownerBefore = before.node;
    expect(await roomExists(j.url, before.room)).toBe(true);
    // Node A stops (its member leaves the call); the room stays recorded as node A's.
    await nodeA.close();
    await until('alice left', async () => {
      const members = (await record(nodeB, callID)).members.map((m) => m.userID);
      return !members.includes('alice');
    });
    // Nobody takes requests on node A's channel any more: node B takes the room over at once.
    const restarting = await bob.fail('sfuRestart', { callID });
    expect(restarting.code).toBe(ServerErrorCode.SFU_RESTARTING);
    await Promise.all([bob.waitForPush('sfuReset'), carol.waitForPush('sfuReset')]);
    const after = (await record(nodeB, callID)).sfu;
    expect(after?.node).toBeDefined();
    expect(after?.node).not.toBe(ownerBefore);
    expect(after?.room).not.toBe(before.room);
    // The dead node's room, which the members used until told, does not stay on Janus.
    await until('the old room is destroyed', async () => !(await roomExists(j.url, before.room)));
    expect(await roomExists(j.url, after!.room)).toBe(true);
    // Node B serves the call's requests now: Bob, who has not published into the new room yet,
    // has nothing to restart there (no longer SFU_RESTARTING or a wait on node A).
    const served = await bob.fail('sfuRestart', { callID });
    expect(served.code).toBe(ServerErrorCode.INVALID_CALL_STATE);
    // The call goes on without its media node until it ends; ending it does not wait long on it.
    await endCall(callID, [bob, carol]);
    expectNoCallState(nodeB);
    expect(await janusAnswers(j.url, 1_000)).toBe(true);
  }, 60_000);
});
