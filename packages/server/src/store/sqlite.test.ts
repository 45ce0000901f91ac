/**
 * The store on SQLite: the conformance suite, and what only SQLite does (a file in the data dir,
 * WAL, the synchronous group commit, the schema existing data dirs have).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Migrator } from 'kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { sqliteBackend } from '../testing/store-backends.js';
import { storeConformance, ALL_MIGRATIONS } from './conformance.js';
import { migrationProvider } from './migrations/index.js';
import { openStore, StoreError, type Store } from './store.js';

const backend = sqliteBackend();
storeConformance(backend);

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function open(dataDir: string): Promise<Store> {
  const store = await openStore({ dataDir });
  stores.push(store);
  return store;
}

describe('openStore on SQLite', () => {
  test('makes <dataDir>/ringline.db in WAL mode with every table', async () => {
    const dataDir = join((await backend.fresh()).dataDir, 'nested', 'data');
    const store = await open(dataDir);
    expect(store.file).toBe(join(dataDir, 'ringline.db'));
    expect(store.location).toBe(store.file);
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const tables = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' order by name`.execute(store.db);
    expect(tables.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['call_records', 'group_members', 'groups', 'kysely_migration']),
    );
  });

  test('the first migration still makes the schema that existing data dirs have', async () => {
    const store = await open((await backend.fresh()).dataDir);
    await new Migrator({ db: store.db, provider: migrationProvider }).migrateTo(ALL_MIGRATIONS[0]!);
    const schema = await sql<{ sql: string }>`
      select sql from sqlite_master
      where name not like 'kysely_%' and name not like 'sqlite_%' order by name`.execute(store.db);
    expect(schema.rows.map((r) => r.sql)).toEqual([
      'CREATE TABLE "call_records" ("call_id" varchar(64) primary key, "room_id" bigint not null, ' +
        '"sponsor" varchar(32) not null, "group_id" varchar(64), "call_type" integer not null, ' +
        '"media" varchar(8) not null, "started_at" bigint not null, "connected_at" bigint, ' +
        '"ended_at" bigint, "end_reason" varchar(32), "members_json" text default \'[]\' not null)',
      'CREATE INDEX "call_records_by_start" on "call_records" ("started_at")',
      'CREATE TABLE "group_members" ("group_id" varchar(64) not null references "groups" ' +
        '("group_id") on delete cascade, "user_id" varchar(32) not null, "joined_at" bigint not ' +
        'null, constraint "group_members_pk" primary key ("group_id", "user_id"))',
      'CREATE INDEX "group_members_by_user" on "group_members" ("user_id", "group_id")',
      'CREATE TABLE "groups" ("group_id" varchar(64) primary key, "name" varchar(256) default \'\' ' +
        'not null, "created_at" bigint not null)',
    ]);
  });
});

describe('openStore failures on SQLite', () => {
  test('a data dir that is a file rejects with StoreError naming it', async () => {
    const file = join((await backend.fresh()).dataDir, 'not-a-dir');
    writeFileSync(file, 'x');
    const err = await openStore({ dataDir: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(file);
  });

  test('a ringline.db that is not a database rejects with StoreError', async () => {
    const { dataDir } = await backend.fresh();
    writeFileSync(join(dataDir, 'ringline.db'), 'this is not sqlite '.repeat(100));
    const err = await openStore({ dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/ringline\.db.*not a database/);
  });
});

describe('CallRecordStore on SQLite', () => {
  test('a write is committed at the end of the event-loop turn it was made in, not later', async () => {
    const store = await open((await backend.fresh()).dataDir);
    const call = { callID: 'c1', roomID: 1, sponsor: 'alice', callType: 2, media: 'p2p' } as const;
    void store.callRecords.start(call);
    // Queued after the group commit's own setImmediate, so it runs after that commit.
    await new Promise((r) => setImmediate(r));
    const row = await store.db
      .selectFrom('call_records')
      .select('call_id')
      .where('call_id', '=', 'c1')
      .executeTakeFirst();
    expect(row).toEqual({ call_id: 'c1' });
  });
});
