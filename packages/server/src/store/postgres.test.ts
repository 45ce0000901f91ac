/**
 * The store on Postgres: the conformance suite against a real PostgreSQL 15 (one server for this
 * file, a database per store), and what only Postgres does: URLs, an unreachable server, the
 * bounded pool, each node's sign of life.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { GroupService } from '../groups/service.js';
import { freePort, startPostgres } from '../testing/postgres.js';
import { postgresBackend } from '../testing/store-backends.js';
import { storeConformance } from './conformance.js';
import { openStore, storageFailure, StoreError, type Store, type StoreOptions } from './store.js';

const backend = postgresBackend();
storeConformance(backend);

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function open(options: StoreOptions): Promise<Store> {
  const store = await openStore(options);
  stores.push(store);
  return store;
}

/** Resolves with what `p` rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Polls `check` every 20 ms until it is true; fails after `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; waited <= timeoutMs; waited += 20) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not true after ${timeoutMs} ms`);
}

describe('openStore on Postgres', () => {
  test('says where it is without the password, and keeps no file', async () => {
    const { database } = await backend.fresh();
    const url = new URL(database!);
    url.password = 'hunter2';
    const store = await open({ database: url.toString() });
    expect(store.dialect).toBe('postgres');
    expect(store.file).toBeUndefined();
    expect(store.location).toBe(`postgres://postgres@127.0.0.1:${url.port}${url.pathname}`);
  });

  test('bigint columns and counts come back as numbers, as on SQLite', async () => {
    const store = await open(await backend.fresh());
    await store.db
      .insertInto('groups')
      .values({ group_id: 'g', name: '', created_at: 1_700_000_000_123 })
      .execute();
    const row = await store.db
      .selectFrom('groups')
      .select(['created_at', (eb) => eb.fn.countAll().as('n')])
      .groupBy('created_at')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ created_at: 1_700_000_000_123, n: 1 });
  });

  test('the pool holds at most pool_size connections', async () => {
    const { database } = await backend.fresh();
    const store = await open({ database: `${database}?pool_size=2` });
    const name = new URL(database!).pathname.slice(1);
    const count = async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from pg_stat_activity where datname = ${name}`.execute(
          store.db,
        )
      ).rows[0]!.n;
    // Ten queries at once that each hold their connection for a moment.
    const held = await Promise.all(
      Array.from({ length: 10 }, () =>
        sql`select pg_sleep(0.05)`.execute(store.db).then(() => count()),
      ),
    );
    expect(Math.max(...held)).toBeLessThanOrEqual(2);
  });

  test('a statement that runs past statement_timeout is cancelled, and the pool goes on', async () => {
    const { database } = await backend.fresh();
    const plain = await open({ database: database! });
    const shown = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(
      plain.db,
    );
    expect(shown.rows[0]?.statement_timeout).toBe('30s');

    const store = await open({ database: `${database}?statement_timeout=100` });
    const err = await rejection(sql`select pg_sleep(5)`.execute(store.db));
    expect(err.message).toMatch(/statement timeout/);
    expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([
      { one: 1 },
    ]);
  });

  test('with recover, a node records that it is alive, and keeps doing so', async () => {
    const target = await backend.fresh();
    const store = await open({ ...target, nodeID: 'node-a', recover: true, aliveIntervalMs: 20 });
    const aliveAt = async () =>
      Number(
        (
          await store.db
            .selectFrom('store_nodes')
            .select('alive_at')
            .where('node_id', '=', 'node-a')
            .executeTakeFirstOrThrow()
        ).alive_at,
      );
    const first = await aliveAt();
    await waitFor(async () => (await aliveAt()) > first);
  });

  test("a restarted node's open calls end when it was last alive, not when it came back", async () => {
    const target = await backend.fresh();
    const first = await open({ ...target, nodeID: 'node-a', recover: true });
    await first.callRecords.start({
      callID: 'c1',
      roomID: 1,
      sponsor: 'alice',
      callType: 2,
      media: 'p2p',
      startedAt: 1000,
    });
    // The node dies having last been alive at a known moment.
    await first.db.updateTable('store_nodes').set({ alive_at: 5000 }).execute();
    await first.close();
    const again = await open({ ...target, nodeID: 'node-a', recover: true });
    expect(again.recovered).toBe(1);
    expect(await again.callRecords.get('c1')).toMatchObject({
      endedAt: 5000,
      endReason: 'server_restart',
    });
  });

  test('a second running node with the same node ID is warned about', async () => {
    const target = await backend.fresh();
    await open({ ...target, nodeID: 'twin', recover: true });
    const logger = recordingLogger();
    await open({ ...target, nodeID: 'twin', recover: true, logger });
    expect(logger.lines).toContainEqual({
      level: 'warn',
      msg: expect.stringMatching(/another running node use it/),
    });
  });
});

describe('openStore failures on Postgres', () => {
  test('an unreachable server rejects with StoreError saying where and why, without the password', async () => {
    const port = await freePort();
    const err = await rejection(
      openStore({ database: `postgres://ringline:s3cret@127.0.0.1:${port}/calls` }),
    );
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toContain(`postgres://ringline@127.0.0.1:${port}/calls`);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toContain('s3cret');
  });

  test('a database that does not exist rejects with StoreError naming it', async () => {
    const url = new URL(backend.server().url);
    url.pathname = '/no_such_db';
    const err = await rejection(openStore({ database: url.toString() }));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/no_such_db.*does not exist/);
  });

  test.each([
    ['mysql://root:pw@db/ringline', /postgres:\/\/ or postgresql:\/\/ URL/],
    ['postgres:///ringline', /names no host/],
    ['not a url at all', /must be a postgres:\/\/user:password@host/],
    ['postgresql://root:pw@db/ringline?pool_size=0', /pool_size must be an integer from 1 to 100/],
  ])('a bad URL (%s) is a ConfigError that hides the password', async (url, message) => {
    const err = await rejection(openStore({ database: url }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/:pw@/);
  });
});

describe('a Postgres that goes away and comes back', () => {
  test('queries fail as "unavailable" while it is down, and work again once it is back', async () => {
    // Its own server: halting the file's shared one would fail the other tests.
    const own = await startPostgres();
    try {
      const logger = recordingLogger();
      const store = await open({ database: await own.createDatabase(), logger });
      const groups = new GroupService(store.db);
      await groups.create({ groupID: 'team', members: ['alice'] });
      await own.halt();

      const read = await rejection(groups.getGroup('team'));
      expect(storageFailure(read)).toBe('unavailable');
      const call = {
        callID: 'c1',
        roomID: 1,
        sponsor: 'alice',
        callType: 1,
        media: 'p2p',
      } as const;
      const write = await rejection(store.callRecords.start(call));
      expect(storageFailure(write)).toBe('unavailable');
      expect(store.callRecords.failedWrites).toBe(1);
      // Writes made together fail together, each told why.
      const together = await Promise.allSettled([
        store.callRecords.start({ ...call, callID: 'c2' }),
        store.callRecords.connected('c2'),
        store.callRecords.end('c2', { reason: 'hangup' }),
      ]);
      for (const r of together) {
        expect(r.status).toBe('rejected');
        expect(storageFailure((r as PromiseRejectedResult).reason)).toBe('unavailable');
      }
      expect(store.callRecords.failedWrites).toBe(4);

      await own.resume();
      expect(await groups.getGroup('team')).toEqual({ groupID: 'team', members: ['alice'] });
      await store.callRecords.start(call);
      expect(await store.callRecords.get('c1')).toMatchObject({ sponsor: 'alice' });
    } finally {
      await own.stop();
    }
  }, 60_000);
});
