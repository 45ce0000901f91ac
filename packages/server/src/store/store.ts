/**
 * The server's persistent store: `<dataDir>/ringline.db` (SQLite, WAL), migrated to the latest
 * schema on open. Groups and call records live here; shared call state does not (see cluster/).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { silentLogger, type Logger } from '../log.js';
import { CallRecordStore } from './call-records.js';
import { sqliteDialect } from './dialect.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

/** The database file inside the data dir. */
export const STORE_FILE = 'ringline.db';

/** The store could not be opened or migrated; the message says which file and why. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export interface StoreOptions {
  /** Directory holding `ringline.db`; made if missing. */
  dataDir: string;
  logger?: Logger;
}

export interface Store {
  /** Absolute path of the database file. */
  readonly file: string;
  /** Typed query builder over the store's tables. */
  readonly db: Kysely<Database>;
  /** Call history, written by the call layer. */
  readonly callRecords: CallRecordStore;
  /** Names of the migrations this open applied (empty when the schema was already current). */
  readonly applied: readonly string[];
  /** Closes the database. Idempotent. */
  close(): Promise<void>;
}

/** Opens the store and brings its schema up to date. Rejects with StoreError. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const log = options.logger ?? silentLogger;
  const file = resolve(join(options.dataDir, STORE_FILE));
  try {
    await mkdir(options.dataDir, { recursive: true });
  } catch (err) {
    throw new StoreError(`cannot make data dir ${options.dataDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let sqlite: ReturnType<typeof sqliteDialect>;
  try {
    sqlite = sqliteDialect(file);
  } catch (err) {
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: sqlite.dialect });

  const callRecords = new CallRecordStore(db);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await callRecords.flushed();
      // Kysely's SQLite driver closes the underlying database itself; the second close is a no-op
      // guard for the case where Kysely never acquired the connection.
      await db.destroy();
      sqlite.close();
    })());

  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error !== undefined || failed !== undefined) {
    await close();
    const what = failed ? `migration ${failed.migrationName}` : 'migrating';
    const detail = error instanceof Error ? error.message : String(error ?? 'failed');
    throw new StoreError(`${what} of ${file} failed: ${detail}`, { cause: error });
  }
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length > 0) log.info('store migrated', { file, applied });

  return { file, db, callRecords, applied, close };
}
