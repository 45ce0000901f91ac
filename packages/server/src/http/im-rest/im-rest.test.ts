/**
 * Tencent IM's REST group API (create_group, add_group_member, delete_group_member,
 * destroy_group, get_group_info) against a real server and its store (the group commands on
 * SQLite and on a real Postgres): Tencent's request and response shapes, its error numbers, and
 * the same groups as /api/admin/groups.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_GROUP_MEMBERS } from '../../groups/index.js';
import { adminUserSig, startTestServer, type TestServer } from '../../testing/server.js';
import { postgresBackend, sqliteBackend, type StoreBackend } from '../../testing/store-backends.js';
import { IM_REST_BODY_LIMIT, TencentCode as T } from './index.js';

const backends = [sqliteBackend(), postgresBackend()];

let server: TestServer;
/** Each test in the calling describe gets a new server, on `backend`'s store (default SQLite). */
function serveOn(backend?: StoreBackend): void {
  beforeEach(async () => {
    const database = backend && (await backend.fresh()).database;
    server = await startTestServer(database ? { database } : {});
  });
  afterEach(async () => {
    await server.close();
  });
}

const sigFor = (over: Parameters<typeof adminUserSig>[1] = {}) => adminUserSig(server, over);

/** Tencent's query string, as its server SDKs build it. */
const tencentQuery = (
  sig = sigFor(),
  identifier = 'administrator',
  sdkappid = String(server.sdkAppID),
) =>
  `sdkappid=${sdkappid}&identifier=${identifier}&usersig=${sig}&random=99999999&contenttype=json`;

interface Answer {
  ActionStatus: 'OK' | 'FAIL';
  ErrorCode: number;
  ErrorInfo: string;
  GroupId?: string;
  MemberList?: { Member_Account: string; Result: number }[];
  GroupInfo?: Record<string, unknown>[];
  FailAccounts?: string[];
}

interface Reply {
  status: number;
  body: Answer;
  text: string;
}

/** POSTs a Tencent REST command; `body` is JSON-encoded unless it is a string already. */
async function rest(
  command: string,
  body: unknown,
  opts: { query?: string; contentType?: string | null; service?: string } = {},
): Promise<Reply> {
  const query = opts.query ?? tencentQuery();
  const service = opts.service ?? 'group_open_http_svc';
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${server.url}/v4/${service}/${command}?${query}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer, text };
}

/** The group as our own admin API shows it (undefined when there is none). */
async function adminShow(groupID: string) {
  const res = await fetch(
    `${server.url}/api/admin/groups/${encodeURIComponent(groupID)}?${tencentQuery()}`,
  );
  if (res.status === 404) return undefined;
  return (await res.json()) as { groupID: string; name: string; members: { userID: string }[] };
}

const memberIDs = async (groupID: string) =>
  (await adminShow(groupID))?.members.map((m) => m.userID);

function expectFail(reply: Reply, code: number, status = 200) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.body).toEqual({
    ActionStatus: 'FAIL',
    ErrorCode: code,
    ErrorInfo: expect.any(String),
  });
  expect(reply.body.ErrorInfo.length).toBeGreaterThan(0);
}

function expectOK(reply: Reply) {
  expect(reply.status, reply.text).toBe(200);
  expect(reply.body).toMatchObject({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
}

describe('IM REST authentication (Tencent REST conventions)', () => {
  serveOn();
  it('accepts the administrator userSig in the query, with random and contenttype', async () => {
    const res = await rest('create_group', { Type: 'Public', Name: 'ok', GroupId: 'g1' });
    expectOK(res);
    expect(res.body.GroupId).toBe('g1');
  });

  const cases: [string, () => string, number][] = [
    [
      'a forged userSig (other secret key)',
      () => tencentQuery(sigFor({ secretKey: 'x' })),
      T.USERSIG_BAD_SIGNATURE,
    ],
    [
      'a userSig for another app',
      () => tencentQuery(sigFor({ sdkAppID: 1234567 })),
      T.USERSIG_WRONG_APP,
    ],
    [
      'a query naming another app',
      () => tencentQuery(sigFor(), 'administrator', '1234567'),
      T.APP_NOT_FOUND,
    ],
    [
      "alice's userSig claiming administrator",
      () => tencentQuery(sigFor({ userID: 'alice' })),
      T.USERSIG_WRONG_USER,
    ],
    [
      "alice as identifier with alice's userSig",
      () => tencentQuery(sigFor({ userID: 'alice' }), 'alice'),
      T.NOT_ADMIN,
    ],
    ['no identifier', () => `sdkappid=${server.sdkAppID}&usersig=${sigFor()}`, T.NOT_ADMIN],
    ['no usersig', () => `sdkappid=${server.sdkAppID}&identifier=administrator`, T.USERSIG_EMPTY],
    ['an empty usersig', () => tencentQuery(''), T.USERSIG_EMPTY],
    ['no sdkappid', () => `identifier=administrator&usersig=${sigFor()}`, T.NO_SDKAPPID],
    [
      'a sdkappid that is not a number',
      () => tencentQuery(sigFor(), 'administrator', 'abc'),
      T.NO_SDKAPPID,
    ],
    ['a usersig that is not one', () => tencentQuery('not-a-sig'), T.USERSIG_INVALID],
    [
      'an expired userSig',
      () => tencentQuery(sigFor({ expire: 10, now: 1_000_000 })),
      T.USERSIG_EXPIRED,
    ],
    ['usersig given twice', () => `${tencentQuery()}&usersig=${sigFor()}`, T.HTTP_PARSE],
    [
      'a random that is not a 32-bit number',
      () => tencentQuery().replace('random=99999999', 'random=4294967296'),
      T.HTTP_PARSE,
    ],
    [
      'a contenttype other than json',
      () => tencentQuery().replace('contenttype=json', 'contenttype=xml'),
      T.HTTP_PARSE,
    ],
  ];

  it.each(cases)(
    '%s is FAIL with its Tencent code, creates nothing, echoes no usersig',
    async (_name, query, code) => {
      const q = query();
      const res = await rest(
        'create_group',
        { Type: 'Public', Name: 'evil', GroupId: 'evil' },
        { query: q },
      );
      expectFail(res, code);
      const sig = /usersig=([^&]+)/.exec(q)?.[1];
      if (sig) expect(res.text).not.toContain(sig);
      expect(await adminShow('evil')).toBeUndefined();
    },
  );

  it('every command refuses without a valid userSig', async () => {
    const bad = tencentQuery(sigFor({ secretKey: 'x' }));
    for (const command of [
      'create_group',
      'add_group_member',
      'delete_group_member',
      'destroy_group',
      'get_group_info',
      'no_such_command',
    ]) {
      expectFail(await rest(command, {}, { query: bad }), T.USERSIG_BAD_SIGNATURE);
    }
  });

  it('refuses an unauthenticated oversized body before reading it', async () => {
    const res = await rest('create_group', 'x'.repeat(4 * IM_REST_BODY_LIMIT), { query: '' });
    expectFail(res, T.NO_SDKAPPID);
  });
});

describe.each(backends)('IM REST group commands on $name', (backend) => {
  serveOn(backend);
  it('create_group with GroupId, Owner_Account and MemberList makes the group our admin API shows', async () => {
    const res = await rest('create_group', {
      Owner_Account: 'leckie',
      Type: 'Public',
      GroupId: 'MyFirstGroup',
      Name: 'TestGroup',
      Introduction: 'intro',
      Notification: 'notice',
      FaceUrl: 'http://this.is.face.url',
      MaxMemberCount: 500,
      ApplyJoinOption: 'FreeAccess',
      MemberList: [{ Member_Account: 'bob', Role: 'Admin' }, { Member_Account: 'peter' }],
    });
    expectOK(res);
    expect(res.body).toEqual({
      ActionStatus: 'OK',
      ErrorInfo: '',
      ErrorCode: 0,
      GroupId: 'MyFirstGroup',
    });
    const group = await adminShow('MyFirstGroup');
    expect(group?.name).toBe('TestGroup');
    expect(group?.members.map((m) => m.userID)).toEqual(['bob', 'leckie', 'peter']);
  });

  it('create_group without GroupId assigns an @TGS# ID, a new one each time', async () => {
    const a = await rest('create_group', { Type: 'Work', Name: 'a' });
    const b = await rest('create_group', { Type: 'Work', Name: 'b' });
    expectOK(a);
    expectOK(b);
    expect(a.body.GroupId).toMatch(/^@TGS#[A-Z0-9]{10}$/);
    expect(b.body.GroupId).not.toBe(a.body.GroupId);
    expect(await memberIDs(a.body.GroupId!)).toEqual([]);
  });

  it('reads the body as JSON whatever its Content-Type says (as curl and PHP samples send it)', async () => {
    const form = await rest(
      'create_group',
      { Type: 'Public', Name: 'f', GroupId: 'form' },
      {
        contentType: 'application/x-www-form-urlencoded',
      },
    );
    expectOK(form);
    const none = await rest(
      'create_group',
      { Type: 'Public', Name: 'n', GroupId: 'none' },
      { contentType: null },
    );
    expectOK(none);
    expect(await memberIDs('none')).toEqual([]);
  });

  it('add_group_member answers each member with Result 1 (added) or 2 (already a member)', async () => {
    expectOK(
      await rest('create_group', {
        Type: 'Public',
        Name: 't',
        GroupId: 'team',
        MemberList: [{ Member_Account: 'alice' }],
      }),
    );
    const res = await rest('add_group_member', {
      GroupId: 'team',
      Silence: 1,
      MemberList: [
        { Member_Account: 'alice' },
        { Member_Account: 'bob' },
        { Member_Account: 'bob' },
      ],
    });
    expectOK(res);
    expect(res.body.MemberList).toEqual([
      { Member_Account: 'alice', Result: 2 },
      { Member_Account: 'bob', Result: 1 },
    ]);
    expect(await memberIDs('team')).toEqual(['alice', 'bob']);
  });

  it('delete_group_member removes members; naming a non-member is not an error', async () => {
    expectOK(
      await rest('create_group', {
        Type: 'Public',
        Name: 't',
        GroupId: 'team',
        MemberList: [
          { Member_Account: 'alice' },
          { Member_Account: 'bob' },
          { Member_Account: 'carol' },
        ],
      }),
    );
    const res = await rest('delete_group_member', {
      GroupId: 'team',
      Silence: 0,
      Reason: 'left the team',
      MemberToDel_Account: ['bob', 'zed'],
    });
    expectOK(res);
    expect(res.body).toEqual({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 });
    expect(await memberIDs('team')).toEqual(['alice', 'carol']);
  });

  it('destroy_group removes the group; a second destroy is 10010', async () => {
    expectOK(await rest('create_group', { Type: 'Public', Name: 't', GroupId: 'team' }));
    expectOK(await rest('destroy_group', { GroupId: 'team' }));
    expect(await adminShow('team')).toBeUndefined();
    expectFail(await rest('destroy_group', { GroupId: 'team' }), T.GROUP_NOT_FOUND);
  });

  it('get_group_info answers GroupInfo[] with base info and MemberList, 10010 per unknown group', async () => {
    const before = Math.floor(Date.now() / 1000);
    expectOK(
      await rest('create_group', {
        Type: 'Public',
        Name: 'Team',
        GroupId: 'team',
        MemberList: [{ Member_Account: 'bob' }, { Member_Account: 'alice' }],
      }),
    );
    const res = await rest('get_group_info', { GroupIdList: ['team', 'gone'] });
    expectOK(res);
    const [team, gone] = res.body.GroupInfo!;
    expect(team).toMatchObject({
      GroupId: 'team',
      ErrorCode: 0,
      Type: 'Public',
      Name: 'Team',
      MemberNum: 2,
      MaxMemberNum: MAX_GROUP_MEMBERS,
      MemberList: [
        { Member_Account: 'alice', Role: 'Member', JoinTime: expect.any(Number) },
        { Member_Account: 'bob', Role: 'Member', JoinTime: expect.any(Number) },
      ],
    });
    expect(team!.CreateTime as number).toBeGreaterThanOrEqual(before);
    expect(team!.CreateTime as number).toBeLessThan(before + 3600);
    expect(gone).toEqual({
      GroupId: 'gone',
      ErrorCode: T.GROUP_NOT_FOUND,
      ErrorInfo: expect.any(String),
    });
  });

  it('get_group_info honours ResponseFilter: only the fields asked for, MemberList only if asked', async () => {
    expectOK(
      await rest('create_group', {
        Type: 'Public',
        Name: 'Team',
        GroupId: 'team',
        MemberList: [{ Member_Account: 'bob' }],
      }),
    );
    const baseOnly = await rest('get_group_info', {
      GroupIdList: ['team'],
      ResponseFilter: { GroupBaseInfoFilter: ['Name', 'MemberNum'] },
    });
    expect(baseOnly.body.GroupInfo).toEqual([
      { GroupId: 'team', Name: 'Team', MemberNum: 1, ErrorCode: 0, ErrorInfo: '' },
    ]);
    const members = await rest('get_group_info', {
      GroupIdList: ['team'],
      ResponseFilter: { GroupBaseInfoFilter: [], MemberInfoFilter: ['Role'] },
    });
    expect(members.body.GroupInfo).toEqual([
      {
        GroupId: 'team',
        MemberList: [{ Member_Account: 'bob', Role: 'Member' }],
        ErrorCode: 0,
        ErrorInfo: '',
      },
    ]);
  });

  it('sees groups made through /api/admin/groups, and the admin API sees its groups', async () => {
    const made = await fetch(`${server.url}/api/admin/groups?${tencentQuery()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ groupID: 'adminmade', name: 'A', members: ['carol'] }),
    });
    expect(made.status).toBe(201);
    const info = await rest('get_group_info', { GroupIdList: ['adminmade'] });
    expect(info.body.GroupInfo?.[0]).toMatchObject({ GroupId: 'adminmade', MemberNum: 1 });
    expectOK(
      await rest('add_group_member', {
        GroupId: 'adminmade',
        MemberList: [{ Member_Account: 'dave' }],
      }),
    );
    expect(await memberIDs('adminmade')).toEqual(['carol', 'dave']);
  });
});

describe('IM REST account import (Tencent asks for it before a user joins a group)', () => {
  serveOn();
  const login = { service: 'im_open_login_svc' };

  it('account_import succeeds for a valid user ID, under UserID or the older Identifier', async () => {
    expectOK(
      await rest(
        'account_import',
        { UserID: 'bob', Nick: 'Bob', FaceUrl: 'http://x/y.png' },
        login,
      ),
    );
    expectOK(await rest('account_import', { Identifier: 'carol' }, login));
  });

  it('multiaccount_import lists the IDs Ringline cannot use in FailAccounts', async () => {
    const res = await rest(
      'multiaccount_import',
      { Accounts: ['bob', 'not valid', 'carol'] },
      login,
    );
    expectOK(res);
    expect(res.body.FailAccounts).toEqual(['not valid']);
  });

  it.each([
    ['account_import without UserID', 'account_import', {}, T.ACCOUNT_PARAM],
    ['account_import of an invalid ID', 'account_import', { UserID: 'a b' }, T.ACCOUNT_PARAM],
    [
      'account_import with a numeric Nick',
      'account_import',
      { UserID: 'bob', Nick: 1 },
      T.ACCOUNT_PARAM,
    ],
    ['multiaccount_import of nobody', 'multiaccount_import', { Accounts: [] }, T.ACCOUNT_BATCH],
    [
      'multiaccount_import of 101 IDs',
      'multiaccount_import',
      { Accounts: Array.from({ length: 101 }, (_, i) => `u${i}`) },
      T.ACCOUNT_BATCH,
    ],
    [
      'multiaccount_import with a number',
      'multiaccount_import',
      { Accounts: ['bob', 1] },
      T.ACCOUNT_PARAM,
    ],
    [
      'multiaccount_import without Accounts',
      'multiaccount_import',
      { UserID: 'bob' },
      T.ACCOUNT_PARAM,
    ],
  ] as const)('%s is FAIL with its Tencent code', async (_name, command, body, code) => {
    expectFail(await rest(command, body, login), code);
  });

  it('refuses without a valid userSig, and other account commands are not served', async () => {
    const bad = tencentQuery(sigFor({ secretKey: 'x' }));
    expectFail(
      await rest('account_import', { UserID: 'bob' }, { ...login, query: bad }),
      T.USERSIG_BAD_SIGNATURE,
    );
    const del = await fetch(`${server.url}/v4/im_open_login_svc/account_delete?${tencentQuery()}`, {
      method: 'POST',
      body: '{}',
    });
    expect(del.status).toBe(404);
  });
});

describe('IM REST bad input gets Tencent error codes', () => {
  serveOn();
  const members = (n: number) => Array.from({ length: n }, (_, i) => ({ Member_Account: `u${i}` }));
  const cases: [string, string, unknown, number][] = [
    ['a body that is not JSON', 'create_group', '{"Type":', T.JSON_PARSE],
    ['an empty body', 'create_group', '', T.JSON_PARSE],
    ['a JSON array body', 'create_group', [1, 2], T.INVALID_PARAM],
    ['create_group without Type', 'create_group', { Name: 'x' }, T.INVALID_PARAM],
    [
      'create_group with an unknown Type',
      'create_group',
      { Type: 'Secret', Name: 'x' },
      T.INVALID_PARAM,
    ],
    ['create_group without Name', 'create_group', { Type: 'Public' }, T.INVALID_PARAM],
    [
      'a Name over 30 bytes of UTF-8',
      'create_group',
      { Type: 'Public', Name: '群'.repeat(11) },
      T.INVALID_PARAM,
    ],
    [
      'a custom GroupId starting @TGS#',
      'create_group',
      { Type: 'Public', Name: 'x', GroupId: '@TGS#abc' },
      T.INVALID_GROUP_ID,
    ],
    [
      'a custom GroupId with a space',
      'create_group',
      { Type: 'Public', Name: 'x', GroupId: 'a b' },
      T.INVALID_GROUP_ID,
    ],
    [
      'a custom GroupId over 48 characters',
      'create_group',
      { Type: 'Public', Name: 'x', GroupId: 'g'.repeat(49) },
      T.INVALID_GROUP_ID,
    ],
    [
      'a GroupId that is a number',
      'create_group',
      { Type: 'Public', Name: 'x', GroupId: 7 },
      T.INVALID_GROUP_ID,
    ],
    [
      'an invalid Owner_Account',
      'create_group',
      { Type: 'Public', Name: 'x', Owner_Account: 'a b' },
      T.INVALID_PARAM,
    ],
    [
      'a Member_Account that is no user ID',
      'create_group',
      { Type: 'Public', Name: 'x', MemberList: [{ Member_Account: '' }] },
      T.INVALID_PARAM,
    ],
    [
      'a MemberList item that is a string',
      'create_group',
      { Type: 'Public', Name: 'x', MemberList: ['bob'] },
      T.INVALID_PARAM,
    ],
    [
      '501 members in one create_group',
      'create_group',
      { Type: 'Public', Name: 'x', MemberList: members(501) },
      T.INVALID_PARAM,
    ],
    [
      'members in an AVChatRoom',
      'create_group',
      { Type: 'AVChatRoom', Name: 'x', MemberList: members(1) },
      T.NO_PERMISSION,
    ],
    [
      'a MaxMemberCount that is text',
      'create_group',
      { Type: 'Public', Name: 'x', MaxMemberCount: '5' },
      T.INVALID_PARAM,
    ],
    [
      'add_group_member without GroupId',
      'add_group_member',
      { MemberList: members(1) },
      T.INVALID_PARAM,
    ],
    [
      'add_group_member to an unknown group',
      'add_group_member',
      { GroupId: 'nope', MemberList: members(1) },
      T.GROUP_NOT_FOUND,
    ],
    [
      'add_group_member with an empty MemberList',
      'add_group_member',
      { GroupId: 'team', MemberList: [] },
      T.INVALID_PARAM,
    ],
    [
      'add_group_member with 501 members',
      'add_group_member',
      { GroupId: 'team', MemberList: members(501) },
      T.INVALID_PARAM,
    ],
    [
      'a Silence of 2',
      'add_group_member',
      { GroupId: 'team', Silence: 2, MemberList: members(1) },
      T.INVALID_PARAM,
    ],
    [
      'delete_group_member with a non-array',
      'delete_group_member',
      { GroupId: 'team', MemberToDel_Account: 'bob' },
      T.INVALID_PARAM,
    ],
    [
      'delete_group_member with a non-string member',
      'delete_group_member',
      { GroupId: 'team', MemberToDel_Account: [{}] },
      T.INVALID_PARAM,
    ],
    [
      'delete_group_member on an unknown group',
      'delete_group_member',
      { GroupId: 'nope', MemberToDel_Account: ['bob'] },
      T.GROUP_NOT_FOUND,
    ],
    [
      'a Reason that is not text',
      'delete_group_member',
      { GroupId: 'team', Reason: 1, MemberToDel_Account: ['bob'] },
      T.INVALID_PARAM,
    ],
    [
      'destroy_group with a GroupId of bad characters',
      'destroy_group',
      { GroupId: 'a/b' },
      T.INVALID_GROUP_ID,
    ],
    ['get_group_info without GroupIdList', 'get_group_info', {}, T.INVALID_PARAM],
    [
      'get_group_info for 51 groups',
      'get_group_info',
      { GroupIdList: Array.from({ length: 51 }, (_, i) => `g${i}`) },
      T.INVALID_PARAM,
    ],
    [
      'get_group_info with a number in GroupIdList',
      'get_group_info',
      { GroupIdList: [1] },
      T.INVALID_PARAM,
    ],
    [
      'a ResponseFilter that is a list',
      'get_group_info',
      { GroupIdList: ['team'], ResponseFilter: [] },
      T.INVALID_PARAM,
    ],
    [
      'a MemberInfoFilter of numbers',
      'get_group_info',
      { GroupIdList: ['team'], ResponseFilter: { MemberInfoFilter: [1] } },
      T.INVALID_PARAM,
    ],
    ['an unknown command', 'modify_group_base_info', { GroupId: 'team' }, T.UNKNOWN_COMMAND],
  ];

  it.each(cases)('%s is FAIL with its Tencent code', async (_name, command, body, code) => {
    expectOK(
      await rest('create_group', {
        Type: 'Public',
        Name: 't',
        GroupId: 'team',
        MemberList: [{ Member_Account: 'bob' }],
      }),
    );
    expectFail(await rest(command, body), code);
    // Nothing changed: the one group is as it was.
    expect(await memberIDs('team')).toEqual(['bob']);
    const info = await rest('get_group_info', { GroupIdList: ['team', 'x', 'g'.repeat(49)] });
    expect(info.body.GroupInfo?.map((g) => g.ErrorCode)).toEqual([
      0,
      T.GROUP_NOT_FOUND,
      T.GROUP_NOT_FOUND,
    ]);
  });

  it('creating a group whose GroupId is taken is 10021', async () => {
    expectOK(await rest('create_group', { Type: 'Public', Name: 't', GroupId: 'team' }));
    expectFail(
      await rest('create_group', { Type: 'Public', Name: 'u', GroupId: 'team' }),
      T.GROUP_EXISTS,
    );
    expect((await adminShow('team'))?.name).toBe('t');
  });

  it(`a body over ${IM_REST_BODY_LIMIT / 1024} KiB is HTTP 413 with FAIL 10004`, async () => {
    const res = await rest('create_group', {
      Type: 'Public',
      Name: 'x',
      Pad: 'x'.repeat(IM_REST_BODY_LIMIT),
    });
    expectFail(res, T.INVALID_PARAM, 413);
  });

  it(`adding to a group of ${MAX_GROUP_MEMBERS} members is 10014 (group full)`, async () => {
    const full = Array.from({ length: MAX_GROUP_MEMBERS }, (_, i) => `m${i}`);
    const made = await fetch(`${server.url}/api/admin/groups?${tencentQuery()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ groupID: 'big', members: full }),
    });
    expect(made.status).toBe(201);
    expectFail(
      await rest('add_group_member', {
        GroupId: 'big',
        MemberList: [{ Member_Account: 'one_more' }],
      }),
      T.GROUP_FULL,
    );
    const info = await rest('get_group_info', {
      GroupIdList: ['big'],
      ResponseFilter: { GroupBaseInfoFilter: ['MemberNum'] },
    });
    expect(info.body.GroupInfo?.[0]).toMatchObject({ MemberNum: MAX_GROUP_MEMBERS });
    // Two full groups' members in one answer would pass the member bound: 10018.
    expectFail(await rest('get_group_info', { GroupIdList: ['big', 'big'] }), T.RESPONSE_TOO_LARGE);
  });

  it('other services under /v4 are not served', async () => {
    const res = await fetch(`${server.url}/v4/openim/sendmsg?${tencentQuery()}`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(sigFor().slice(0, 20));
  });
});

describe('IM REST hostile bodies (property)', () => {
  serveOn();
  const known = new Set<number>(Object.values(T));
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('team', 'bob', '@TGS#X', '', 'Public', 'AVChatRoom', 0, 1, 2, -1, null),
    fc.array(
      fc.record({ Member_Account: fc.oneof(fc.constantFrom('bob', 'carol', ''), fc.string()) }),
      {
        maxLength: 5,
      },
    ),
  );
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record(
      {
        Type: value,
        Name: value,
        GroupId: value,
        Owner_Account: value,
        MemberList: value,
        MemberToDel_Account: value,
        Silence: value,
        Reason: value,
        GroupIdList: value,
        ResponseFilter: fc.oneof(
          value,
          fc.record({ GroupBaseInfoFilter: value, MemberInfoFilter: value }, { requiredKeys: [] }),
        ),
      },
      { requiredKeys: [] },
    ),
  );
  const command = fc.constantFrom(
    'create_group',
    'add_group_member',
    'delete_group_member',
    'destroy_group',
    'get_group_info',
  );

  it('any JSON body gets HTTP 200 and a Tencent answer with a known ErrorCode, never a crash', async () => {
    expectOK(await rest('create_group', { Type: 'Public', Name: 't', GroupId: 'team' }));
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(command, body, async (cmd, b) => {
        const res = await rest(cmd, b);
        expect(res.status, res.text).toBe(200);
        expect(['OK', 'FAIL']).toContain(res.body.ActionStatus);
        expect(known.has(res.body.ErrorCode), res.text).toBe(true);
        expect(res.body.ErrorCode === 0).toBe(res.body.ActionStatus === 'OK');
        expect(res.body.ErrorCode).not.toBe(T.INTERNAL);
        seen.set(res.body.ErrorCode, (seen.get(res.body.ErrorCode) ?? 0) + 1);
      }),
      { numRuns: 300, seed: 11 },
    );
    // The bodies reached past the first check: more than one kind of answer came back.
    expect(seen.size).toBeGreaterThan(2);
  });

  it('deeply nested JSON is answered, not a stack overflow', async () => {
    const depth = 50_000;
    const res = await rest('create_group', '['.repeat(depth) + ']'.repeat(depth));
    expect(res.status).toBe(200);
    expect([T.JSON_PARSE, T.INVALID_PARAM]).toContain(res.body.ErrorCode);
    expectOK(await rest('get_group_info', { GroupIdList: ['x'] }));
  });
});
