/**
 * The one place that knows which database is underneath: SQLite (better-sqlite3) or Postgres
 * (pg). Everything else speaks Kysely.
 */
import SQLite from 'better-sqlite3';
import {
  PostgresDialect,
  SqliteDialect,
  type CompiledQuery,
  type Dialect,
  type QueryResult,
  type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import type { PostgresTarget } from '../config.js';

/** Distinct statements kept compiled; the server's queries are a few dozen shapes. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query it runs, and better-sqlite3 compiles on every prepare(); under call
 * load that compile was a third of the history writes' cost. The same SQL text reuses its
 * compiled statement (SQLite recompiles it by itself if the schema changes).
 */
function withStatementCache(db: SQLite.Database): SqliteDatabase & {
  prepare(sql: string): SQLite.Statement;
} {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR); the
      // ROLLBACK Kysely then sends fails with "cannot rollback - no transaction is active", and
      // that error replaced the real one. Without a transaction, ROLLBACK has nothing to do.
      if (sql === 'rollback' && !db.inTransaction) return NO_OP;
      let statement = cache.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Stands in for a statement that has nothing to do. */
const NO_OP = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
} as unknown as SQLite.Statement;

/**
 * Runs writes in one transaction, synchronously, and returns their results; throws (having rolled
 * back) if any fails. Undefined while another transaction is open on the connection: try later.
 */
export type SyncBatch = (queries: readonly CompiledQuery[]) => QueryResult<unknown>[] | undefined;

/** Opens (creating if needed) an SQLite file tuned for a server: WAL, foreign keys, busy wait. */
export function sqliteDialect(file: string): {
  dialect: Dialect;
  /** Writes straight on better-sqlite3: no promise per query, no Kysely transaction. */
  batch: SyncBatch;
  close: () => void;
} {
  const db = new SQLite(file);
  try {
    // WAL lets readers run during a write; NORMAL sync is durable across process crashes with WAL.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // A second process (another node, the CLI) holding the write lock is waited for, not failed.
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    db.close();
    throw err;
  }
  const cached = withStatementCache(db);
  // better-sqlite3 wraps it in BEGIN/COMMIT and rolls back on a throw (if SQLite has not already).
  const inTransaction = db.transaction((queries: readonly CompiledQuery[]) =>
    queries.map((q): QueryResult<unknown> => {
      const { changes } = cached.prepare(q.sql).run(q.parameters as unknown[]);
      return { rows: [], numAffectedRows: BigInt(changes) };
    }),
  );
  return {
    dialect: new SqliteDialect({ database: cached }),
    // A Kysely transaction (a group change) may be open across its awaits; ours must not join it.
    batch: (queries) => (db.inTransaction ? undefined : inTransaction(queries)),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/** How long to wait for a Postgres connection before the query fails (the server is unreachable). */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Postgres cancels a statement that runs longer (a URL's `statement_timeout` wins): a stuck
 * database then fails queries instead of holding them, and the writes queued behind them, forever.
 */
const STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Postgres returns bigint (int8) columns and count() as strings, since they may exceed 2^53. Ours
 * are Unix-ms times and counts, far below it: numbers, as SQLite gives them.
 */
const parseInt8 = (text: string): number => Number(text);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A pool of at most `target.poolSize` connections to Postgres. Connecting is lazy: the first query
 * finds out whether the server is reachable. `onError` hears about idle connections that broke
 * (Postgres restarted, the network dropped); the pool replaces them on the next query.
 */
export function postgresDialect(
  target: PostgresTarget,
  onError: (err: Error) => void,
): { dialect: Dialect; close: () => Promise<void> } {
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    types,
  });
  pool.on('error', onError);
  let ended = false;
  return {
    dialect: new PostgresDialect({ pool }),
    // Kysely's destroy() ends the pool when it ever used it; this covers a pool it never touched.
    close: async () => {
      if (ended || pool.ending) return;
      ended = true;
      await pool.end();
    },
  };
}
