import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { GroupService } from '../groups/service.js';
import { openStore, StoreError, type Store } from './store.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringline-store-'));
  dirs.push(d);
  return d;
}

async function open(dataDir: string): Promise<Store> {
  const store = await openStore({ dataDir });
  stores.push(store);
  return store;
}

describe('openStore', () => {
  test('makes <dataDir>/ringline.db in WAL mode with every table', async () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    const store = await open(dataDir);
    expect(store.file).toBe(join(dataDir, 'ringline.db'));
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const tables = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' order by name`.execute(store.db);
    expect(tables.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['call_records', 'group_members', 'groups', 'kysely_migration']),
    );
  });

  test('runs the migrations once; reopening keeps the data and applies nothing', async () => {
    const dataDir = tempDir();
    const first = await open(dataDir);
    expect(first.applied).toEqual(['0001_groups_and_call_records']);
    await new GroupService(first.db).create({ groupID: 'team', members: ['alice', 'bob'] });
    await first.close();

    const second = await open(dataDir);
    expect(second.applied).toEqual([]);
    const done = await sql<{ name: string }>`select name from kysely_migration`.execute(second.db);
    expect(done.rows.map((r) => r.name)).toEqual(['0001_groups_and_call_records']);
    expect(await new GroupService(second.db).getGroup('team')).toEqual({
      groupID: 'team',
      members: ['alice', 'bob'],
    });
  });

  test('two opens of the same file at once (two nodes) both succeed, migrating once', async () => {
    const dataDir = tempDir();
    const [a, b] = await Promise.all([open(dataDir), open(dataDir)]);
    expect([...a.applied, ...b.applied]).toEqual(['0001_groups_and_call_records']);
    await new GroupService(a.db).create({ groupID: 'shared', members: ['carol'] });
    expect(await new GroupService(b.db).isMember('shared', 'carol')).toBe(true);
  });

  test('close() is idempotent and queries after it fail', async () => {
    const store = await open(tempDir());
    await Promise.all([store.close(), store.close()]);
    await store.close();
    await expect(new GroupService(store.db).getGroup('x')).rejects.toThrow();
  });
});

describe('openStore failures', () => {
  test('a data dir that is a file rejects with StoreError naming it', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const err = await openStore({ dataDir: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(file);
  });

  test('a ringline.db that is not a database rejects with StoreError', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'ringline.db'), 'this is not sqlite '.repeat(100));
    const err = await openStore({ dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/ringline\.db.*not a database/);
  });
});
