/**
 * The server's persistent store: `<dataDir>/ringline.db` (SQLite, WAL), migrated to the latest
 * schema on open. Groups and call records live here; shared call state does not (see cluster/).
 */
import { mkdir, stat } from 'node:fs/promises';
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
  /**
   * Close the call records a previous server left open (it crashed or was killed mid-call) with
   * reason `server_restart`. The server sets it; a tool that opens the store beside a running
   * server must not.
   */
  recover?: boolean;
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
  /** Call records closed with `server_restart` by this open (0 without `recover`). */
  readonly recovered: number;
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
  // Before opening (which writes): when the store was last written, by a server that may be dead.
  const lastWriteAt = await lastModified([file, `${file}-wal`]);
  let sqlite: ReturnType<typeof sqliteDialect>;
  try {
    sqlite = sqliteDialect(file);
  } catch (err) {
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: sqlite.dialect });

  const callRecords = new CallRecordStore(db, Date.now, sqlite.batch);
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

  let recovered = 0;
  if (options.recover) {
    try {
      recovered = await callRecords.closeInterrupted(
        Math.min(lastWriteAt ?? Date.now(), Date.now()),
      );
    } catch (err) {
      await close();
      throw new StoreError(
        `closing interrupted calls in ${file} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (recovered > 0) log.warn('closed call records left open by a stopped server', { recovered });
  }

  return { file, db, callRecords, applied, recovered, close };
}

/** The latest modification time (Unix ms) of the files that exist, or undefined if none does. */
async function lastModified(files: string[]): Promise<number | undefined> {
  const times = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => s.mtimeMs,
        () => undefined,
      ),
    ),
  );
  const known = times.filter((t): t is number => t !== undefined);
  return known.length ? Math.floor(Math.max(...known)) : undefined;
}

/** SQLite's codes for "the disk is full" and for "the store cannot be written now". */
const FULL_CODES = new Set(['SQLITE_FULL']);
const UNAVAILABLE_CODE = /^SQLITE_(IOERR|READONLY|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)/;

/**
 * How a failed store operation should be reported: `full` (the disk is full), `unavailable`
 * (I/O error, read-only, locked…), or undefined for anything else (a bug, a constraint).
 */
export function storageFailure(err: unknown): 'full' | 'unavailable' | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (FULL_CODES.has(code)) return 'full';
    if (UNAVAILABLE_CODE.test(code)) return 'unavailable';
  }
  return undefined;
}
