import { describe, expect, test } from 'vitest';
import { EVENT, REMOTE_VIEW, connect, ring, useRingline } from './harness/index.js';

// A server started with --invite-timeout 2: calls made without a timeout use the server's.
const ringline = useRingline({ inviteTimeout: 2 });

describe("the server's invitation timeout", () => {
  test('an unanswered call times out after the server default: NO_RESP to the caller, CALLING_TIMEOUT to the callee', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const [aliceMark, bobMark] = [await alice.mark(), await bob.mark()];
    const started = Date.now();
    await ring(alice, bob);

    const [noResp, timeout] = await Promise.all([
      alice.waitForEvent(EVENT.NO_RESP, undefined, { after: aliceMark, timeoutMs: 10_000 }),
      bob.waitForEvent(EVENT.CALLING_TIMEOUT, undefined, { after: bobMark, timeoutMs: 10_000 }),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(noResp.payload).toMatchObject({ userID: bob.userID, userIDList: [bob.userID] });
    expect(timeout.payload).toBeTypeOf('object');

    await connect(alice, bob);
  });

  test('a call that is accepted in time is not ended by the timer', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const after = await alice.mark();
    const started = Date.now();
    await connect(alice, bob);

    // Outlast the 2 s timer with the call live: keep watching bob decode alice's video until 3 s
    // have passed since the call was placed.
    await bob.sdk.startRemoteView({ userID: alice.userID, videoViewDomID: REMOTE_VIEW });
    while (Date.now() - started < 3_000) await bob.expectFramesRising(alice.userID, { by: 5 });

    const ended = (await alice.events()).filter(
      (e) => e.index >= after && [EVENT.NO_RESP, EVENT.CALL_END].includes(e.name as never),
    );
    expect(ended).toEqual([]);
  });
});
