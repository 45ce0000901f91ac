import { ServerErrorCode } from '@ringline/protocol';
import { expect, test } from 'vitest';
import { EVENT, SdkCallError, VIDEO, connect, useRingline } from './harness/index.js';

// A server started with `--janus off`: no SFU, so group calls cannot work; one-to-one calls can.
const ringline = useRingline({ sfu: false });

test('groupCall without an SFU fails with SFU_UNAVAILABLE, saying how to enable one', async () => {
  const alice = await ringline.user('alice');
  const bob = await ringline.user('bob');
  const carol = await ringline.user('carol');

  const after = await alice.mark();
  const error = await alice.sdk
    .groupCall({ userIDList: [bob.userID, carol.userID], type: VIDEO })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(SdkCallError);
  expect((error as SdkCallError).code).toBe(ServerErrorCode.SFU_UNAVAILABLE);
  expect((error as SdkCallError).message).toMatch(/janus/i);
  const reported = await alice.waitForEvent(EVENT.ERROR, undefined, { after });
  expect(reported.payload.code).toBe(ServerErrorCode.SFU_UNAVAILABLE);
  expect(await bob.events(EVENT.INVITED)).toEqual([]);

  // One-to-one calls stay peer-to-peer and work.
  await connect(alice, bob);
});
