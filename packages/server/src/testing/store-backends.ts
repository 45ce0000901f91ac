/**
 * The databases the store runs on, for tests that must pass on each: SQLite in a temporary data
 * dir, and Postgres — one real server per test file (testing/postgres.ts), a new database per
 * store. Call `sqliteBackend()` / `postgresBackend()` at a test file's top level (they register
 * the file's setup and clean-up hooks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres.js';

/** Where a store is: its data dir, and for Postgres its database URL. */
export interface StoreTarget {
  dataDir: string;
  database?: string;
}

export interface StoreBackend {
  name: 'SQLite' | 'Postgres';
  /** A new, empty store's place: a new temp data dir (and database), removed after the file. */
  fresh(): Promise<StoreTarget>;
}

/** Temporary dirs made by `fresh()`, removed after the test file. */
function tempDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), 'ringline-store-'));
    dirs.push(d);
    return d;
  };
}

export function sqliteBackend(): StoreBackend {
  const tempDir = tempDirs();
  return { name: 'SQLite', fresh: async () => ({ dataDir: tempDir() }) };
}

/** How long starting PostgreSQL (initdb, pg_ctl) may take on a busy machine. */
const START_TIMEOUT_MS = 120_000;

export function postgresBackend(): StoreBackend & { server(): TestPostgres } {
  const tempDir = tempDirs();
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
  }, START_TIMEOUT_MS);
  const running = (): TestPostgres => {
    if (!server) throw new Error('PostgreSQL did not start (see beforeAll)');
    return server;
  };
  return {
    name: 'Postgres',
    server: running,
    fresh: async () => ({ dataDir: tempDir(), database: await running().createDatabase() }),
  };
}
