import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ServerErrorCode, type WireError } from '@ringline/protocol';
import { MAX_GROUP_MEMBERS, type GroupSummary } from '../groups/index.js';
import { startServer } from '../server.js';
import { adminUserSig, startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

const adminSig = (over: Parameters<typeof adminUserSig>[1] = {}) => adminUserSig(server, over);

/** Tencent's REST convention: the admin's identity in the query string. */
const authQuery = (
  sig = adminSig(),
  identifier = 'administrator',
  sdkappid = String(server.sdkAppID),
) => `sdkappid=${sdkappid}&identifier=${identifier}&usersig=${sig}&random=12345&contenttype=json`;

/** Every field any admin answer has (tests read the ones their route returns). */
interface Body {
  error: WireError;
  groupID: string;
  name: string;
  createdAt: number;
  members: { userID: string; joinedAt: number }[];
  groups: GroupSummary[];
  next?: string;
  added: string[];
  removed: string[];
}

interface Reply {
  status: number;
  /** Undefined for an empty answer (204). */
  body: Body;
  headers: Headers;
}

/** An admin request authenticated by query string unless `auth` says otherwise. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  auth: { query?: string; headers?: Record<string, string> } = { query: authQuery() },
): Promise<Reply> {
  const sep = path.includes('?') ? '&' : '?';
  const url = `${server.url}${path}${auth.query ? sep + auth.query : ''}`;
  const headers: Record<string, string> = { ...auth.headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body: payload });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as Body,
    headers: res.headers,
  };
}

function expectError(
  reply: Reply,
  status: number,
  name: keyof typeof ServerErrorCode,
  message?: RegExp,
) {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body.error).toMatchObject({ code: ServerErrorCode[name], name });
  if (message) expect(reply.body.error.message).toMatch(message);
}

describe('admin authentication', () => {
  test('an administrator userSig in the query (Tencent style) is accepted', async () => {
    const res = await call('GET', '/api/admin/groups');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ groups: [] });
  });

  test('an administrator userSig as Authorization: Bearer is accepted', async () => {
    const res = await call('GET', '/api/admin/groups', undefined, {
      headers: { authorization: `Bearer ${adminSig()}` },
    });
    expect(res.status).toBe(200);
  });

  test('no userSig is 401 ADMIN_UNAUTHORIZED with a WWW-Authenticate challenge', async () => {
    const res = await call('GET', '/api/admin/groups', undefined, {});
    expectError(res, 401, 'ADMIN_UNAUTHORIZED', /no userSig given/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body.error.message).toMatch(/identifier=administrator/);
  });

  test.each([
    [
      'a forged userSig (other secret key)',
      () => authQuery(adminSig({ secretKey: 'not-the-key' })),
      /signature does not match/,
    ],
    [
      'a userSig for another app',
      () => authQuery(adminSig({ sdkAppID: 1234567 })),
      /SDKAppID 1234567/,
    ],
    [
      'a query naming another app',
      () => authQuery(adminSig(), 'administrator', '1234567'),
      /serves SDKAppID .*not "1234567"/,
    ],
    [
      "a normal user's userSig claiming administrator",
      () => authQuery(adminSig({ userID: 'alice' })),
      /for user "alice", not "administrator"/,
    ],
    [
      "a normal user's userSig as that user",
      () => authQuery(adminSig({ userID: 'alice' }), 'alice'),
      /identifier must be "administrator", not "alice"/,
    ],
    [
      'an expired administrator userSig',
      () => authQuery(adminSig({ now: 1_000_000, expire: 60 })),
      /expired/,
    ],
    ['garbage', () => authQuery('%%%'), /userSig is invalid/],
    ['no sdkappid', () => `identifier=administrator&usersig=${adminSig()}`, /no sdkappid/],
    ['a repeated usersig', () => `${authQuery()}&usersig=x`, /more than once/],
  ])('%s is 401 ADMIN_UNAUTHORIZED', async (_what, query, message) => {
    expectError(
      await call('GET', '/api/admin/groups', undefined, { query: query() }),
      401,
      'ADMIN_UNAUTHORIZED',
      message,
    );
  });

  test.each([
    ['not Bearer', 'Basic abc'],
    ["a normal user's sig", 'Bearer USER'],
  ])('an Authorization header with %s is 401', async (_what, header) => {
    const value = header.replace('USER', adminSig({ userID: 'alice' }));
    expectError(
      await call('GET', '/api/admin/groups', undefined, { headers: { authorization: value } }),
      401,
      'ADMIN_UNAUTHORIZED',
    );
  });

  test('every route refuses without auth, and nothing changes', async () => {
    const none = {};
    const attempts = await Promise.all([
      call('POST', '/api/admin/groups', { groupID: 'g' }, none),
      call('GET', '/api/admin/groups/g', undefined, none),
      call('DELETE', '/api/admin/groups/g', undefined, none),
      call('POST', '/api/admin/groups/g/members', { userIDList: ['a'] }, none),
      call('DELETE', '/api/admin/groups/g/members', { userIDList: ['a'] }, none),
      call('DELETE', '/api/admin/groups/g/members/a', undefined, none),
    ]);
    for (const res of attempts) expectError(res, 401, 'ADMIN_UNAUTHORIZED');
    expect((await call('GET', '/api/admin/groups')).body).toEqual({ groups: [] });
  });

  test('an unauthenticated oversized body is refused as 401 before it is read', async () => {
    const res = await call(
      'POST',
      '/api/admin/groups',
      { groupID: 'g', name: 'x'.repeat(600_000) },
      {},
    );
    expectError(res, 401, 'ADMIN_UNAUTHORIZED');
  });
});

describe('groups over REST', () => {
  test('create, show, list, delete', async () => {
    const created = await call('POST', '/api/admin/groups', {
      groupID: 'team',
      name: 'Team',
      members: ['bob', 'alice'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      groupID: 'team',
      name: 'Team',
      members: [{ userID: 'alice' }, { userID: 'bob' }],
    });
    expect(typeof created.body.createdAt).toBe('number');

    const shown = await call('GET', '/api/admin/groups/team');
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);

    const listed = await call('GET', '/api/admin/groups');
    expect(listed.body).toEqual({
      groups: [
        { groupID: 'team', name: 'Team', createdAt: created.body.createdAt, memberCount: 2 },
      ],
    });

    const deleted = await call('DELETE', '/api/admin/groups/team');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectError(
      await call('GET', '/api/admin/groups/team'),
      404,
      'GROUP_NOT_FOUND',
      /no group "team"/,
    );
    expectError(await call('DELETE', '/api/admin/groups/team'), 404, 'GROUP_NOT_FOUND');
  });

  test('a group ID with @, # and . works in paths when URL-encoded', async () => {
    const id = 'ops@corp#1.a';
    expect((await call('POST', '/api/admin/groups', { groupID: id })).status).toBe(201);
    const path = `/api/admin/groups/${encodeURIComponent(id)}`;
    expect((await call('POST', `${path}/members`, { userIDList: ['alice'] })).status).toBe(200);
    expect((await call('GET', path)).body.members).toEqual([
      { userID: 'alice', joinedAt: expect.any(Number) },
    ]);
  });

  test('creating an existing group is 409 GROUP_EXISTS', async () => {
    await call('POST', '/api/admin/groups', { groupID: 'g' });
    expectError(
      await call('POST', '/api/admin/groups', { groupID: 'g' }),
      409,
      'GROUP_EXISTS',
      /already exists/,
    );
  });

  test('members are added and removed, in bulk and one by one', async () => {
    await call('POST', '/api/admin/groups', { groupID: 'g', members: ['a'] });
    const added = await call('POST', '/api/admin/groups/g/members', {
      userIDList: ['a', 'b', 'c', 'd'],
    });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ groupID: 'g', added: ['b', 'c', 'd'], alreadyMembers: ['a'] });

    const removed = await call('DELETE', '/api/admin/groups/g/members', {
      userIDList: ['a', 'zed'],
    });
    expect(removed.body).toEqual({ groupID: 'g', removed: ['a'], notMembers: ['zed'] });

    const one = await call('DELETE', '/api/admin/groups/g/members/b');
    expect(one.body).toEqual({ groupID: 'g', removed: ['b'], notMembers: [] });

    const shown = await call('GET', '/api/admin/groups/g');
    expect(shown.body.members.map((m: { userID: string }) => m.userID)).toEqual(['c', 'd']);
  });

  test('groups survive a server restart on the same data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-admin-'));
    try {
      const first = await startTestServer({ dataDir });
      const sig = adminSig({ sdkAppID: first.sdkAppID, secretKey: first.secretKey });
      const q = `sdkappid=${first.sdkAppID}&identifier=administrator&usersig=${sig}`;
      const made = await fetch(`${first.url}/api/admin/groups?${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ groupID: 'kept', members: ['a', 'b'] }),
      });
      expect(made.status).toBe(201);
      await first.close();
      // SQLite checkpoints and removes the WAL when the last connection closes: the server's did.
      expect(existsSync(join(dataDir, 'ringline.db'))).toBe(true);
      expect(existsSync(join(dataDir, 'ringline.db-wal'))).toBe(false);

      // Dev mode keeps the app's key pair in the same dir, so the same admin sig still works.
      const second = await startTestServer({ dataDir });
      try {
        const res = await fetch(`${second.url}/api/admin/groups/kept?${q}`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { members: unknown[] }).members).toHaveLength(2);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('groups are listed in pages', async () => {
    for (const id of ['c', 'a', 'b']) await call('POST', '/api/admin/groups', { groupID: id });
    const first = await call('GET', '/api/admin/groups?limit=2');
    expect(first.body.groups.map((g: { groupID: string }) => g.groupID)).toEqual(['a', 'b']);
    expect(first.body.next).toBe('b');
    const second = await call('GET', `/api/admin/groups?limit=2&after=${first.body.next}`);
    expect(second.body).toEqual({ groups: [expect.objectContaining({ groupID: 'c' })] });
  });
});

describe('startServer and the store', () => {
  test('a data dir the store cannot use fails the start with a message naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-admin-'));
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'not a directory');
      await expect(
        startServer({ port: 0, host: '127.0.0.1', sdkAppID: 7, secretKey: 'k', dataDir: file }),
      ).rejects.toThrow(new RegExp(`cannot make data dir ${file}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad input gets a coded error', () => {
  beforeEach(async () => {
    await call('POST', '/api/admin/groups', { groupID: 'g', members: ['a'] });
  });

  test.each([
    ['no body', undefined, 'INVALID_FIELD', /^\/: a JSON object body is required/],
    ['no groupID', { name: 'x' }, 'INVALID_FIELD', /^\/groupID: /],
    ['a numeric groupID', { groupID: 7 }, 'INVALID_FIELD', /^\/groupID: /],
    ['an unknown field', { groupID: 'h', owner: 'a' }, 'INVALID_FIELD', /^\/owner: /],
    ['members not an array', { groupID: 'h', members: 'a' }, 'INVALID_FIELD', /^\/members: /],
    [
      'a bad group ID',
      { groupID: 'no spaces' },
      'INVALID_FIELD',
      /^\/groupID: "no spaces" is not a valid group ID/,
    ],
    ['a too long name', { groupID: 'h', name: 'n'.repeat(101) }, 'INVALID_FIELD', /^\/name: /],
    [
      'a bad member',
      { groupID: 'h', members: ['ok', 'b@d'] },
      'INVALID_USER_ID',
      /^\/members\/1: "b@d"/,
    ],
  ] as const)('POST /groups with %s (%j) is 400 %s', async (_what, body, name, message) => {
    expectError(await call('POST', '/api/admin/groups', body), 400, name, message);
  });

  test.each([
    ['an empty list', { userIDList: [] }, 'INVALID_FIELD', /at least one/],
    ['no list', {}, 'INVALID_FIELD', /^\/userIDList: /],
    ['a bad user ID', { userIDList: ['x'.repeat(33)] }, 'INVALID_USER_ID', /^\/userIDList\/0: /],
    ['a non-string user ID', { userIDList: [5] }, 'INVALID_FIELD', /^\/userIDList\/0: /],
  ] as const)('member changes with %s (%j) are 400 %s', async (_what, body, name, message) => {
    expectError(await call('POST', '/api/admin/groups/g/members', body), 400, name, message);
    expectError(await call('DELETE', '/api/admin/groups/g/members', body), 400, name, message);
  });

  test('member changes on an unknown group are 404 GROUP_NOT_FOUND', async () => {
    expectError(
      await call('POST', '/api/admin/groups/nope/members', { userIDList: ['a'] }),
      404,
      'GROUP_NOT_FOUND',
    );
    expectError(await call('DELETE', '/api/admin/groups/nope/members/a'), 404, 'GROUP_NOT_FOUND');
  });

  test('a bad group ID or user ID in the path is 400', async () => {
    expectError(
      await call('GET', `/api/admin/groups/${'x'.repeat(65)}`),
      400,
      'INVALID_FIELD',
      /not a valid group ID/,
    );
    expectError(
      await call('DELETE', '/api/admin/groups/g/members/b%20d'),
      400,
      'INVALID_USER_ID',
      /^\/userID: "b d"/,
    );
  });

  test.each(['0', '1001', 'abc', '-1'])(
    'list with limit=%s is 400 INVALID_FIELD',
    async (limit) => {
      expectError(
        await call('GET', `/api/admin/groups?limit=${limit}`),
        400,
        'INVALID_FIELD',
        /^\/limit: /,
      );
    },
  );

  test('a body that is not JSON is 400 MALFORMED_MESSAGE', async () => {
    expectError(await call('POST', '/api/admin/groups', '{"groupID":'), 400, 'MALFORMED_MESSAGE');
  });

  test('a body that is not application/json is 415 MALFORMED_MESSAGE', async () => {
    const res = await call('POST', '/api/admin/groups', 'groupID=h', {
      query: authQuery(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(res, 415, 'MALFORMED_MESSAGE', /must be application\/json/);
  });

  test('a body over 512 KiB is 413 FRAME_TOO_LARGE', async () => {
    const res = await call('POST', '/api/admin/groups', {
      groupID: 'h',
      name: 'x'.repeat(600_000),
    });
    expectError(res, 413, 'FRAME_TOO_LARGE', /exceeds 524288 bytes/);
  });

  test(`a full group's ${MAX_GROUP_MEMBERS} members fit in one request; one more is refused`, async () => {
    const members = Array.from(
      { length: MAX_GROUP_MEMBERS },
      (_, i) => `user_${String(i).padStart(27, '0')}`,
    );
    const res = await call('POST', '/api/admin/groups', { groupID: 'big', members });
    expect(res.status).toBe(201);
    expect(res.body.members).toHaveLength(MAX_GROUP_MEMBERS);
    expectError(
      await call('POST', '/api/admin/groups/big/members', { userIDList: ['onemore'] }),
      400,
      'INVALID_FIELD',
      /a group holds at most 10000/,
    );
  });
});
