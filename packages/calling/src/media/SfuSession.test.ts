/**
 * SfuSession with real media: CallEngines in Node whose media backend is libwebrtc (@roamhq/wrtc),
 * against the real server driving a real Janus. Frames are generated, published through
 * `sfuPublish`, forwarded by Janus and decoded on the other side. Runs only inside the test network
 * namespace (scripts/in-netns.sh), where WebRTC cannot reach a real interface.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CallType } from '@ringline/protocol';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallEngine } from '../engine/CallEngine.js';
import { CallState } from '../engine/CallState.js';
import { EngineEvent, type EngineCallbacks } from '../engine/EngineEvent.js';
import type { WebSocketConstructor } from '../signal/SignalClient.js';
import {
  startTestServerWithSfu,
  waitFor,
  type TestServer,
} from '../test-support/server.test-support.js';
import { FrameCounter, WrtcMediaBackend } from '../test-support/wrtcMedia.test-support.js';
import { createLogger } from '../util/logger.js';
import { simulcastEncodings } from './SfuSession.js';

const canRun =
  process.env.RINGLINE_NETNS === '1' &&
  ['/usr/bin/janus', '/usr/local/bin/janus'].some((path) => existsSync(path));

interface Member {
  userID: string;
  engine: CallEngine;
  media: WrtcMediaBackend;
  frames: FrameCounter;
}

let ts: TestServer;
const members: Member[] = [];
let n = 0;

beforeAll(async () => {
  if (canRun) ts = await startTestServerWithSfu();
}, 30_000);
afterAll(async () => {
  await ts?.close();
});
afterEach(async () => {
  for (const m of members.splice(0)) {
    await m.engine.logout().catch(() => {});
    m.frames.close();
    m.media.close();
  }
});

async function member(name: string, preconnect = false): Promise<Member> {
  const userID = `${name}_${++n}`;
  const media = new WrtcMediaBackend();
  const engine = new CallEngine({
    sdkAppID: ts.server.sdkAppID,
    signalUrl: ts.signalUrl,
    media,
    preconnect,
    logger: createLogger(process.env.RINGLINE_TEST_LOG ? 'debug' : 'silent'),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const frames = new FrameCounter();
  engine.on(EngineEvent.RemoteTrack, (from, track) => frames.add(from, track));
  const m = { userID, engine, media, frames };
  members.push(m);
  await engine.login({ sdkAppID: ts.server.sdkAppID, userID, userSig: ts.sig(userID) });
  return m;
}

/** Resolves when an invitation rings at `m`. */
function ringingAt(m: Member) {
  return waitFor<EngineCallbacks, EngineEvent.Invited>(m.engine, EngineEvent.Invited);
}

/** Media bytes sent and received over `pcs`, as getStats counts them (RTP). */
async function mediaBytes(pcs: RTCPeerConnection[]): Promise<{ sent: number; received: number }> {
  let sent = 0;
  let received = 0;
  for (const pc of pcs) {
    (await pc.getStats()).forEach(
      (r: { type: string; bytesSent?: number; bytesReceived?: number }) => {
        if (r.type === 'outbound-rtp') sent += r.bytesSent ?? 0;
        if (r.type === 'inbound-rtp') received += r.bytesReceived ?? 0;
      },
    );
  }
  return { sent, received };
}

/** Resolves once `m` decodes more than 5 frames of each of `others`, and each of them of `m`. */
async function decodeEachOther(m: Member, others: Member[]): Promise<void> {
  for (const other of others) {
    for (const [to, from] of [
      [m, other],
      [other, m],
    ] as const) {
      await expect
        .poll(() => to.frames.frames(from.userID), { timeout: 20_000, interval: 100 })
        .toBeGreaterThan(5);
    }
  }
}

/**
 * `caller` calls the others (video) and each accepts as the invitation arrives; `alsoRing` are
 * invited too but never answer (a group call of two still goes through the SFU).
 */
async function groupCall(caller: Member, others: Member[], alsoRing: string[] = []): Promise<void> {
  const ringing = others.map((m) => ringingAt(m));
  await caller.engine.groupCall({
    userIDList: [...others.map((m) => m.userID), ...alsoRing],
    callType: CallType.VIDEO,
  });
  await Promise.all(ringing);
  for (const m of others) await m.engine.accept();
}

describe.skipIf(!canRun)('SfuSession (real media through Janus)', () => {
  it('three members: each decodes video from both others', async () => {
    const [alice, bob, carol] = [await member('alice'), await member('bob'), await member('carol')];
    await groupCall(alice, [bob, carol]);
    for (const m of [alice, bob, carol]) {
      expect(m.engine.state).toBe(CallState.Connected);
      for (const other of [alice, bob, carol]) {
        if (other === m) continue;
        await expect
          .poll(() => m.frames.frames(other.userID), { timeout: 20_000, interval: 100 })
          .toBeGreaterThan(10);
      }
    }
  }, 40_000);

  it('a 1:1 call moved to the SFU by a third member keeps its video flowing', async () => {
    const [alice, bob, carol] = [await member('alice'), await member('bob'), await member('carol')];
    const invited = ringingAt(bob);
    await alice.engine.call({ userID: bob.userID, callType: CallType.VIDEO });
    await invited;
    await bob.engine.accept();
    await expect
      .poll(() => bob.frames.frames(alice.userID), { timeout: 20_000, interval: 100 })
      .toBeGreaterThan(5);
    const carolInvited = ringingAt(carol);
    await alice.engine.inviteUser([carol.userID]);
    await carolInvited;
    await carol.engine.accept();
    // Frames after the move come through the SFU; counting goes on from where P2P left it.
    const before = bob.frames.frames(alice.userID);
    await expect
      .poll(() => bob.frames.frames(alice.userID), { timeout: 20_000, interval: 100 })
      .toBeGreaterThan(before + 10);
    await expect
      .poll(() => carol.frames.frames(bob.userID), { timeout: 20_000, interval: 100 })
      .toBeGreaterThan(10);
    expect(alice.media.sessions.map((s) => s.closed)).toEqual([true, false]);
  }, 60_000);

  it('pre-connect: a ringing invitee connects to the SFU with nothing sent either way; at accept media flows on those connections', async () => {
    const [alice, bob] = [await member('alice'), await member('bob')];
    const carol = await member('carol', true);
    const carolRings = ringingAt(carol);
    await groupCall(alice, [bob], [carol.userID]);
    await carolRings;
    expect(carol.engine.state).toBe(CallState.BeInvited);
    // Her publisher and her subscriber (once alice and bob publish, she is offered them).
    await expect
      .poll(() => carol.media.peerConnections.map((pc) => pc.connectionState), {
        timeout: 20_000,
        interval: 100,
      })
      .toEqual(['connected', 'connected']);
    // Media flows in the call meanwhile; none to or from carol.
    const seen = bob.frames.frames(alice.userID);
    await expect
      .poll(() => bob.frames.frames(alice.userID), { timeout: 20_000, interval: 100 })
      .toBeGreaterThan(seen + 20);
    expect(await mediaBytes(carol.media.peerConnections)).toEqual({ sent: 0, received: 0 });
    expect(carol.frames.frames(alice.userID)).toBe(0);

    await carol.engine.accept();
    await decodeEachOther(carol, [alice, bob]);
    // On the connections made while it rang: no new session, no new connection.
    expect(carol.media.sessions).toHaveLength(1);
    expect(carol.media.peerConnections).toHaveLength(2);
  }, 60_000);

  it('network quality: each member rates what it sends and each other member’s streams', async () => {
    const [alice, bob] = [await member('alice'), await member('bob')];
    // Through the SFU although only two answer: a group call with an invitee who never does.
    await groupCall(alice, [bob], [`absent_${n}`]);
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      // Once the SFU's receiver reports are in and the other's streams flow, both are rated: on
      // loopback, excellent or good (the mids of the subscriber's streams tell whose they are).
      const [info] = await waitFor<EngineCallbacks, EngineEvent.NetworkQuality>(
        me.engine,
        EngineEvent.NetworkQuality,
        ({ local, remote }) => local !== 0 && remote.length === 1 && remote[0]!.quality !== 0,
        20_000,
      );
      expect(info.remote.map((r) => r.userID)).toEqual([other.userID]);
      expect([1, 2]).toContain(info.local);
      expect([1, 2]).toContain(info.remote[0]!.quality);
    }
  }, 40_000);

  it('simulcast: the layer asked for decides the size received', async () => {
    const [alice, bob] = [await member('alice'), await member('bob')];
    // 720p, so that libwebrtc sends all three layers (1280, 640 and 320 wide).
    await alice.engine.setVideoQuality('720p');
    await groupCall(alice, [bob], [`absent_${n}`]);
    // Only Alice's video matters here; Bob's camera off spares the CPU.
    await bob.engine.setCamera(false);
    bob.engine.requestLayer(alice.userID, 2);
    await expect
      .poll(() => bob.frames.width(alice.userID), { timeout: 30_000, interval: 200 })
      .toBe(1280);
    bob.engine.requestLayer(alice.userID, 0);
    await expect
      .poll(() => bob.frames.width(alice.userID), { timeout: 20_000, interval: 200 })
      .toBe(320);
  }, 60_000);
});

// Last in the file: it kills the Janus the file's server supervises (it comes back, healed).
describe.skipIf(!canRun)('SfuSession when Janus is killed mid-call', () => {
  it('every member publishes and subscribes again by itself; a pre-connected invitee connects again, held; frames resume; no CALL_END, no ERROR', async () => {
    const [alice, bob, carol] = [await member('alice'), await member('bob'), await member('carol')];
    const dave = await member('dave', true);
    const trouble: string[] = [];
    for (const m of [alice, bob, carol, dave]) {
      m.engine.on(EngineEvent.CallEnded, (info) =>
        trouble.push(`${m.userID} ended: ${info.reason}`),
      );
      m.engine.on(EngineEvent.Error, (error) =>
        trouble.push(`${m.userID} error: ${error.message}`),
      );
    }
    const daveRings = ringingAt(dave);
    await groupCall(alice, [bob, carol], [dave.userID]);
    await daveRings;
    const states = (pcs: RTCPeerConnection[]) => pcs.map((pc) => pc.connectionState);
    const pairs = [alice, bob, carol].flatMap((m) =>
      [alice, bob, carol].filter((o) => o !== m).map((o) => [m, o] as const),
    );
    for (const [m, o] of pairs) {
      await expect
        .poll(() => m.frames.frames(o.userID), { timeout: 20_000, interval: 100 })
        .toBeGreaterThan(10);
    }
    await expect
      .poll(() => states(dave.media.peerConnections), { timeout: 20_000, interval: 100 })
      .toEqual(['connected', 'connected']);

    const pidFile = join(ts.dataDir, 'janus', 'janus.pid');
    const firstPid = Number(await readFile(pidFile, 'utf8'));
    process.kill(firstPid, 'SIGKILL');
    await expect
      .poll(async () => Number(await readFile(pidFile, 'utf8')), { timeout: 20_000, interval: 100 })
      .not.toBe(firstPid);
    // Counted from after the restart: these frames came through the new room.
    const before = new Map(
      pairs.map(([m, o]) => [`${m.userID}>${o.userID}`, m.frames.frames(o.userID)]),
    );
    for (const [m, o] of pairs) {
      const from = before.get(`${m.userID}>${o.userID}`)!;
      await expect
        .poll(() => m.frames.frames(o.userID), { timeout: 20_000, interval: 100 })
        .toBeGreaterThan(from + 10);
    }
    for (const m of [alice, bob, carol]) expect(m.engine.state).toBe(CallState.Connected);
    // dave, still ringing, connected again to the new room (two new connections), nothing sent.
    await expect
      .poll(() => states(dave.media.peerConnections.slice(2)), { timeout: 20_000, interval: 100 })
      .toEqual(['connected', 'connected']);
    expect(dave.engine.state).toBe(CallState.BeInvited);
    expect(await mediaBytes(dave.media.peerConnections.slice(2))).toEqual({ sent: 0, received: 0 });

    // He answers: media both ways on those connections.
    await dave.engine.accept();
    await decodeEachOther(dave, [alice, bob]);
    expect(dave.media.sessions).toHaveLength(1);
    expect(dave.media.peerConnections).toHaveLength(4);
    expect(trouble).toEqual([]);
  }, 90_000);
});

describe('simulcastEncodings', () => {
  it('sends rids h, m, l at full, half and quarter size, with shares of the bitrate', () => {
    expect(simulcastEncodings(900_000)).toEqual([
      { rid: 'h', active: true, scaleResolutionDownBy: 1, maxBitrate: 900_000 },
      { rid: 'm', active: true, scaleResolutionDownBy: 2, maxBitrate: 270_000 },
      { rid: 'l', active: true, scaleResolutionDownBy: 4, maxBitrate: 90_000 },
    ]);
    expect(simulcastEncodings(300_000).at(-1)!.maxBitrate).toBe(60_000);
  });
});
