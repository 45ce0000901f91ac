/**
 * Pre-connect (issue 16): while a one-to-one peer-to-peer invitation rings, an invitee who asks for
 * it (`preconnect`) may exchange `signal` with the inviter, so that their media connection is up
 * before the answer. Nobody else may, nor before asking, nor once the invitation stops ringing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { startTestServer, type TestServer } from '../testing/server.js';
import type { TestClient } from '../testing/client.js';

const C = ServerErrorCode;
const offer = { description: { type: 'offer' as const, sdp: 'v=0 offer' } };
const answer = { description: { type: 'answer' as const, sdp: 'v=0 answer' } };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** alice calls bob (1:1, peer-to-peer); bob's invitation rings. */
async function ringing(options: Parameters<typeof startTestServer>[0] = {}) {
  server = await startTestServer(options);
  const alice = await server.login('alice');
  const bob = await server.login('bob');
  const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.VIDEO });
  await bob.waitForPush('invited');
  return { alice, bob, invite, server };
}

/** Every push and error frame sent so far has arrived: a ping round trip. */
const settled = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.call('ping', {})));

describe('pre-connect while a one-to-one call rings', () => {
  it('tells the inviter, then relays signal both ways before the answer, and as usual after it', async () => {
    const { alice, bob, invite } = await ringing();
    const { callID, inviteID } = invite;

    expect(await bob.call('preconnect', { inviteID })).toEqual({});
    expect(await alice.waitForPush('preconnect')).toMatchObject({
      inviteID,
      callID,
      userID: 'bob',
    });

    await alice.call('signal', { callID, to: 'bob', data: offer });
    expect(await bob.waitForPush('signal')).toMatchObject({ callID, from: 'alice', data: offer });
    await bob.call('signal', { callID, to: 'alice', data: answer });
    expect(await alice.waitForPush('signal')).toMatchObject({ callID, from: 'bob', data: answer });

    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    await bob.call('signal', { callID, to: 'alice', data: offer });
    expect(await alice.waitForPush('signal')).toMatchObject({ from: 'bob', data: offer });
  });

  it('asking twice tells the inviter once', async () => {
    const { alice, bob, invite } = await ringing();
    await bob.call('preconnect', { inviteID: invite.inviteID });
    await bob.call('preconnect', { inviteID: invite.inviteID });
    await alice.waitForPush('preconnect');
    await settled(alice, bob);
    expect(alice.unclaimedPushes().filter((p) => p.type === 'preconnect')).toEqual([]);
  });

  it('relays nothing between the ringing pair before the invitee asks', async () => {
    const { alice, bob, invite } = await ringing();
    const { callID } = invite;
    expect((await bob.fail('signal', { callID, to: 'alice', data: offer })).code).toBe(
      C.NOT_CALL_MEMBER,
    );
    expect((await alice.fail('signal', { callID, to: 'bob', data: offer })).code).toBe(
      C.NOT_CALL_MEMBER,
    );
    await settled(alice, bob);
    expect(alice.unclaimedPushes()).toEqual([]);
    expect(bob.unclaimedPushes()).toEqual([]);
  });

  it('lets nobody else in: a stranger neither asks nor signals, and the caller cannot ask', async () => {
    const { alice, bob, invite, server } = await ringing();
    const mallory = await server.login('mallory');
    const { callID, inviteID } = invite;
    await bob.call('preconnect', { inviteID });
    await alice.waitForPush('preconnect');
    expect((await mallory.fail('preconnect', { inviteID })).code).toBe(C.NOT_YOUR_INVITATION);
    expect((await alice.fail('preconnect', { inviteID })).code).toBe(C.NOT_YOUR_INVITATION);
    expect((await mallory.fail('signal', { callID, to: 'bob', data: offer })).code).toBe(
      C.NOT_CALL_MEMBER,
    );
    expect((await mallory.fail('signal', { callID, to: 'alice', data: offer })).code).toBe(
      C.NOT_CALL_MEMBER,
    );
    expect((await alice.fail('signal', { callID, to: 'mallory', data: offer })).code).toBe(
      C.NOT_CALL_MEMBER,
    );
    await settled(alice, bob, mallory);
    expect(bob.unclaimedPushes()).toEqual([]);
    expect(mallory.unclaimedPushes()).toEqual([]);
  });

  it.each([
    [
      'rejected',
      async (s: Awaited<ReturnType<typeof ringing>>) => {
        await s.bob.call('reject', { inviteID: s.invite.inviteID });
      },
    ],
    [
      'cancelled',
      async (s: Awaited<ReturnType<typeof ringing>>) => {
        await s.alice.call('cancel', { inviteID: s.invite.inviteID });
      },
    ],
  ])('stops relaying once the invitation is %s', async (_, end) => {
    const s = await ringing();
    const { callID, inviteID } = s.invite;
    await s.bob.call('preconnect', { inviteID });
    await s.alice.waitForPush('preconnect');
    await end(s);
    expect((await s.bob.fail('signal', { callID, to: 'alice', data: offer })).code).toBe(
      C.CALL_NOT_FOUND,
    );
    expect((await s.bob.fail('preconnect', { inviteID })).code).toBe(C.INVITATION_NOT_FOUND);
  });

  it('stops relaying when the invitation times out', async () => {
    server = await startTestServer();
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { callID, inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout: 1,
    });
    await bob.waitForPush('invited');
    await bob.call('preconnect', { inviteID });
    await bob.waitForPush('inviteEnded');
    expect((await bob.fail('signal', { callID, to: 'alice', data: offer })).code).toBe(
      C.CALL_NOT_FOUND,
    );
  });

  it('is refused with ring-all devices: which device will answer is unknown', async () => {
    const { bob, invite } = await ringing({ multiDevice: 'ring-all' });
    const refused = await bob.fail('preconnect', { inviteID: invite.inviteID });
    expect(refused.code).toBe(C.INVALID_CALL_STATE);
    expect(refused.message).toMatch(/ring-all/);
  });
});
