/**
 * NETWORK_QUALITY (Ringline extension, TRTC's onNetworkQuality) with real media: two TRTCCalling
 * instances in Node whose media backend is libwebrtc (@roamhq/wrtc), in a 1:1 (peer-to-peer) call
 * through the real server, so the levels come from real getStats() reports. Runs only inside the
 * test network namespace (scripts/in-netns.sh), where WebRTC cannot reach a real interface.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import TRTCCalling from './TRTCCalling.js';
import type { NetworkQualityEvent } from './events/TRTCCallingEvent.js';
import type { WebSocketConstructor } from './signal/SignalClient.js';
import { EventLog } from './test-support/phone.test-support.js';
import { Network, startTestServer, type TestServer } from './test-support/server.test-support.js';
import { WrtcMediaBackend } from './test-support/wrtcMedia.test-support.js';
import { createLogger } from './util/logger.js';

const E = TRTCCalling.EVENT;
const Q = TRTCCalling.NETWORK_QUALITY;
const canRun = process.env.RINGLINE_NETNS === '1';

interface Party {
  userID: string;
  calling: TRTCCalling;
  events: EventLog;
  media: WrtcMediaBackend;
  /** Every NETWORK_QUALITY, with when it arrived (ms). */
  qualities: { at: number; event: NetworkQualityEvent }[];
}

let ts: TestServer;
const parties: Party[] = [];
let n = 0;

beforeAll(async () => {
  if (canRun) ts = await startTestServer();
});
afterAll(async () => {
  await ts?.close();
});
afterEach(async () => {
  for (const p of parties.splice(0)) {
    await p.calling.logout().catch(() => {});
    p.media.close();
  }
});

async function party(name: string): Promise<Party> {
  const userID = `${name}_${++n}`;
  const media = new WrtcMediaBackend();
  const calling = new TRTCCalling(
    { SDKAppID: ts.server.sdkAppID, server: ts.server.url },
    {
      media,
      WebSocket: new Network().WebSocket as unknown as WebSocketConstructor,
      logger: createLogger(process.env.RINGLINE_TEST_LOG ? 'debug' : 'silent'),
    },
  );
  const p: Party = { userID, calling, events: new EventLog(calling), media, qualities: [] };
  calling.on(E.NETWORK_QUALITY, (event) => p.qualities.push({ at: Date.now(), event }));
  parties.push(p);
  await calling.login({ userID, userSig: ts.sig(userID) });
  return p;
}

const isLevel = (q: unknown) =>
  Number.isInteger(q) && (q as number) >= Q.UNKNOWN && (q as number) <= Q.DOWN;
// On loopback nothing is lost and RTT is below a millisecond: excellent, at worst good.
const isLoopbackGood = (q: number) => q === Q.EXCELLENT || q === Q.GOOD;

describe.skipIf(!canRun)('NETWORK_QUALITY (real media, peer-to-peer)', () => {
  it('arrives every ~2 s during a call, rating both ends excellent/good on loopback; stops at hangup', async () => {
    const [alice, bob] = [await party('alice'), await party('bob')];
    await alice.calling.call({ userID: bob.userID, type: 2 });
    await bob.events.next(E.INVITED);
    await bob.calling.accept();
    await alice.events.next(E.USER_ENTER);

    // Once the first RTCP reports are in, each side rates itself and the other from real stats.
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const rated = await me.events.next(
        E.NETWORK_QUALITY,
        (e) => {
          const { localQuality, remoteQuality } = e as unknown as NetworkQualityEvent;
          return localQuality.quality !== Q.UNKNOWN && remoteQuality[0]?.quality !== Q.UNKNOWN;
        },
        12_000,
      );
      const { localQuality, remoteQuality } = rated as unknown as NetworkQualityEvent;
      expect(localQuality.userID, me.userID).toBe(me.userID);
      expect(isLoopbackGood(localQuality.quality), JSON.stringify(rated)).toBe(true);
      expect(remoteQuality.map((r) => r.userID)).toEqual([other.userID]);
      expect(isLoopbackGood(remoteQuality[0]!.quality), JSON.stringify(rated)).toBe(true);
    }
    // Every report is on the scale.
    for (const p of [alice, bob]) {
      while (p.qualities.length < 3) await p.events.next(E.NETWORK_QUALITY, () => true, 5_000);
      for (const { event } of p.qualities) {
        expect(isLevel(event.localQuality.quality)).toBe(true);
        expect(event.remoteQuality.every((r) => isLevel(r.quality))).toBe(true);
      }
      // On average 2 s apart (a busy machine may delay one tick), never two at once.
      const { qualities } = p;
      const mean = (qualities.at(-1)!.at - qualities[0]!.at) / (qualities.length - 1);
      expect(mean, p.userID).toBeGreaterThan(1_500);
      expect(mean, p.userID).toBeLessThan(3_000);
      for (let i = 1; i < qualities.length; i++) {
        expect(qualities[i]!.at - qualities[i - 1]!.at, p.userID).toBeGreaterThan(1_000);
      }
    }

    await alice.calling.hangup();
    await bob.events.next(E.CALL_END);
    const after = parties.map((p) => p.qualities.length);
    // Nothing announces "no more reports": watch for a few intervals that none comes.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(parties.map((p) => p.qualities.length)).toEqual(after);
  }, 40_000);
});
