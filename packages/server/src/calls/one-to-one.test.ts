import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallType, MediaMode, ServerErrorCode } from '@ringline/protocol';
import { startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

describe('one-to-one call, happy path', () => {
  test('invite → accept → signal both ways → media → switchCallType → hangup', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');

    const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.VIDEO });
    expect(invite.inviteID).toMatch(/\S/);
    expect(invite.roomID).toBeGreaterThanOrEqual(1);
    expect(invite.roomID).toBeLessThan(2 ** 31);
    expect(invite.media).toBe('p2p');

    const invited = await bob.waitForPush('invited');
    expect(invited).toEqual({
      type: 'invited',
      seq: 1,
      inviteID: invite.inviteID,
      callID: invite.callID,
      roomID: invite.roomID,
      sponsor: 'alice',
      userIDList: ['bob'],
      isFromGroup: false,
      callType: CallType.VIDEO,
      timeout: 30,
      media: MediaMode.P2P,
    });

    const accepted = await bob.call('accept', { inviteID: invite.inviteID });
    expect(accepted).toEqual({
      callID: invite.callID,
      roomID: invite.roomID,
      callType: CallType.VIDEO,
      members: [{ userID: 'alice', audio: true, video: true }],
      media: 'p2p',
      inviteeList: [],
    });
    expect(await alice.waitForPush('userEnter')).toMatchObject({
      callID: invite.callID,
      userID: 'bob',
      audio: true,
      video: true,
    });

    const offer = { description: { type: 'offer' as const, sdp: 'v=0 offer' } };
    await alice.call('signal', { callID: invite.callID, to: 'bob', data: offer });
    expect(await bob.waitForPush('signal')).toMatchObject({
      callID: invite.callID,
      from: 'alice',
      data: offer,
    });
    const candidate = {
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' },
    };
    await bob.call('signal', { callID: invite.callID, to: 'alice', data: candidate });
    expect(await alice.waitForPush('signal')).toMatchObject({ from: 'bob', data: candidate });

    await bob.call('media', { callID: invite.callID, audio: false, video: true });
    expect(await alice.waitForPush('mediaState')).toMatchObject({
      userID: 'bob',
      audio: false,
      video: true,
    });

    await alice.call('switchCallType', { callID: invite.callID, callType: CallType.AUDIO });
    expect(await bob.waitForPush('callTypeChanged')).toMatchObject({
      callID: invite.callID,
      callType: CallType.AUDIO,
      userID: 'alice',
    });

    await alice.call('hangup', { callID: invite.callID });
    expect(await bob.waitForPush('userLeave')).toMatchObject({
      callID: invite.callID,
      userID: 'alice',
    });
    expect(await bob.waitForPush('callEnded')).toMatchObject({
      callID: invite.callID,
      reason: 'hangup',
    });

    // Both are free again: bob can call alice.
    const again = await bob.call('invite', { userIDList: ['alice'], callType: CallType.AUDIO });
    expect(await alice.waitForPush('invited')).toMatchObject({
      inviteID: again.inviteID,
      sponsor: 'bob',
    });
    await bob.call('cancel', { inviteID: again.inviteID });
    await alice.waitForPush('inviteEnded');
    await bob.waitForPush('callEnded');
    const err = await bob.fail('hangup', { callID: invite.callID });
    expect(err.code).toBe(ServerErrorCode.CALL_NOT_FOUND);
  });
});
