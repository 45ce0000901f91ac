/**
 * The call history over HTTP: the admin API's list (filters, cursor pages, errors) and detail, and
 * each user's own history authenticated by their userSig (scoping, missed count, mark-seen, CORS,
 * rate limit). The real server and store; calls made by real clients or written to the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CallType,
  ServerErrorCode,
  type CallHistoryCall,
  type CallHistoryPage,
  type MissedCalls,
  type UserCallHistoryCall,
  type WireError,
} from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import { openStore, type Store } from '../store/index.js';
import { adminUserSig, startTestServer, type TestServer } from '../testing/server.js';
import { buildHttpApp } from './app.js';

let server: TestServer;
let store: Store;
beforeEach(async () => {
  server = await startTestServer();
  store = await openStore({ dataDir: server.dataDir });
});
afterEach(async () => {
  await store.close();
  await server.close();
});

interface Reply<T> {
  status: number;
  body: T & { error: WireError };
  headers: Headers;
}

async function request<T>(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  base = server.url,
): Promise<Reply<T>> {
  const headers = { ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const admin = <T>(path: string) =>
  request<T>(path, { headers: { authorization: `Bearer ${adminUserSig(server)}` } });

const sigOf = (userID: string) =>
  genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID });

/** A user's request: their userSig as a Bearer token, their userID in the query. */
const asUser = <T>(userID: string, path: string, init: Parameters<typeof request>[1] = {}) =>
  request<T>(`${path}${path.includes('?') ? '&' : '?'}userID=${userID}`, {
    ...init,
    headers: { authorization: `Bearer ${sigOf(userID)}`, ...init.headers },
  });

function expectError(reply: Reply<unknown>, status: number, name: keyof typeof ServerErrorCode) {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body.error).toMatchObject({ code: ServerErrorCode[name], name });
}

/** alice → bob, cancelled (missed by bob); alice → carol, rejected. Returns their call IDs. */
async function twoCalls(): Promise<{ missed: string; rejected: string }> {
  const alice = await server.login('alice');
  const bob = await server.login('bob');
  const carol = await server.login('carol');
  const one = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
  await bob.waitForPush('invited');
  await alice.call('cancel', { inviteID: one.inviteID });
  await bob.waitForPush('inviteEnded');
  const two = await alice.call('invite', { userIDList: ['carol'], callType: CallType.VIDEO });
  await carol.call('reject', { inviteID: two.inviteID });
  await alice.waitForPush('callEnded');
  // The server commits its history a moment behind the calls.
  await expect.poll(() => store.callHistory.get(two.callID)).toHaveProperty('endedAt');
  await expect.poll(() => store.callHistory.get(one.callID)).toHaveProperty('endedAt');
  return { missed: one.callID, rejected: two.callID };
}

/** `n` finished calls written straight to the store, started at 1000, 2000, … */
async function writeCalls(n: number, groupID?: string): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const callID = `w${String(i).padStart(3, '0')}`;
    const at = i * 1000;
    void store.callRecords.start({
      callID,
      roomID: i,
      sponsor: 'walt',
      groupID,
      callType: CallType.AUDIO,
      media: 'p2p',
      startedAt: at,
    });
    void store.callRecords.invited(callID, ['xena'], at, 'walt');
    void store.callRecords.membersClosed(callID, 'no_answer', at + 500);
    void store.callRecords.end(callID, { reason: 'no_answer', endedAt: at + 500 });
  }
  await store.callRecords.flushed();
}

describe('GET /api/admin/calls', () => {
  it('lists calls newest first with members and outcomes, filtered by user and outcome', async () => {
    const { missed, rejected } = await twoCalls();
    const all = await admin<CallHistoryPage>('/api/admin/calls');
    expect(all.status).toBe(200);
    expect(all.body.calls.map((c) => c.callID)).toEqual([rejected, missed]);
    expect(all.body.calls[0]).toMatchObject({
      sponsor: 'alice',
      callType: CallType.VIDEO,
      endReason: 'no_answer',
      durationMs: 0,
      members: [
        { userID: 'alice', role: 'inviter', outcome: 'no_answer' },
        { userID: 'carol', role: 'invitee', outcome: 'rejected' },
      ],
    });
    const ids = async (query: string) =>
      (await admin<CallHistoryPage>(`/api/admin/calls?${query}`)).body.calls.map((c) => c.callID);
    expect(await ids('userID=bob')).toEqual([missed]);
    expect(await ids('outcome=rejected')).toEqual([rejected]);
    expect(await ids('userID=bob&outcome=rejected')).toEqual([]);
    expect(await ids('userID=nobody')).toEqual([]);
  });

  it('filters by group and time range, and pages with an opaque cursor', async () => {
    await writeCalls(5, 'team');
    await writeCalls(0);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const q = `groupID=team&from=2000&to=5000&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await admin<CallHistoryPage>(`/api/admin/calls?${q}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.calls.map((c) => c.callID));
      cursor = page.body.next;
      if (!cursor) break;
    }
    expect(seen).toEqual(['w004', 'w003', 'w002']);
    const other = await admin<CallHistoryPage>('/api/admin/calls?groupID=other');
    expect(other.body.calls).toEqual([]);
  });

  it('refuses bad cursors, limits and filters with coded 400s, and strangers with 401', async () => {
    expectError(await admin('/api/admin/calls?cursor=nope'), 400, 'INVALID_CURSOR');
    const forged = Buffer.from('{"a":1}').toString('base64url');
    expectError(await admin(`/api/admin/calls?cursor=${forged}`), 400, 'INVALID_CURSOR');
    expectError(await admin('/api/admin/calls?limit=0'), 400, 'INVALID_FIELD');
    expectError(await admin('/api/admin/calls?limit=5000'), 400, 'INVALID_FIELD');
    expectError(await admin('/api/admin/calls?from=yesterday'), 400, 'INVALID_FIELD');
    expectError(await admin('/api/admin/calls?outcome=lost'), 400, 'INVALID_FIELD');
    expectError(await admin('/api/admin/calls?userID=a%20b'), 400, 'INVALID_USER_ID');
    const bob = await request('/api/admin/calls', {
      headers: { authorization: `Bearer ${sigOf('bob')}` },
    });
    expectError(bob, 401, 'ADMIN_UNAUTHORIZED');
  });
});

describe('GET /api/admin/calls/:callID', () => {
  it('shows one call with its members; an unknown call is a coded 404', async () => {
    const { rejected } = await twoCalls();
    const one = await admin<CallHistoryCall>(`/api/admin/calls/${rejected}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ callID: rejected, sponsor: 'alice' });
    expect(one.body.members.map((m) => m.userID)).toEqual(['alice', 'carol']);
    // Answers are written by their response schema: every field the store has goes out.
    expect(one.body).toEqual(await store.callHistory.get(rejected));
    expectError(await admin('/api/admin/calls/nope'), 404, 'CALL_NOT_FOUND');
    expectError(await admin(`/api/admin/calls/${'x'.repeat(90)}`), 404, 'CALL_NOT_FOUND');
  });
});

describe("a user's own history (/api/calls)", () => {
  it('lists only their calls, with their outcome, whichever way the userSig is given', async () => {
    const { missed, rejected } = await twoCalls();
    const bob = await asUser<CallHistoryPage<UserCallHistoryCall>>('bob', '/api/calls');
    expect(bob.status).toBe(200);
    expect(bob.body.calls).toHaveLength(1);
    expect(bob.body.calls[0]).toMatchObject({
      callID: missed,
      role: 'invitee',
      outcome: 'cancelled',
      missed: true,
      seen: false,
    });
    expect(bob.body).toEqual(await store.callHistory.forUser('bob'));
    // Tencent's query convention works too.
    const q = `sdkappid=${server.sdkAppID}&identifier=alice&usersig=${sigOf('alice')}`;
    const alice = await request<CallHistoryPage<UserCallHistoryCall>>(`/api/calls?${q}`);
    expect(alice.body.calls.map((c) => [c.callID, c.role, c.missed])).toEqual([
      [rejected, 'inviter', false],
      [missed, 'inviter', false],
    ]);
  });

  it("never answers with another user's calls: a userSig is for its own user only", async () => {
    await twoCalls();
    const stolen = await request(`/api/calls?userID=bob`, {
      headers: { authorization: `Bearer ${sigOf('mallory')}` },
    });
    expectError(stolen, 401, 'USERSIG_WRONG_USER');
    const forged = genUserSig({ sdkAppID: server.sdkAppID, secretKey: 'guess', userID: 'bob' });
    expectError(
      await request('/api/calls?userID=bob', { headers: { authorization: `Bearer ${forged}` } }),
      401,
      'USERSIG_INVALID',
    );
    expectError(await request('/api/calls?userID=bob'), 401, 'USERSIG_INVALID');
    expectError(
      await request(`/api/calls`, { headers: { authorization: `Bearer ${sigOf('bob')}` } }),
      400,
      'INVALID_FIELD',
    );
    const q = `identifier=alice&userID=bob&usersig=${sigOf('alice')}`;
    expectError(await request(`/api/calls?${q}`), 400, 'INVALID_FIELD');
    expectError(await asUser('administrator', '/api/calls'), 403, 'RESERVED_USER_ID');
    expectError(await asUser('bob', '/api/calls?cursor=%7B'), 400, 'INVALID_CURSOR');
  });

  it('counts unread missed calls and marks them seen, by call ID or up to a time', async () => {
    const { missed } = await twoCalls();
    const before = await asUser<MissedCalls>('bob', '/api/calls/missed');
    expect(before.body.unread).toBe(1);
    expect(before.body.calls.map((c) => c.callID)).toEqual([missed]);
    expect((await asUser<MissedCalls>('carol', '/api/calls/missed')).body).toEqual({
      unread: 0,
      calls: [],
    });

    // Another user marking bob's call changes nothing for bob.
    const other = await asUser<{ marked: number }>('carol', '/api/calls/missed/seen', {
      method: 'POST',
      body: { callIDs: [missed] },
    });
    expect(other.body).toEqual({ marked: 0, unread: 0 });
    const marked = await asUser<{ marked: number; unread: number }>(
      'bob',
      '/api/calls/missed/seen',
      { method: 'POST', body: { callIDs: [missed] } },
    );
    expect(marked.body).toEqual({ marked: 1, unread: 0 });
    const after = await asUser<MissedCalls>('bob', '/api/calls/missed');
    expect(after.body.calls[0]).toMatchObject({ callID: missed, missed: true, seen: true });

    await writeCalls(3);
    const upTo = await asUser<{ marked: number; unread: number }>(
      'xena',
      '/api/calls/missed/seen',
      { method: 'POST', body: { before: 2000 } },
    );
    expect(upTo.body).toEqual({ marked: 2, unread: 1 });
    const all = await asUser('xena', '/api/calls/missed/seen', { method: 'POST', body: {} });
    expect(all.body).toEqual({ marked: 1, unread: 0 });
  });

  it('refuses a bad mark-seen body with coded errors', async () => {
    const post = (body: unknown) =>
      asUser('bob', '/api/calls/missed/seen', { method: 'POST', body });
    expectError(await post([]), 400, 'INVALID_FIELD');
    expectError(await post({ after: 1 }), 400, 'INVALID_FIELD');
    expectError(await post({ before: -1 }), 400, 'INVALID_FIELD');
    expectError(await post({ callIDs: Array(101).fill('c') }), 400, 'INVALID_FIELD');
    expectError(await post({ callIDs: ['x'.repeat(65)] }), 400, 'INVALID_FIELD');
    expectError(await post({ before: 1, callIDs: [] }), 400, 'INVALID_FIELD');
  });

  it('tells a device that did not answer (ring-all) the call was answered elsewhere', async () => {
    // A server whose users ring on every device they are logged in on.
    await store.close();
    await server.close();
    server = await startTestServer({ multiDevice: 'ring-all' });
    store = await openStore({ dataDir: server.dataDir });
    const alice = await server.login('alice');
    const phone = await server.login('bob');
    const laptop = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await phone.waitForPush('invited');
    await laptop.waitForPush('invited');
    await laptop.call('accept', { inviteID });
    await phone.waitForPush('inviteEnded');
    await alice.call('hangup', { callID });
    await laptop.waitForPush('callEnded');
    await expect.poll(() => store.callHistory.get(callID)).toHaveProperty('endedAt');

    const outcome = async (query: string) => {
      const got = await asUser<CallHistoryPage<UserCallHistoryCall>>('bob', `/api/calls${query}`);
      expect(got.status, JSON.stringify(got.body)).toBe(200);
      // Nobody's device IDs (session IDs) in a user's view.
      expect(JSON.stringify(got.body)).not.toContain(laptop.sessionID!);
      return got.body.calls.map((c) => [c.callID, c.outcome, c.missed]);
    };
    expect(await outcome(`?deviceID=${phone.sessionID}`)).toEqual([
      [callID, 'answered_elsewhere', false],
    ]);
    expect(await outcome(`?deviceID=${laptop.sessionID}`)).toEqual([[callID, 'answered', false]]);
    expect(await outcome('')).toEqual([[callID, 'answered', false]]);
    const missed = await asUser<MissedCalls>(
      'bob',
      `/api/calls/missed?deviceID=${phone.sessionID}`,
    );
    expect(missed.body).toEqual({ unread: 0, calls: [] });
    // The admin sees what happened: bob answered, on the laptop.
    const call = await admin<CallHistoryCall>(`/api/admin/calls/${callID}`);
    expect(call.body.members[1]).toMatchObject({
      userID: 'bob',
      outcome: 'answered',
      deviceID: laptop.sessionID,
    });

    for (const bad of ['', 'a%20b', 'x'.repeat(65), '%27%3B--', 'a&deviceID=b']) {
      expectError(await asUser('bob', `/api/calls?deviceID=${bad}`), 400, 'INVALID_FIELD');
    }
    expectError(await asUser('bob', '/api/calls/missed?deviceID=%00'), 400, 'INVALID_FIELD');
  });

  it('answers a browser on another origin (CORS preflight, no cookies)', async () => {
    const pre = await request('/api/calls/missed/seen', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const got = await asUser('bob', '/api/calls');
    expect(got.headers.get('access-control-allow-origin')).toBe('*');
    expect(got.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the user history API rate limit', () => {
  it('answers 429 RATE_LIMITED once an address has used its bucket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-history-'));
    const own = await openStore({ dataDir: dir });
    const app = await buildHttpApp({
      sdkAppID: server.sdkAppID,
      secretKey: server.secretKey,
      dev: false,
      history: own.callHistory,
      // Two requests, then (practically) never another.
      historyRate: { burst: 2, perSecond: 0.0001 },
    });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await asUserAt(base, 'bob')).status);
      expect(statuses).toEqual([200, 200, 429]);
      const refused = await asUserAt(base, 'bob');
      expectError(refused, 429, 'RATE_LIMITED');
      expect(refused.headers.get('retry-after')).toBe('1');
    } finally {
      await app.close();
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A user's request to another HTTP app at `base`. */
const asUserAt = (base: string, userID: string) =>
  request(
    `/api/calls?userID=${userID}`,
    { headers: { authorization: `Bearer ${sigOf(userID)}` } },
    base,
  );
