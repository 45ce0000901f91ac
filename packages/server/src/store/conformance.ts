/**
 * The store's conformance suite: the same behaviour tests against every database the store runs
 * on (as Kysely runs its tests against every dialect). `store/sqlite.test.ts` and
 * `store/postgres.test.ts` run it; what only one database does is tested beside it there.
 */
import { sql } from 'kysely';
import { Migrator } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GroupService } from '../groups/service.js';
import type { StoreBackend, StoreTarget } from '../testing/store-backends.js';
import { migrationProvider, migrations } from './migrations/index.js';
import { prepare, slot } from './prepared.js';
import { openStore, StoreError, type Store, type StoreOptions } from './store.js';

/** Every migration's name, in order. */
export const ALL_MIGRATIONS = Object.keys(migrations).sort();

const call = {
  callID: 'c1',
  roomID: 4242,
  sponsor: 'alice',
  callType: 2,
  media: 'p2p',
  startedAt: 1000,
} as const;

export function storeConformance(backend: StoreBackend): void {
  /** Stores opened by a test, closed after it. */
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  const open = async (target: StoreTarget, extra: Partial<StoreOptions> = {}): Promise<Store> => {
    const store = await openStore({ ...target, ...extra });
    stores.push(store);
    return store;
  };

  describe(`openStore on ${backend.name}`, () => {
    test('makes every table', async () => {
      const store = await open(await backend.fresh());
      expect(store.dialect).toBe(backend.name.toLowerCase());
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'call_members',
          'call_records',
          'group_members',
          'groups',
          'store_nodes',
          'webhook_outbox',
        ]),
      );
    });

    test('runs the migrations once; reopening keeps the data and applies nothing', async () => {
      const target = await backend.fresh();
      const first = await open(target);
      expect(first.applied).toEqual(ALL_MIGRATIONS);
      await new GroupService(first.db).create({ groupID: 'team', members: ['alice', 'bob'] });
      await first.close();

      const second = await open(target);
      expect(second.applied).toEqual([]);
      const done = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(second.db);
      expect(done.rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS);
      expect(await new GroupService(second.db).getGroup('team')).toEqual({
        groupID: 'team',
        members: ['alice', 'bob'],
      });
    });

    test('three opens of one store at once (three nodes starting) all succeed, migrating once', async () => {
      const target = await backend.fresh();
      const [a, b, c] = await Promise.all([open(target), open(target), open(target)]);
      expect([...a!.applied, ...b!.applied, ...c!.applied].sort()).toEqual(ALL_MIGRATIONS);
      await new GroupService(a!.db).create({ groupID: 'shared', members: ['carol'] });
      expect(await new GroupService(b!.db).isMember('shared', 'carol')).toBe(true);
      expect(await new GroupService(c!.db).isMember('shared', 'carol')).toBe(true);
    });

    test('close() is idempotent and queries after it fail', async () => {
      const store = await open(await backend.fresh());
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await expect(new GroupService(store.db).getGroup('x')).rejects.toThrow();
    });

    test('a store migrated by a newer Ringline refuses to open, saying so', async () => {
      const target = await backend.fresh();
      const newer = await open(target);
      await sql`insert into kysely_migration (name, timestamp) values ('9999_future', '0')`.execute(
        newer.db,
      );
      await newer.close();
      const err = await openStore(target).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toMatch(/migrating .* failed: .*9999_future/);
    });

    test('a store made before node IDs upgrades: its open records belong to the default node', async () => {
      const target = await backend.fresh();
      const old = await open(target);
      // Back to the first schema, as a data dir from before the second migration has it.
      const migrator = new Migrator({ db: old.db, provider: migrationProvider });
      const down = await migrator.migrateTo(ALL_MIGRATIONS[0]!);
      expect(down.error).toBeUndefined();
      await old.db
        .insertInto('call_records')
        .values({
          call_id: 'old',
          room_id: 1,
          sponsor: 'alice',
          group_id: null,
          call_type: 1,
          media: 'p2p',
          started_at: 1000,
          connected_at: null,
          ended_at: null,
          end_reason: null,
          members_json: '["alice"]',
        } as never)
        .execute();
      await old.close();

      const other = await open(target, { nodeID: 'node-b', recover: true });
      expect(other.applied).toEqual(ALL_MIGRATIONS.slice(1));
      expect(other.recovered).toBe(0);
      const upgraded = await open(target, { recover: true });
      expect(upgraded.recovered).toBe(1);
      const record = await upgraded.callRecords.get('old');
      expect(record).toMatchObject({ callID: 'old', endReason: 'server_restart' });
      expect(record?.endedAt).toBeGreaterThanOrEqual(1000);
    });
  });

  describe(`CallRecordStore on ${backend.name}`, () => {
    let store: Store;
    let target: StoreTarget;
    beforeEach(async () => {
      target = await backend.fresh();
      store = await openStore(target);
    });
    afterEach(async () => {
      await store.close();
    });

    test('start() records the call with the sponsor as its first member', async () => {
      await store.callRecords.start(call);
      expect(await store.callRecords.get('c1')).toEqual({
        callID: 'c1',
        roomID: 4242,
        sponsor: 'alice',
        callType: 2,
        media: 'p2p',
        startedAt: 1000,
        members: ['alice'],
      });
    });

    test('a group call keeps its groupID and given members', async () => {
      await store.callRecords.start({ ...call, groupID: 'team', media: 'sfu', members: ['alice'] });
      expect(await store.callRecords.get('c1')).toMatchObject({ groupID: 'team', media: 'sfu' });
    });

    test('connected() marks the first connection only', async () => {
      await store.callRecords.start(call);
      expect(await store.callRecords.connected('c1', 2000)).toBe(true);
      expect(await store.callRecords.connected('c1', 3000)).toBe(false);
      expect((await store.callRecords.get('c1'))?.connectedAt).toBe(2000);
    });

    test('end() finishes the record once, with reason, members and final media', async () => {
      await store.callRecords.start(call);
      const end = { reason: 'hangup', members: ['alice', 'bob', 'carol'], media: 'sfu' } as const;
      expect(await store.callRecords.end('c1', { ...end, endedAt: 5000 })).toBe(true);
      expect(await store.callRecords.end('c1', { reason: 'disconnected', endedAt: 6000 })).toBe(
        false,
      );
      expect(await store.callRecords.get('c1')).toMatchObject({
        endedAt: 5000,
        endReason: 'hangup',
        media: 'sfu',
        members: ['alice', 'bob', 'carol'],
      });
    });

    test('end() without members keeps the stored list', async () => {
      await store.callRecords.start(call);
      await store.callRecords.end('c1', { reason: 'cancelled' });
      const record = await store.callRecords.get('c1');
      expect(record?.members).toEqual(['alice']);
      expect(record?.endReason).toBe('cancelled');
      expect(record?.endedAt).toBeGreaterThan(0);
      expect(record?.connectedAt).toBeUndefined();
    });

    test('end() of an unknown call resolves false and get() undefined', async () => {
      expect(await store.callRecords.end('nope', { reason: 'hangup' })).toBe(false);
      expect(await store.callRecords.get('nope')).toBeUndefined();
    });

    test('start() twice with one callID rejects and keeps the first', async () => {
      await store.callRecords.start(call);
      await expect(store.callRecords.start({ ...call, sponsor: 'mallory' })).rejects.toThrow(
        /UNIQUE|PRIMARY/i,
      );
      expect((await store.callRecords.get('c1'))?.sponsor).toBe('alice');
    });

    test('records survive a restart', async () => {
      await store.callRecords.start(call);
      await store.close();
      store = await openStore(target);
      expect((await store.callRecords.get('c1'))?.sponsor).toBe('alice');
    });

    test('writes made together commit together, and a failing one fails only itself', async () => {
      const records = store.callRecords;
      // All issued in one turn of the event loop: one group commit.
      const results = await Promise.allSettled([
        records.start(call),
        records.start({ ...call, callID: 'c2' }),
        records.start(call), // the same callID again: refused
        records.connected('c1', 1500),
        records.end('c2', { reason: 'no_answer', endedAt: 1600 }),
      ]);
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(await records.get('c1')).toMatchObject({ connectedAt: 1500 });
      expect(await records.get('c2')).toMatchObject({ endedAt: 1600, endReason: 'no_answer' });
    });

    test('marks of one call made together count once each, as they would one by one', async () => {
      const records = store.callRecords;
      const results = await Promise.all([
        records.start(call),
        records.start({ ...call, callID: 'c2' }),
        records.connected('c1', 1500),
        records.connected('c1', 1600),
        records.end('c1', {
          reason: 'hangup',
          endedAt: 2000,
          members: ['alice', 'bob'],
          media: 'sfu',
        }),
        records.end('c1', { reason: 'disconnected', endedAt: 2100 }),
        records.end('c2', { reason: 'cancelled', endedAt: 2200 }),
        records.connected('nope', 1),
        records.end('nope', { reason: 'hangup' }),
      ]);
      expect(results).toEqual([undefined, undefined, true, false, true, false, true, false, false]);
      expect(await records.get('c1')).toMatchObject({
        connectedAt: 1500,
        endedAt: 2000,
        endReason: 'hangup',
        members: ['alice', 'bob'],
        media: 'sfu',
      });
      const c2 = await records.get('c2');
      expect(c2).toMatchObject({ endedAt: 2200, endReason: 'cancelled', members: ['alice'] });
      expect(c2).toMatchObject({ media: 'p2p' });
      expect(c2?.connectedAt).toBeUndefined();
    });

    test('a call marked before it is started, in one batch, is marked as one by one would', async () => {
      const records = store.callRecords;
      const results = await Promise.all([
        records.start({ ...call, callID: 'c0' }),
        records.connected('c1', 1500),
        records.start(call),
        records.end('c1', { reason: 'hangup', endedAt: 1700 }),
      ]);
      expect(results).toEqual([undefined, false, undefined, true]);
      const record = await records.get('c1');
      expect(record).toMatchObject({ endedAt: 1700, endReason: 'hangup' });
      expect(record?.connectedAt).toBeUndefined();
    });

    test('get() sees the writes made before it, even those not yet committed', async () => {
      const records = store.callRecords;
      const writes = [records.start(call), records.end('c1', { reason: 'hangup', endedAt: 1700 })];
      expect(await records.get('c1')).toMatchObject({ endedAt: 1700, endReason: 'hangup' });
      await Promise.all(writes);
    });

    test('close() waits for writes still queued', async () => {
      const pending = store.callRecords.start(call);
      await store.close();
      await pending;
      store = await openStore(target);
      expect(await store.callRecords.get('c1')).toMatchObject({ callID: 'c1' });
    });

    test('closeInterrupted() closes every open record with server_restart, once', async () => {
      const records = store.callRecords;
      await records.start(call);
      await records.start({ ...call, callID: 'c2', startedAt: 2000 });
      await records.connected('c2', 9000);
      await records.start({ ...call, callID: 'c3' });
      await records.end('c3', { reason: 'hangup', endedAt: 1200 });
      expect(await records.closeInterrupted(5000)).toBe(2);
      expect(await records.get('c1')).toMatchObject({ endedAt: 5000, endReason: 'server_restart' });
      // Never before what the record itself knows (a clock that went back).
      expect(await records.get('c2')).toMatchObject({ endedAt: 9000, endReason: 'server_restart' });
      expect(await records.get('c3')).toMatchObject({ endedAt: 1200, endReason: 'hangup' });
      expect(await records.closeInterrupted(6000)).toBe(0);
    });

    test('openStore({recover}) closes what a stopped server left open, at its last write', async () => {
      await store.callRecords.start({ ...call, startedAt: Date.now() - 60_000 });
      await store.close();
      const before = Date.now();
      store = await openStore(target);
      expect(store.recovered).toBe(0);
      expect((await store.callRecords.get('c1'))?.endedAt).toBeUndefined();
      await store.close();
      store = await openStore({ ...target, recover: true });
      expect(store.recovered).toBe(1);
      const record = await store.callRecords.get('c1');
      expect(record?.endReason).toBe('server_restart');
      // The last write was the record's start (or the open without recover): not the restart.
      expect(record?.endedAt).toBeLessThanOrEqual(before + 1000);
    });

    test('failed writes are dropped and counted', async () => {
      const records = store.callRecords;
      await records.start(call);
      expect(records.failedWrites).toBe(0);
      await expect(records.start(call)).rejects.toThrow(/UNIQUE|PRIMARY/i);
      expect(records.failedWrites).toBe(1);
    });

    test('writes made during another transaction commit after it, in order, and not inside it', async () => {
      const records = store.callRecords;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      // A group change that is still open (awaiting) when the history's turn comes, then fails.
      const other = store.db.transaction().execute(async (tx) => {
        await tx.insertInto('groups').values({ group_id: 'g', name: '', created_at: 1 }).execute();
        await held;
        throw new Error('the group change fails');
      });
      const writes = [records.start(call), records.end('c1', { reason: 'hangup', endedAt: 1700 })];
      await new Promise((r) => setImmediate(r));
      release();
      await expect(other).rejects.toThrow(/group change fails/);
      await Promise.all(writes);
      expect(await records.get('c1')).toMatchObject({ endedAt: 1700, endReason: 'hangup' });
      expect(await store.db.selectFrom('groups').selectAll().execute()).toEqual([]);
    });
  });

  describe(`call members and the history queries on ${backend.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open(await backend.fresh());
    });

    /** A call started at `at` by `sponsor` ringing `invitees`, as the observer writes it. */
    const ring = (
      callID: string,
      at: number,
      sponsor: string,
      invitees: string[],
      groupID?: string,
    ) =>
      Promise.all([
        store.callRecords.start({ ...call, callID, sponsor, startedAt: at, groupID }),
        store.callRecords.invited(callID, invitees, at, sponsor),
      ]);

    /**
     * A group call's whole life as the observer writes it: awaited one by one, or (`together`)
     * all in one turn, so that they commit as one batch (grouped on Postgres).
     */
    const groupCallLife = async (together: boolean) => {
      const r = store.callRecords;
      const steps: (() => Promise<unknown>)[] = [
        () => ring('g1', 1000, 'alice', ['bob', 'carol', 'dave', 'erin'], 'team'),
        () => r.answered('g1', 'bob', 1100),
        () => r.joined('g1', 'bob', 1150),
        () => r.connected('g1', 1150),
        () => r.memberEnded('g1', 'carol', 'busy', 1000),
        () => r.memberEnded('g1', 'dave', 'rejected', 1200),
        () => r.joined('g1', 'frank', 1300), // a group member joining uninvited
        () => r.memberEnded('g1', 'frank', 'left', 1400),
        () => r.memberEnded('g1', 'frank', 'disconnected', 1450), // already ended: no change
        () => r.membersClosed('g1', 'answered', 2000), // alice, bob, erin (ringing)
        () => r.end('g1', { reason: 'hangup', endedAt: 2000, members: ['alice', 'bob', 'frank'] }),
      ];
      const results: unknown[] = [];
      if (together) results.push(...(await Promise.all(steps.map((step) => step()))));
      else for (const step of steps) results.push(await step());
      expect(results.slice(1)).toEqual([
        true,
        undefined,
        true,
        true,
        true,
        undefined,
        true,
        false,
        3,
        true,
      ]);

      const got = await store.callHistory.get('g1');
      expect(got).toMatchObject({
        callID: 'g1',
        groupID: 'team',
        connectedAt: 1150,
        endedAt: 2000,
        durationMs: 850,
        endReason: 'hangup',
      });
      expect(got!.members).toEqual([
        {
          userID: 'alice',
          role: 'inviter',
          invitedAt: 1000,
          joinedAt: 1000,
          leftAt: 2000,
          outcome: 'answered',
        },
        {
          userID: 'bob',
          role: 'invitee',
          invitedAt: 1000,
          answeredAt: 1100,
          joinedAt: 1150,
          leftAt: 2000,
          outcome: 'answered',
        },
        { userID: 'carol', role: 'invitee', invitedAt: 1000, leftAt: 1000, outcome: 'busy' },
        { userID: 'dave', role: 'invitee', invitedAt: 1000, leftAt: 1200, outcome: 'rejected' },
        { userID: 'erin', role: 'invitee', invitedAt: 1000, leftAt: 2000, outcome: 'cancelled' },
        { userID: 'frank', role: 'joiner', joinedAt: 1300, leftAt: 1400, outcome: 'left' },
      ]);
      expect(await store.callHistory.unreadMissed('erin')).toBe(1);
      expect(await store.callHistory.unreadMissed('carol')).toBe(0);
    };

    test('each member keeps their times and outcome; the end closes the parts still open', async () => {
      await groupCallLife(false);
    });

    test('a call’s member changes made in one turn commit as one by one would', async () => {
      await groupCallLife(true);
    });

    test('changes of many calls in one batch keep each call’s order', async () => {
      const r = store.callRecords;
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        const id = `m${i}`;
        writes.push(
          ring(id, 1000 + i, 'alice', ['bob']),
          r.memberEnded(id, 'bob', 'no_answer', 2000 + i),
          // Invited again after the miss: a new part, answered this time.
          r.invited(id, ['bob'], 3000 + i),
          r.answered(id, 'bob', 3100 + i),
          r.joined(id, 'bob', 3100 + i),
          r.membersClosed(id, 'answered', 4000 + i),
        );
      }
      await Promise.all(writes);
      const page = await store.callHistory.forUser('bob', { limit: 100 });
      expect(page.calls).toHaveLength(50);
      for (const c of page.calls) {
        const i = Number(c.callID.slice(1));
        expect(c).toMatchObject({ outcome: 'answered', missed: false, startedAt: 1000 + i });
        expect(c.members[1]).toMatchObject({ invitedAt: 3000 + i, answeredAt: 3100 + i });
      }
      expect(await store.callHistory.unreadMissed('bob')).toBe(0);
    });

    test('an outcome is set once; a second invitation reopens the part', async () => {
      const r = store.callRecords;
      await ring('c1', 1000, 'alice', ['bob']);
      expect(await r.memberEnded('c1', 'bob', 'no_answer', 1300)).toBe(true);
      expect(await r.memberEnded('c1', 'bob', 'rejected', 1400)).toBe(false);
      expect(await r.answered('c1', 'bob', 1400)).toBe(false);
      await r.invited('c1', ['bob'], 1500);
      expect(await r.answered('c1', 'bob', 1600)).toBe(true);
      const bob = (await store.callHistory.get('c1'))!.members[1];
      expect(bob).toEqual({ userID: 'bob', role: 'invitee', invitedAt: 1500, answeredAt: 1600 });
    });

    test('writes of several members made together commit in order', async () => {
      const r = store.callRecords;
      const writes = await Promise.all([
        store.callRecords.start({ ...call, callID: 'c1', startedAt: 1000 }),
        r.invited('c1', ['bob'], 1000, 'alice'),
        r.answered('c1', 'bob', 1100),
        r.joined('c1', 'bob', 1100),
        r.memberEnded('c1', 'bob', 'left', 1200),
        r.membersClosed('c1', 'answered', 1300),
      ]);
      expect(writes.slice(2)).toEqual([true, undefined, true, 1]);
      const c = await store.callHistory.get('c1');
      expect(c!.startedAt).toBe(1000);
      expect(c!.members.map((m) => [m.userID, m.outcome])).toEqual([
        ['alice', 'answered'],
        ['bob', 'left'],
      ]);
    });

    test('list() filters by user, group, time and outcome, and pages newest first', async () => {
      const r = store.callRecords;
      await ring('a', 1000, 'alice', ['bob']);
      await ring('b', 2000, 'bob', ['carol'], 'team');
      await ring('c', 3000, 'carol', ['alice']);
      await ring('d', 3000, 'alice', ['carol']); // same start as c: ties go by call ID
      await r.memberEnded('a', 'bob', 'no_answer', 1500);
      await r.memberEnded('c', 'alice', 'rejected', 3100);

      const ids = (p: { calls: { callID: string }[] }) => p.calls.map((c) => c.callID);
      const h = store.callHistory;
      expect(ids(await h.list())).toEqual(['d', 'c', 'b', 'a']);
      expect(ids(await h.list({ userID: 'alice' }))).toEqual(['d', 'c', 'a']);
      expect(ids(await h.list({ groupID: 'team' }))).toEqual(['b']);
      expect(ids(await h.list({ from: 2000, to: 3000 }))).toEqual(['b']);
      expect(ids(await h.list({ outcome: 'no_answer' }))).toEqual(['a']);
      expect(ids(await h.list({ userID: 'bob', outcome: 'rejected' }))).toEqual([]);

      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await h.list({}, { limit: 1, cursor });
        seen.push(...ids(page));
        cursor = page.next;
        if (cursor === undefined) break;
      }
      expect(seen).toEqual(['d', 'c', 'b', 'a']);
      // A call started after the first page does not shift the next ones.
      const first = await h.list({}, { limit: 2 });
      await ring('e', 4000, 'erin', ['bob']);
      expect(ids(await h.list({}, { limit: 2, cursor: first.next }))).toEqual(['b', 'a']);
    });

    test('bad cursors, limits, filters and user IDs are refused with coded errors', async () => {
      const h = store.callHistory;
      for (const cursor of [
        '%%%',
        'bm90IGpzb24',
        Buffer.from('[1]').toString('base64url'),
        'x'.repeat(201),
      ]) {
        await expect(h.list({}, { cursor })).rejects.toMatchObject({ name: 'INVALID_CURSOR' });
      }
      await expect(h.list({}, { limit: 0 })).rejects.toMatchObject({ name: 'INVALID_FIELD' });
      await expect(h.list({}, { limit: 201 })).rejects.toMatchObject({ name: 'INVALID_FIELD' });
      await expect(h.list({ outcome: 'lost' as never })).rejects.toMatchObject({
        name: 'INVALID_FIELD',
      });
      await expect(h.list({ userID: 'a b' })).rejects.toMatchObject({ name: 'INVALID_USER_ID' });
      await expect(h.forUser('a b')).rejects.toMatchObject({ name: 'INVALID_USER_ID' });
      await expect(h.markSeen('bob', { callIDs: Array(101).fill('c') })).rejects.toMatchObject({
        name: 'INVALID_FIELD',
      });
    });

    test("a user's history has only their calls, with their own outcome and missed flags", async () => {
      const r = store.callRecords;
      await ring('a', 1000, 'alice', ['bob']);
      await ring('b', 2000, 'carol', ['bob']);
      await ring('c', 3000, 'bob', ['alice']);
      await ring('d', 4000, 'carol', ['dave']);
      await r.memberEnded('a', 'bob', 'no_answer', 1500);
      await r.membersClosed('a', 'no_answer', 1500);
      await r.memberEnded('b', 'bob', 'rejected', 2100);
      await r.membersClosed('c', 'cancelled', 3100); // alice still ringing: cancelled for her

      const mine = await store.callHistory.forUser('bob');
      expect(mine.calls.map((c) => [c.callID, c.role, c.outcome, c.missed, c.seen])).toEqual([
        ['c', 'inviter', 'cancelled', false, true],
        ['b', 'invitee', 'rejected', false, true],
        ['a', 'invitee', 'no_answer', true, false],
      ]);
      const alice = await store.callHistory.missed('alice');
      expect(alice.unread).toBe(1);
      expect(alice.calls.map((c) => c.callID)).toEqual(['c']);
      expect((await store.callHistory.missed('dave')).calls).toEqual([]);
    });

    test("the device that answered (ring-all) is kept; the user's other devices see answered_elsewhere", async () => {
      const r = store.callRecords;
      const h = store.callHistory;
      await ring('k', 500, 'alice', ['bob']); // kick mode: no device
      await r.answered('k', 'bob', 600);
      await r.membersClosed('k', 'answered', 700);
      // One by one, then together (a grouped commit on Postgres).
      await ring('a', 1000, 'alice', ['bob', 'carol']);
      await r.answered('a', 'bob', 1100, 'laptop-1');
      await Promise.all([
        ring('b', 2000, 'alice', ['bob']),
        r.answered('b', 'bob', 2100, 'phone-1'),
        r.joined('b', 'bob', 2100),
        r.membersClosed('b', 'answered', 2200),
      ]);
      await r.membersClosed('a', 'answered', 1200); // carol still ringing: cancelled, missed

      const bob = (await h.get('a'))!.members[1];
      expect(bob).toMatchObject({ userID: 'bob', answeredAt: 1100, deviceID: 'laptop-1' });
      expect((await h.get('b'))!.members[1]).toMatchObject({
        outcome: 'answered',
        deviceID: 'phone-1',
      });
      expect((await h.get('k'))!.members[1]).not.toHaveProperty('deviceID');

      const asked = async (deviceID?: string) =>
        (await h.forUser('bob', { deviceID })).calls.map((c) => [c.callID, c.outcome, c.missed]);
      expect(await asked('phone-1')).toEqual([
        ['b', 'answered', false],
        ['a', 'answered_elsewhere', false],
        ['k', 'answered', false],
      ]);
      expect(await asked('laptop-1')).toEqual([
        ['b', 'answered_elsewhere', false],
        ['a', 'answered', false],
        ['k', 'answered', false],
      ]);
      expect(await asked()).toEqual([
        ['b', 'answered', false],
        ['a', 'answered', false],
        ['k', 'answered', false],
      ]);
      // Nobody's devices in a user's view of a call; the missed count has only carol's miss.
      const mine = await h.forUser('carol', { deviceID: 'tablet' });
      expect(mine.calls[0]!.members.some((m) => 'deviceID' in m)).toBe(false);
      expect(await h.unreadMissed('bob')).toBe(0);
      expect((await h.missed('bob', { deviceID: 'phone-1' })).calls).toEqual([]);
      expect(await h.unreadMissed('carol')).toBe(1);
      // Rung again, the new part has no answer yet, so no device.
      await r.invited('a', ['bob'], 1300);
      expect((await h.get('a'))!.members[1]).not.toHaveProperty('deviceID');

      for (const deviceID of ['', 'a b', 'x'.repeat(65), "'; drop table call_members; --"]) {
        await expect(h.forUser('bob', { deviceID })).rejects.toMatchObject({
          name: 'INVALID_FIELD',
        });
      }
    });

    test('markSeen() clears the unread count, up to a time or by call ID, for that user only', async () => {
      const r = store.callRecords;
      for (const [id, at] of [
        ['a', 1000],
        ['b', 2000],
        ['c', 3000],
      ] as const) {
        await ring(id, at, 'alice', ['bob', 'carol']);
        await r.membersClosed(id, 'cancelled', at + 10);
      }
      const h = store.callHistory;
      expect(await h.unreadMissed('bob')).toBe(3);
      expect(await h.markSeen('bob', { before: 2000 })).toBe(2);
      expect(await h.unreadMissed('bob')).toBe(1);
      expect(await h.markSeen('bob', { callIDs: ['a', 'c', 'nope'] })).toBe(1);
      expect(await h.unreadMissed('bob')).toBe(0);
      expect(await h.unreadMissed('carol')).toBe(3);
      const page = await h.forUser('bob', { missed: true });
      expect(page.calls.every((c) => c.missed && c.seen)).toBe(true);
    });
  });

  describe(`call records of several nodes on ${backend.name}`, () => {
    test('each record carries the node that wrote it', async () => {
      const target = await backend.fresh();
      const a = await open(target, { nodeID: 'node-a' });
      const b = await open(target);
      await a.callRecords.start(call);
      await b.callRecords.start({ ...call, callID: 'c2' });
      expect(a.nodeID).toBe('node-a');
      expect(await b.callRecords.get('c1')).toMatchObject({ nodeID: 'node-a' });
      expect(await a.callRecords.get('c2')).not.toHaveProperty('nodeID');
    });

    test("a node's recovery closes its own open records, never another node's calls", async () => {
      const target = await backend.fresh();
      const a = await open(target, { nodeID: 'node-a', recover: true });
      const b = await open(target, { nodeID: 'node-b', recover: true });
      await a.callRecords.start({ ...call, callID: 'a1', startedAt: Date.now() - 1000 });
      await a.callRecords.start({ ...call, callID: 'a2', startedAt: Date.now() - 1000 });
      await a.callRecords.end('a2', { reason: 'hangup' });
      await b.callRecords.start({ ...call, callID: 'b1', startedAt: Date.now() - 1000 });
      // node-a stops without ending a1 (as a crash would leave it) and starts again.
      await a.close();
      const again = await open(target, { nodeID: 'node-a', recover: true });
      expect(again.recovered).toBe(1);
      expect(await again.callRecords.get('a1')).toMatchObject({ endReason: 'server_restart' });
      expect(await again.callRecords.get('a2')).toMatchObject({ endReason: 'hangup' });
      // node-b's call is going on: untouched, and node-b ends it as usual.
      expect(await again.callRecords.get('b1')).not.toHaveProperty('endedAt');
      expect(await b.callRecords.end('b1', { reason: 'hangup' })).toBe(true);
    });

    test('a node ID that is not 1-64 letters, digits, "_", "-" or "." is refused', async () => {
      const target = await backend.fresh();
      await expect(openStore({ ...target, nodeID: 'a b' })).rejects.toThrow(/--node-id must be/);
      await expect(openStore({ ...target, nodeID: 'x'.repeat(65) })).rejects.toThrow(
        /--node-id must be/,
      );
    });
  });

  describe(`prepare on ${backend.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open(await backend.fresh());
    });

    test('binds values by name, in whatever order the SQL needs them, on every run', async () => {
      const { db } = store;
      const insert = prepare<{ id: string; name: string; at: number }>(
        db.insertInto('groups').values({
          name: slot('name'),
          created_at: slot('at'),
          group_id: slot('id'),
        }),
      );
      await insert.run(db, { id: 'g1', name: 'one', at: 1 });
      await insert.run(db, { at: 2, id: 'g2', name: 'two' });
      const rows = await db.selectFrom('groups').selectAll().orderBy('group_id').execute();
      expect(rows).toEqual([
        { group_id: 'g1', name: 'one', created_at: 1 },
        { group_id: 'g2', name: 'two', created_at: 2 },
      ]);
    });

    test('refuses a query with a value that is not a slot', () => {
      const query = store.db.selectFrom('groups').selectAll().where('group_id', '=', 'literal');
      expect(() => prepare(query)).toThrow(/every value must be a slot\(\); found "literal"/);
    });
  });
  describe(`WebhookOutboxStore on ${backend.name}`, () => {
    let store: Store;
    let target: StoreTarget;
    beforeEach(async () => {
      target = await backend.fresh();
      store = await open(target);
    });
    const endpoint = 'http://receiver.test/hooks';
    const entry = (id: string, orderKey: string, seq: number, createdAt = 1000) => ({
      id,
      endpoint,
      orderKey,
      seq,
      type: 'call.invited',
      body: `{"id":"${id}"}`,
      createdAt,
    });
    const claim = (owner: string, now: number, extra: { limit?: number; gapMs?: number } = {}) =>
      store.webhookOutbox
        .claim({ endpoint, owner, now, leaseMs: 1000, limit: 10, gapMs: 5000, ...extra })
        .then((rows) => rows.map((r) => r.id).sort());

    test('claims due rows with a lease: another owner gets none of them until it runs out', async () => {
      await store.webhookOutbox.enqueue([entry('a1', 'a', 1), entry('b1', 'b', 1)]);
      expect(await claim('w1', 999)).toEqual([]);
      expect(await claim('w1', 1000)).toEqual(['a1', 'b1']);
      expect(await claim('w2', 1500)).toEqual([]);
      expect(await claim('w2', 2000)).toEqual(['a1', 'b1']);
      // w1 lost its lease: it can no longer mark the row.
      expect(await store.webhookOutbox.delivered('a1', 'w1', 2100)).toBe(false);
      expect(await store.webhookOutbox.delivered('a1', 'w2', 2100)).toBe(true);
    });

    test('rows of one call go one at a time, in seq order; other calls do not wait', async () => {
      const outbox = store.webhookOutbox;
      await outbox.enqueue([entry('a1', 'a', 1), entry('a2', 'a', 2), entry('a3', 'a', 3)]);
      await outbox.enqueue([entry('b1', 'b', 1)]);
      expect(await claim('w', 1000)).toEqual(['a1', 'b1']);
      expect(await outbox.delivered('a1', 'w', 1100)).toBe(true);
      expect(await outbox.delivered('b1', 'w', 1100)).toBe(true);
      expect(await claim('w', 1100)).toEqual(['a2']);
      // a2 fails and is due again at 5000: a3 waits behind it.
      expect(await outbox.retryAt('a2', 'w', 5000, 'answered 500')).toBe(true);
      expect(await claim('w', 4000)).toEqual([]);
      expect(await claim('w', 5000)).toEqual(['a2']);
      // Given up on, a2 no longer holds a3 back.
      expect(await outbox.failed('a2', 'w', 5100, 'answered 500')).toBe(true);
      expect(await claim('w', 5100)).toEqual(['a3']);
    });

    test('a row whose predecessor is not there yet waits for it, at most gapMs', async () => {
      await store.webhookOutbox.enqueue([entry('a3', 'a', 3, 1000)]);
      expect(await claim('w', 1000, { gapMs: 500 })).toEqual([]);
      await store.webhookOutbox.enqueue([entry('a2', 'a', 2, 1000)]);
      expect(await claim('w', 1000, { gapMs: 500 })).toEqual([]);
      expect(await claim('w', 1500, { gapMs: 500 })).toEqual(['a2']);
    });

    test('records attempts, the last error and the end state; pruning keeps what is pending', async () => {
      const outbox = store.webhookOutbox;
      await outbox.enqueue([entry('a1', 'a', 1), entry('b1', 'b', 1), entry('c1', 'c', 1)]);
      expect(await claim('w', 1000)).toEqual(['a1', 'b1', 'c1']);
      await outbox.retryAt('a1', 'w', 2000, 'x'.repeat(1000));
      await outbox.delivered('b1', 'w', 1200);
      await outbox.failed('c1', 'w', 1300, 'gave up');
      const rows = await outbox.list();
      expect(rows.map((r) => [r.id, r.state, r.attempts])).toEqual([
        ['a1', 'pending', 1],
        ['b1', 'delivered', 1],
        ['c1', 'failed', 1],
      ]);
      expect(rows[0]!.last_error).toHaveLength(500);
      expect(rows[0]).toMatchObject({ next_at: 2000, lease_owner: null, lease_until: null });
      expect(await outbox.prune(1201, 1300)).toBe(1);
      expect(await outbox.prune(1201, 1301)).toBe(1);
      expect((await outbox.list()).map((r) => r.id)).toEqual(['a1']);
    });

    test('release() gives back the leases an owner holds', async () => {
      await store.webhookOutbox.enqueue([entry('a1', 'a', 1)]);
      expect(await claim('w1', 1000)).toEqual(['a1']);
      await store.webhookOutbox.release('w1');
      expect(await claim('w2', 1001)).toEqual(['a1']);
    });

    test('rows survive a restart', async () => {
      await store.webhookOutbox.enqueue([entry('a1', 'a', 1)]);
      await store.close();
      store = await open(target);
      expect(await claim('w', 1000)).toEqual(['a1']);
    });

    test('two stores (nodes) claiming at once never get the same row', async () => {
      const other = await open(target);
      const entries = Array.from({ length: 60 }, (_, i) => entry(`r${i}`, `call${i}`, 1));
      await store.webhookOutbox.enqueue(entries);
      const got: string[] = [];
      const take = async (s: Store, owner: string) => {
        for (let round = 0; round < 20; round++) {
          const rows = await s.webhookOutbox.claim({
            endpoint,
            owner,
            now: 1000,
            leaseMs: 60_000,
            limit: 7,
            gapMs: 0,
          });
          got.push(...rows.map((r) => r.id));
        }
      };
      await Promise.all([take(store, 'n1'), take(other, 'n2'), take(store, 'n3')]);
      expect(got).toHaveLength(60);
      expect(new Set(got).size).toBe(60);
    });
  });
}
