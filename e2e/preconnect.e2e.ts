/**
 * Pre-connect in Chromium (issue 16): with the SDK option on, a one-to-one call's peer connection
 * completes ICE and DTLS while it rings and sends nothing either way until the callee accepts;
 * Accept puts the tracks on that connection (no new one) and frames flow; a reject closes it.
 */
import { describe, expect, test } from 'vitest';
import {
  EVENT,
  VIDEO,
  connections,
  mediaBytes,
  pollUntil,
  ring,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

const ringline = useRingline();
const preconnect = { sdkOptions: { preconnect: true } };

const connected = (c: Awaited<ReturnType<typeof connections>>) =>
  c.states.length === 1 && c.states[0] === 'connected' && c.dtls.includes('connected');

/** alice calls bob (video), both with pre-connect on; resolves once both pages are pre-connected. */
async function ringingPreconnected(): Promise<[TestUser, TestUser]> {
  const alice = await ringline.user('alice', preconnect);
  const bob = await ringline.user('bob', preconnect);
  await ring(alice, bob, { type: VIDEO });
  for (const u of [alice, bob]) {
    await pollUntil(`${u.name} pre-connected`, () => connections(u), connected);
  }
  return [alice, bob];
}

describe('pre-connect', () => {
  test('connected while it rings with no media either way; Accept sends on that connection', async () => {
    const [alice, bob] = await ringingPreconnected();
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
    const [alice, bob] = await ringingPreconnected();
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
