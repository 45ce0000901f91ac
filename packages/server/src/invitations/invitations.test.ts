import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { expectNoCallState, startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

const audio = CallType.AUDIO;

describe('reject', () => {
  test('the caller gets rejected, then callEnded{no_answer}; both are free again', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.waitForPush('invited');
    await bob.call('reject', { inviteID });
    expect(await alice.waitForPush('rejected')).toMatchObject({ inviteID, callID, userID: 'bob' });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'no_answer' });
    expectNoCallState(server);
  });

  test('with busy:true the caller gets lineBusy instead', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('reject', { inviteID, busy: true });
    expect(await alice.waitForPush('lineBusy')).toMatchObject({ inviteID, userID: 'bob' });
    await alice.waitForPush('callEnded');
    await alice.sync();
    expect(alice.pushes.map((p) => p.type)).toEqual(['lineBusy', 'callEnded']);
  });

  test('twice, or after accepting, is INVITATION_ALREADY_HANDLED', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('accept', { inviteID });
    expect((await bob.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.INVITATION_ALREADY_HANDLED,
    );
    expect((await bob.fail('reject', { inviteID })).code).toBe(
      ServerErrorCode.INVITATION_ALREADY_HANDLED,
    );
  });
});

describe('busy', () => {
  test('an invitee already in a call is busy: lineBusy right after the reply, then callEnded', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    const first = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('accept', { inviteID: first.inviteID });

    const second = await carol.call('invite', { userIDList: ['bob'], callType: audio });
    expect(await carol.waitForPush('lineBusy')).toMatchObject({
      inviteID: second.inviteID,
      userID: 'bob',
    });
    expect(await carol.waitForPush('callEnded')).toMatchObject({
      callID: second.callID,
      reason: 'no_answer',
    });
    await bob.sync();
    expect(bob.pushes.filter((p) => p.type === 'invited')).toHaveLength(1);
    // The first call is untouched.
    await alice.call('signal', {
      callID: first.callID,
      to: 'bob',
      data: { candidate: { candidate: 'c' } },
    });
    await bob.waitForPush('signal');
  });

  test('an invitee whose phone is ringing is busy', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.waitForPush('invited');
    const second = await carol.call('invite', { userIDList: ['bob'], callType: audio });
    expect(await carol.waitForPush('lineBusy')).toMatchObject({
      inviteID: second.inviteID,
      userID: 'bob',
    });
    await bob.sync();
    expect(bob.pushes.filter((p) => p.type === 'invited')).toHaveLength(1);
  });

  test('a caller who is in a call or ringing cannot start another: ALREADY_IN_CALL', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    await server.login('carol');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.waitForPush('invited');
    expect((await alice.fail('invite', { userIDList: ['carol'], callType: audio })).code).toBe(
      ServerErrorCode.ALREADY_IN_CALL,
    );
    expect((await bob.fail('invite', { userIDList: ['carol'], callType: audio })).code).toBe(
      ServerErrorCode.ALREADY_IN_CALL,
    );
  });
});

describe('cancel', () => {
  test('by the caller: the invitee gets inviteEnded{cancelled}, the caller callEnded{cancelled}', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.waitForPush('invited');
    await alice.call('cancel', { inviteID });
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({
      inviteID,
      callID,
      reason: 'cancelled',
    });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'cancelled' });
    expect((await bob.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
    expectNoCallState(server);
  });

  test('by hanging up while it rings: the invitee gets inviteEnded{cancelled}', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await alice.call('hangup', { callID });
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'cancelled' });
    expectNoCallState(server);
  });

  test('of an invitation that is not yours is NOT_YOUR_INVITATION; accepting it too', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    expect((await bob.fail('cancel', { inviteID })).code).toBe(ServerErrorCode.NOT_YOUR_INVITATION);
    expect((await carol.fail('cancel', { inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    expect((await carol.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    expect((await carol.fail('reject', { inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    expect((await alice.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.NOT_YOUR_INVITATION,
    );
    // Still ringing for bob.
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
  });

  test('after the invitee answered is INVITATION_ALREADY_HANDLED; an unknown id INVITATION_NOT_FOUND', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.call('accept', { inviteID });
    expect((await alice.fail('cancel', { inviteID })).code).toBe(
      ServerErrorCode.INVITATION_ALREADY_HANDLED,
    );
    expect((await alice.fail('cancel', { inviteID: 'no-such-invite' })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
    expect((await bob.fail('accept', { inviteID: 'no-such-invite' })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
  });
});

describe('timeout', () => {
  test('noResponse to the caller, inviteEnded{timeout} to the invitee, then callEnded{no_answer}', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 1,
    });
    expect((await bob.waitForPush('invited')).timeout).toBe(1);
    const started = Date.now();
    expect(await alice.waitForPush('noResponse')).toMatchObject({
      inviteID,
      callID,
      userID: 'bob',
      userIDList: ['bob'],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'timeout' });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'no_answer' });
    expect((await bob.fail('accept', { inviteID })).code).toBe(
      ServerErrorCode.INVITATION_NOT_FOUND,
    );
    expectNoCallState(server);
  });

  test('the server default applies when the invite names none', async () => {
    await server.close();
    server = await startTestServer({ inviteTimeout: 1 });
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    await alice.call('invite', { userIDList: ['bob'], callType: audio });
    expect((await bob.waitForPush('invited')).timeout).toBe(1);
    expect((await alice.waitForPush('noResponse')).userID).toBe('bob');
  });

  test('an answered invitation does not time out', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 1,
    });
    await bob.call('accept', { inviteID });
    expect(server.cluster.scheduler.pending).toBe(0);
  });
});

describe('an offline invitee', () => {
  test('gets the invitation when logging in while it rings, with the time left', async () => {
    const alice = await server.login('alice');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 20,
    });
    const bob = await server.login('bob');
    const invited = await bob.waitForPush('invited');
    expect(invited).toMatchObject({ inviteID, callID, sponsor: 'alice', seq: 1 });
    expect(invited.timeout).toBeGreaterThan(15);
    expect(invited.timeout).toBeLessThanOrEqual(20);
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
  });

  test('does not get an invitation that was cancelled before the login', async () => {
    const alice = await server.login('alice');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await alice.call('cancel', { inviteID });
    const bob = await server.login('bob');
    await bob.sync();
    expect(bob.pushes).toEqual([]);
  });
});

describe('requests that do not fit', () => {
  test('calling yourself is CANNOT_CALL_SELF', async () => {
    const alice = await server.login('alice');
    expect((await alice.fail('invite', { userIDList: ['alice'], callType: audio })).code).toBe(
      ServerErrorCode.CANNOT_CALL_SELF,
    );
    expect(
      (await alice.fail('invite', { userIDList: ['bob', 'alice'], callType: audio })).code,
    ).toBe(ServerErrorCode.CANNOT_CALL_SELF);
    expectNoCallState(server);
  });

  test('signalling a user who has not joined is NOT_CALL_MEMBER; so is a stranger signalling', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    const data = { candidate: { candidate: 'c' } };
    // bob rings but has not joined yet.
    expect((await alice.fail('signal', { callID, to: 'bob', data })).code).toBe(
      ServerErrorCode.NOT_CALL_MEMBER,
    );
    await bob.call('accept', { inviteID });
    expect((await alice.fail('signal', { callID, to: 'carol', data })).code).toBe(
      ServerErrorCode.NOT_CALL_MEMBER,
    );
    expect((await carol.fail('signal', { callID, to: 'bob', data })).code).toBe(
      ServerErrorCode.NOT_CALL_MEMBER,
    );
    expect((await alice.fail('signal', { callID, to: 'alice', data })).code).toBe(
      ServerErrorCode.INVALID_FIELD,
    );
    expect((await alice.fail('signal', { callID: 'nope', to: 'bob', data })).code).toBe(
      ServerErrorCode.CALL_NOT_FOUND,
    );
    await bob.sync();
    expect(bob.pushes.filter((p) => p.type === 'signal')).toEqual([]);
  });

  test('hangup, media or switchCallType of a call you are not in is NOT_CALL_MEMBER', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.call('accept', { inviteID });
    expect((await carol.fail('hangup', { callID })).code).toBe(ServerErrorCode.NOT_CALL_MEMBER);
    expect((await carol.fail('media', { callID, audio: false, video: false })).code).toBe(
      ServerErrorCode.NOT_CALL_MEMBER,
    );
    expect((await carol.fail('switchCallType', { callID, callType: CallType.VIDEO })).code).toBe(
      ServerErrorCode.NOT_CALL_MEMBER,
    );
    await alice.call('signal', {
      callID,
      to: 'bob',
      data: { candidate: { candidate: 'still here' } },
    });
    await bob.waitForPush('signal');
  });

  test('switchCallType before the call connects is INVALID_CALL_STATE', async () => {
    const alice = await server.login('alice');
    await server.login('bob');
    const { callID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    expect((await alice.fail('switchCallType', { callID, callType: CallType.VIDEO })).code).toBe(
      ServerErrorCode.INVALID_CALL_STATE,
    );
  });

  test('inviting into a call you are not in is NOT_CALL_MEMBER; into no call CALL_NOT_FOUND', async () => {
    const alice = await server.login('alice');
    await server.login('bob');
    const carol = await server.login('carol');
    const { callID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    expect(
      (await carol.fail('invite', { userIDList: ['dave'], callType: audio, callID })).code,
    ).toBe(ServerErrorCode.NOT_CALL_MEMBER);
    expect(
      (await carol.fail('invite', { userIDList: ['dave'], callType: audio, callID: 'nope' })).code,
    ).toBe(ServerErrorCode.CALL_NOT_FOUND);
  });
});

describe('a session that ends', () => {
  test('while being invited counts as a reject', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await bob.waitForPush('invited');
    await bob.call('logout', {});
    expect(await alice.waitForPush('rejected')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ reason: 'no_answer' });
    expectNoCallState(server);
  });

  test('while inviting cancels the invitation', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID } = await alice.call('invite', { userIDList: ['bob'], callType: audio });
    await alice.call('logout', {});
    expect(await bob.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'cancelled' });
    expectNoCallState(server);
  });

  test('in a call leaves it: the other gets userLeave and callEnded{disconnected}', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
    });
    await bob.call('accept', { inviteID });
    await bob.call('logout', {});
    expect(await alice.waitForPush('userLeave')).toMatchObject({ callID, userID: 'bob' });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID, reason: 'disconnected' });
    expectNoCallState(server);
  });
});
