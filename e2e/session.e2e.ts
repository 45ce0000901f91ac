import { describe, expect, test } from 'vitest';
import { EVENT, connect, useRingline } from './harness/index.js';

const ringline = useRingline();

describe('the SDK bundle', () => {
  test('exposes window.TRTCCalling with the seed event names in TRTCCalling.EVENT', async () => {
    const alice = await ringline.user('alice', { login: false });
    const table = await alice.page.evaluate(() => ({
      ...(window as unknown as { TRTCCalling: { EVENT: Record<string, string> } }).TRTCCalling
        .EVENT,
    }));
    expect(table).toMatchObject(EVENT);
  });

  test('login fires SDK_READY', async () => {
    const alice = await ringline.user('alice', { login: false });
    const after = await alice.mark();
    await alice.sdk.login({ userID: alice.userID, userSig: ringline.server.userSig(alice.userID) });
    await alice.waitForEvent(EVENT.SDK_READY, undefined, { after });
  });

  test('login with a userSig made for another user is refused with a coded error', async () => {
    const alice = await ringline.user('alice', { login: false });
    const error = await alice.sdk
      .login({ userID: alice.userID, userSig: ringline.server.userSig('mallory') })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 40104 }); // USERSIG_WRONG_USER
  });
});

describe('KICKED_OUT', () => {
  test('logging in as the same user on a second page kicks the first page out', async () => {
    const alice = await ringline.user('alice');
    const after = await alice.mark();

    const aliceAgain = await ringline.sameUser(alice);
    await alice.waitForEvent(EVENT.KICKED_OUT, undefined, { after });

    // Calls now reach the second page, not the first.
    const bob = await ringline.user('bob');
    await connect(bob, aliceAgain);
    expect(await alice.events(EVENT.INVITED)).toEqual([]);
  });
});
