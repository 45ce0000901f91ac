/**
 * The SFU heals: a group call whose Janus is killed (`kill -9`) goes on. The server re-creates the
 * room on the restarted Janus and pushes `sfuReset`; the members publish and subscribe again and
 * frames flow again, with no `callEnded`. A Janus that does not come back ends the call cleanly
 * (`sfu_lost`) within the heal timeout, and leaves the group free.
 *
 * Real parts only: the real server, a real Janus (started and supervised as `--janus auto` does),
 * real groups store, and @roamhq/wrtc peers publishing and decoding real frames (so the media test
 * runs only inside the test network namespace, scripts/in-netns.sh).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { silentLogger } from '../log.js';
import {
  createSfu,
  JanusSfu,
  startJanus,
  type JanusProcess,
  type SfuAdapter,
} from '../sfu/index.js';
import { findExecutable, janusAnswers } from '../sfu/janus-process.js';
import type { TestClient } from '../testing/client.js';
import { expectNoCallState, makeGroup, startTestServer } from '../testing/server.js';
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

/** Whether both of `peer`'s connections are up. */
function isUp(peer: MediaPeer): boolean {
  return peer.states.publisher === 'connected' && peer.states.subscriber === 'connected';
}

/** The pid of the janus that `--janus auto` runs in `janusDir` (its supervisor records it). */
async function janusPid(janusDir: string): Promise<number> {
  return Number(await readFile(join(janusDir, 'janus', 'janus.pid'), 'utf8'));
}

/** Polls `check` every 50 ms until it holds; rejects after `timeoutMs` (bounded). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** alice calls bob and carol (and `alsoRing`, who do not answer) into group `team`; both accept. */
async function groupCall(
  alice: TestClient,
  bob: TestClient,
  carol: TestClient,
  alsoRing: string[] = [],
) {
  const call = await alice.call('invite', {
    userIDList: ['bob', 'carol', ...alsoRing],
    callType: video,
    groupID: 'team',
  });
  await bob.call('accept', { inviteID: call.inviteID });
  await carol.call('accept', { inviteID: call.inviteID });
  return call;
}

describe.skipIf(!hasJanus || !inNetns)('Janus killed mid-call (supervised, comes back)', () => {
  test('every member gets sfuReset, publishes again and decodes the others again; a pre-connected invitee connects again, held; no callEnded; a later join works', async () => {
    const janusDir = await tempDir('ringline-heal-');
    const made = await createSfu({
      mode: 'auto',
      dataDir: janusDir,
      iceInterface,
      log: silentLogger,
    });
    if (!made.sfu) throw new Error(`no SFU for the test: ${made.message}`);
    const sfu: SfuAdapter = made.sfu;
    opened.push(() => sfu.close());
    const server = await startTestServer({ sfu });
    opened.push(() => server.close());
    await makeGroup(server, 'team', ['alice', 'bob', 'carol', 'dave', 'erin']);
    const [alice, bob, carol, dave, erin] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => server.login(u)),
    );
    const { callID, inviteID } = await groupCall(alice!, bob!, carol!, ['erin']);
    const names = ['alice', 'bob', 'carol'];
    const peers = [alice!, bob!, carol!].map((c) => new MediaPeer(c, callID));
    opened.push(() => peers.forEach((p) => p.close()));
    for (const p of peers) {
      p.follow();
      p.followResets();
    }
    await Promise.all(peers.map((p) => p.publish()));
    for (const [i, p] of peers.entries()) {
      for (const other of names.filter((n) => n !== names[i])) await p.framesFrom(other, 10);
    }
    // erin, still ringing, pre-connects (held: nothing flows either way until she answers).
    const erinPeer = new MediaPeer(erin!, callID);
    opened.push(() => erinPeer.close());
    erinPeer.follow();
    erinPeer.followResets();
    await erinPeer.publish({ held: true });
    await erinPeer.offer((o) => new Set(o.streams.map((s) => s.userID)).size === 3);
    await until('erin is pre-connected', () => isUp(erinPeer));

    const offersBefore = erinPeer.offers.length;
    const firstPid = await janusPid(janusDir);
    process.kill(firstPid, 'SIGKILL');
    // Every member is told, and publishes and subscribes again by itself ...
    await until('every member handled sfuReset', () => peers.every((p) => p.resets === 1));
    // The ringing invitee is told too, and connects again to the new room, still held.
    await until('erin handled sfuReset', () => erinPeer.resets === 1);
    await until('erin is offered the three members again', () =>
      erinPeer.offers
        .slice(offersBefore)
        .some((o) => new Set(o.streams.map((s) => s.userID)).size === 3),
    );
    await until('erin is pre-connected again', () => isUp(erinPeer));
    expect(await erinPeer.bytes()).toEqual({ sent: 0, received: 0 });
    expect(await janusPid(janusDir)).not.toBe(firstPid);
    // ... and decodes fresh frames from both others.
    for (const [i, p] of peers.entries()) {
      for (const other of names.filter((n) => n !== names[i])) {
        await p.framesFrom(other, (p.frames.get(other) ?? 0) + 10);
      }
    }
    // The call never ended and nobody left.
    for (const c of [alice!, bob!, carol!]) {
      await c.sync();
      expect(c.pushes.filter((p) => p.type === 'callEnded' || p.type === 'userLeave')).toEqual([]);
    }

    // erin answers: media both ways, on the connections she made while it rang.
    await erin!.call('accept', { inviteID });
    await erinPeer.attach();
    await erinPeer.framesFrom('alice', 10);
    await peers[0]!.framesFrom('erin', 10);

    // A member who joins after the heal gets into the new room: media both ways.
    const joined = await dave!.call('join', { groupID: 'team', callType: video });
    expect(joined.callID).toBe(callID);
    const davePeer = new MediaPeer(dave!, callID);
    opened.push(() => davePeer.close());
    davePeer.follow();
    await davePeer.publish();
    await davePeer.framesFrom('alice', 10);
    await peers[1]!.framesFrom('dave', 10);

    for (const c of [alice!, bob!, carol!, erin!]) await c.call('hangup', { callID });
    expect(await dave!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
    expectNoCallState(server);
  }, 90_000);
});

describe.skipIf(!hasJanus)('Janus gone for good (not restarted)', () => {
  let janus: JanusProcess | undefined;

  test('sfu* answers SFU_RESTARTING and join waits; after the heal timeout the call ends with sfu_lost and the group is free', async () => {
    const janusDir = await tempDir('ringline-gone-');
    janus = await startJanus({ dataDir: janusDir, iceInterface, log: silentLogger });
    opened.push(() => janus?.close());
    const sfu = await JanusSfu.connect({ url: janus.url, log: silentLogger });
    opened.push(() => sfu.close());
    const server = await startTestServer({ sfu, sfuHealTimeout: 1.5 });
    opened.push(() => server.close());
    await makeGroup(server, 'team', ['alice', 'bob', 'carol', 'dave']);
    const [alice, bob, carol, dave] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((u) => server.login(u)),
    );
    const { callID } = await groupCall(alice!, bob!, carol!);

    // Janus stops and its supervision with it: nothing brings it back.
    const url = janus.url;
    await janus.close();
    await until('janus is gone', async () => !(await janusAnswers(url, 200)));

    // Media requests of the call say "retry after sfuReset" while the server waits for Janus.
    await until('the room is known lost', async () => {
      const refused = await bob!.fail('sfuPublish', {
        callID,
        description: { type: 'offer', sdp: 'v=0\r\n' },
      });
      return refused.code === ServerErrorCode.SFU_RESTARTING;
    });
    const layer = await carol!.fail('sfuLayer', { callID, userID: 'alice', substream: 0 });
    expect(layer.code).toBe(ServerErrorCode.SFU_RESTARTING);
    const restart = await carol!.fail('sfuRestart', { callID });
    expect(restart.code).toBe(ServerErrorCode.SFU_RESTARTING);
    // Someone who is not in the call is still told so first.
    const outsider = await dave!.fail('sfuPublish', {
      callID,
      description: { type: 'offer', sdp: 'v=0\r\n' },
    });
    expect(outsider.code).toBe(ServerErrorCode.NOT_CALL_MEMBER);

    // A join waits for the room; the room never comes, the call ends, and the join says so.
    const join = dave!.request('join', { groupID: 'team', callType: video });
    for (const c of [alice!, bob!, carol!]) {
      expect(await c.waitForPush('callEnded', (p) => p.callID === callID, 10_000)).toMatchObject({
        reason: 'sfu_lost',
      });
    }
    const joinReply = await join;
    expect(joinReply.ok ? 'joined' : joinReply.error.code).toBe(ServerErrorCode.CALL_NOT_FOUND);
    expectNoCallState(server);
    // The group is free: a new call into it is refused only for want of an SFU, not as busy.
    const again = await alice!.fail('invite', {
      userIDList: ['bob'],
      callType: video,
      groupID: 'team',
    });
    expect(again.code).toBe(ServerErrorCode.SFU_UNAVAILABLE);
    expectNoCallState(server);
  }, 60_000);
});
