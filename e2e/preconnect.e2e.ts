/**
 * Pre-connect in Chromium (issue 16): with the SDK option on, a one-to-one call's peer connection
 * completes ICE and DTLS while it rings and sends nothing either way until the callee accepts;
 * Accept puts the tracks on that connection (no new one) and frames flow; a reject closes it.
 */
import { describe, expect, test } from 'vitest';
import {
  EVENT,
  VIDEO,
  pollUntil,
  ring,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

const ringline = useRingline();
const preconnect = { sdkOptions: { preconnect: true } };

/** The page's peer connections not closed: their state, their DTLS state, and how many were made. */
function connections(user: TestUser) {
  return user.page.evaluate(async () => {
    const all = window.__ringline.peerConnections;
    const open = all.filter((pc) => pc.connectionState !== 'closed');
    const dtls: string[] = [];
    for (const pc of open) {
      (await pc.getStats()).forEach((s: { type: string; dtlsState?: string }) => {
        if (s.type === 'transport' && s.dtlsState) dtls.push(s.dtlsState);
      });
    }
    return { made: all.length, states: open.map((pc) => pc.connectionState), dtls };
  });
}

/** Media bytes this page sent and received, audio and video together. */
async function mediaBytes(user: TestUser): Promise<{ sent: number; received: number }> {
  const [sa, sv, ra, rv] = await Promise.all([
    user.rtpStats('outbound-rtp', 'audio'),
    user.rtpStats('outbound-rtp', 'video'),
    user.rtpStats('inbound-rtp', 'audio'),
    user.rtpStats('inbound-rtp', 'video'),
  ]);
  return { sent: sa.bytes + sv.bytes, received: ra.bytes + rv.bytes };
}

const connected = (c: Awaited<ReturnType<typeof connections>>) =>
  c.states.length === 1 && c.states[0] === 'connected' && c.dtls.includes('connected');

describe('pre-connect', () => {
  test('connected while it rings with no media either way; Accept sends on that connection', async () => {
    const alice = await ringline.user('alice', preconnect);
    const bob = await ringline.user('bob', preconnect);
    await ring(alice, bob, { type: VIDEO });
    for (const u of [alice, bob]) {
      await pollUntil(`${u.name} pre-connected`, () => connections(u), connected);
    }
    // Connected and ringing for a while (alice's camera is open): still not a byte of media.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const u of [alice, bob]) {
      expect(await mediaBytes(u), `${u.name}'s media bytes before Accept`).toEqual({
        sent: 0,
        received: 0,
      });
    }
    expect(await alice.events(EVENT.USER_ENTER)).toEqual([]);

    await bob.sdk.accept();
    await alice.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === bob.userID);
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
    for (const u of [alice, bob]) {
      const after = await connections(u);
      expect(after.made, `${u.name} made one peer connection in all`).toBe(1);
      expect(after.states).toEqual(['connected']);
      expect((await mediaBytes(u)).sent).toBeGreaterThan(0);
      expect(await u.events(EVENT.ERROR), `${u.name}'s ERROR events`).toEqual([]);
    }
  });

  test('a reject closes the pre-connection on both sides', async () => {
    const alice = await ringline.user('alice', preconnect);
    const bob = await ringline.user('bob', preconnect);
    await ring(alice, bob, { type: VIDEO });
    for (const u of [alice, bob]) {
      await pollUntil(`${u.name} pre-connected`, () => connections(u), connected);
    }
    await bob.sdk.reject();
    await alice.waitForEvent(EVENT.REJECT, (p) => p.userID === bob.userID);
    for (const u of [alice, bob]) {
      await pollUntil(
        `${u.name} closed the pre-connection`,
        () => connections(u),
        (c) => c.states.length === 0,
        { timeoutMs: 5_000 },
      );
    }
  });
});
