/**
 * A single server restarted mid-call on its data dir (its live state in DATA_DIR/state.db, the
 * default): P2P media never stops, both SDKs reconnect and resume their sessions by themselves,
 * nobody sees the other leave, and the call ends normally after. And an invitation rings on across
 * the restart: the callee accepts it after.
 */
import { describe, expect, test } from 'vitest';
import {
  EVENT,
  VIDEO,
  connect,
  longestFreeze,
  ring,
  showEachOther,
  useRingline,
} from './harness/index.js';

const ringline = useRingline();

describe('a server restart', () => {
  test('mid-call: P2P media never stops, both SDKs resume, nobody leaves, hangup ends the call', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
    const marks = await Promise.all([alice.mark(), bob.mark()]);

    const restarted = ringline.server.restart();
    // Media goes peer to peer: the restart must not show in it at all.
    const freezeMs = await longestFreeze([alice, bob], 6_000);
    await restarted;
    await Promise.all([
      alice.expectFramesRising(bob.userID, { by: 20 }),
      bob.expectFramesRising(alice.userID, { by: 20 }),
    ]);
    for (const [i, u] of [alice, bob].entries()) {
      for (const event of [EVENT.USER_LEAVE, EVENT.CALL_END, EVENT.KICKED_OUT, EVENT.ERROR]) {
        expect(
          (await u.events(event)).filter((e) => e.index >= marks[i]!),
          `${u.name}'s ${event} after the restart`,
        ).toEqual([]);
      }
    }
    // Signalling works again on both sides (their sessions resumed): Bob ends it, Alice hears it.
    await bob.sdk.hangup();
    await alice.waitForEvent(EVENT.CALL_END, undefined, { after: marks[0] });
    console.log(`server restarted mid 1:1 call: longest freeze of either view: ${freezeMs} ms`);
  });

  test('while ringing: the invitation rings on, and the callee accepts it after', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await ring(alice, bob, { type: VIDEO, timeout: 30 });
    const marks = await Promise.all([alice.mark(), bob.mark()]);
    await ringline.server.restart();
    // Accepting needs Bob's session back (the SDK waits for its reconnect), and Alice hears it
    // through hers.
    await bob.sdk.accept();
    await alice.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === bob.userID, {
      after: marks[0],
    });
    await showEachOther(alice, bob);
    await Promise.all([alice.expectFramesRising(bob.userID), bob.expectFramesRising(alice.userID)]);
    for (const [i, u] of [alice, bob].entries()) {
      for (const event of [EVENT.CALLING_TIMEOUT, EVENT.CALLING_CANCEL, EVENT.NO_RESP]) {
        expect((await u.events(event)).filter((e) => e.index >= marks[i]!)).toEqual([]);
      }
    }
    await alice.sdk.hangup();
    await bob.waitForEvent(EVENT.CALL_END, undefined, { after: marks[1] });
  });
});
