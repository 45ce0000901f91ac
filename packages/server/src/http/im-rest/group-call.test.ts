/**
 * A group made and changed only through Tencent IM's REST API is the group the call layer uses:
 * its members call into it (`invite` with groupID, as TRTCCalling's `groupCall` sends) and
 * `join` its call; people removed or never added are refused. Signalling against a real Janus
 * (auto mode), so it runs inside the test network namespace (scripts/in-netns.sh).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { genUserSig } from '../../auth/usersig.js';
import { expectNoCallState, startTestServer, type TestServer } from '../../testing/server.js';
import { hasJanus, useTestSfu } from '../../testing/sfu.js';

const video = CallType.VIDEO;

const sfu = useTestSfu();
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** One Tencent REST command, authenticated as an app backend does it. */
async function rest(s: TestServer, command: string, body: unknown) {
  const sig = genUserSig({
    sdkAppID: s.sdkAppID,
    secretKey: s.secretKey,
    userID: 'administrator',
  });
  const query = `sdkappid=${s.sdkAppID}&identifier=administrator&usersig=${sig}&random=7&contenttype=json`;
  const res = await fetch(`${s.url}/v4/group_open_http_svc/${command}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { ActionStatus: string; ErrorCode: number; GroupId?: string };
}

describe.skipIf(!hasJanus)('a group made through the IM REST API, called into', () => {
  it('its members groupCall and join; removed and unknown users are refused; destroyed, it is gone', async () => {
    const s = (server = await startTestServer(sfu.options()));
    const created = await rest(s, 'create_group', {
      Owner_Account: 'alice',
      Type: 'Public',
      Name: 'Team',
      MemberList: [{ Member_Account: 'bob' }, { Member_Account: 'dave' }],
    });
    expect(created).toMatchObject({ ActionStatus: 'OK', ErrorCode: 0 });
    const groupID = created.GroupId!;
    expect(
      await rest(s, 'add_group_member', {
        GroupId: groupID,
        MemberList: [{ Member_Account: 'carol' }],
      }),
    ).toMatchObject({ ActionStatus: 'OK' });
    expect(
      await rest(s, 'delete_group_member', { GroupId: groupID, MemberToDel_Account: ['dave'] }),
    ).toMatchObject({ ActionStatus: 'OK' });

    const [alice, bob, carol, dave, mallory] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave', 'mallory'].map((u) => s.login(u)),
    );

    // Not a member: may not call through the group.
    const outsider = await mallory!.fail('invite', {
      userIDList: ['bob'],
      callType: video,
      groupID,
    });
    expect(outsider.code).toBe(ServerErrorCode.NOT_GROUP_MEMBER);

    // TRTCCalling's groupCall({userIDList, type, groupID}) sends this invite.
    const invite = await alice!.call('invite', { userIDList: ['bob'], callType: video, groupID });
    expect(invite.media).toBe('sfu');
    expect(await bob!.waitForPush('invited')).toMatchObject({
      callID: invite.callID,
      sponsor: 'alice',
      groupID,
      isFromGroup: true,
    });
    await bob!.call('accept', { inviteID: invite.inviteID });
    expect(await alice!.waitForPush('userEnter')).toMatchObject({ userID: 'bob' });

    // A member added by add_group_member joins the running call.
    const joined = await carol!.call('join', { groupID, callType: video });
    expect(joined).toMatchObject({ callID: invite.callID, groupID, media: 'sfu' });
    for (const c of [alice, bob]) {
      expect(await c!.waitForPush('userEnter')).toMatchObject({ userID: 'carol' });
    }

    // Removed by delete_group_member, or never added: refused.
    expect((await dave!.fail('join', { groupID, callType: video })).code).toBe(
      ServerErrorCode.NOT_GROUP_MEMBER,
    );
    expect((await mallory!.fail('join', { groupID, callType: video })).code).toBe(
      ServerErrorCode.NOT_GROUP_MEMBER,
    );

    // One member left ends a group call.
    for (const c of [alice, bob]) await c!.call('hangup', { callID: invite.callID });
    expect(await carol!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
    expect(await rest(s, 'destroy_group', { GroupId: groupID })).toMatchObject({
      ActionStatus: 'OK',
    });
    expect((await alice!.fail('join', { groupID, callType: video })).code).toBe(
      ServerErrorCode.GROUP_NOT_FOUND,
    );
    expectNoCallState(s);
  });
});
