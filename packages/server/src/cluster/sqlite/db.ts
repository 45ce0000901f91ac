/**
 * The single-node state file (DATA_DIR/state.db): calls, invitations, claims, timers, presence,
 * sessions' outboxes and node liveness in SQLite, so that a restarted node finds them. Separate
 * from the store (ringline.db): the store is history and configuration, this is live state, and
 * its writes must not wait behind a history batch.
 *
 * Each adapter operation is one synchronous better-sqlite3 transaction: atomic, and — one
 * process, one thread — never interleaved with another operation, which is what the Redis
 * scripts' atomicity gives.
 */
import SQLite from 'better-sqlite3';
import { ClusterUnavailableError } from '../errors.js';
import { ConfigError } from '../../config.js';

export type StateDb = SQLite.Database;

/**
 * Pages kept allocated for a full disk (1 MiB with 4 KiB pages): the file keeps them free, and the
 * WAL keeps its size, so that live state — calls, timers, pushes — is still written when the disk
 * under the data dir is full (the history may fail then; a call must not).
 */
const RESERVE_PAGES = 256;

/** The layout's version (PRAGMA user_version); a newer file is refused, not misread. */
const VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS presence (
  user_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, node_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS calls (
  call_id TEXT PRIMARY KEY, record TEXT NOT NULL, sfu_node TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_sfu_node ON calls (sfu_node) WHERE sfu_node IS NOT NULL;
CREATE TABLE IF NOT EXISTS invitations (
  invite_id TEXT PRIMARY KEY, call_id TEXT NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invitations_call ON invitations (call_id);
CREATE TABLE IF NOT EXISTS user_calls (user_id TEXT PRIMARY KEY, call_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_calls (group_id TEXT PRIMARY KEY, call_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (key TEXT PRIMARY KEY, due INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_due ON timers (due);
CREATE TABLE IF NOT EXISTS outboxes (
  session_id TEXT PRIMARY KEY, head INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outboxes_expiry ON outboxes (expires_at);
CREATE TABLE IF NOT EXISTS outbox_entries (
  session_id TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (user_id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (node_id TEXT PRIMARY KEY, beat INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_sessions (
  node_id TEXT NOT NULL, session_id TEXT NOT NULL, user_id TEXT NOT NULL,
  PRIMARY KEY (node_id, session_id)) WITHOUT ROWID;
`;

/**
 * Opens (creating if needed) the state file: WAL with `synchronous = NORMAL`, as the store: a
 * commit survives the process's crash (`kill -9`); a power cut may lose the last ones. FULL would
 * fsync every commit — a dozen per call set-up, each blocking the event loop (better-sqlite3 is
 * synchronous) — for calls whose media a power cut ends anyway. `exclusive`: this
 * process alone may open the file while it runs (a second server on the same data dir is refused
 * at start with a ConfigError instead of sharing live state it would misread).
 */
export function openStateDb(file: string, options: { exclusive?: boolean } = {}): StateDb {
  let db: StateDb;
  try {
    // No wait for a lock while opening: a file another server holds is refused at once.
    db = new SQLite(file, { timeout: 0 });
  } catch (err) {
    throw new ConfigError(`cannot open the state file ${file}: ${(err as Error).message}`);
  }
  try {
    if (options.exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > VERSION) {
      throw new ConfigError(
        `the state file ${file} is from a newer Ringline (layout ${version}, this one reads ${VERSION})`,
      );
    }
    // EXCLUSIVE also takes the file's lock now (kept, in exclusive locking mode, until close).
    db.exec(`BEGIN EXCLUSIVE; ${SCHEMA} PRAGMA user_version = ${VERSION}; COMMIT;`);
    // Several connections (tests run nodes on one file) wait for each other's writes.
    db.pragma('busy_timeout = 5000');
    reserveSpace(db);
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    if (err instanceof ConfigError) throw err;
    const busy = (err as { code?: string }).code === 'SQLITE_BUSY';
    throw new ConfigError(
      busy
        ? `the state file ${file} is in use by another process (another server on this data dir?)`
        : `cannot open the state file ${file}: ${(err as Error).message}`,
    );
  }
  return db;
}

/**
 * Makes sure that writing the live state needs no new disk space for a while: the file keeps
 * RESERVE_PAGES free pages (new rows take them), and the WAL — made afresh by each process —
 * grows once to about that size now, then is rewritten from its start after each checkpoint,
 * which runs every RESERVE_PAGES / 2 pages (each checkpoint is an fsync: every 16 pages made
 * a call set-up cost 6 of them, every 128 about 0.8) (never truncated: journal_size_limit stays -1).
 */
function reserveSpace(db: StateDb): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${RESERVE_PAGES / 2}`);
  db.exec('CREATE TABLE IF NOT EXISTS reserve (b BLOB)');
  db.prepare('INSERT INTO reserve (b) VALUES (zeroblob(?))').run(RESERVE_PAGES * pageSize);
  db.exec('DELETE FROM reserve');
}

/** Files whose writes are grouped (groupCommits), with what opens the turn's transaction. */
const grouped = new WeakMap<StateDb, () => void>();

/**
 * Group commit, for a file one connection uses (a single node): the first operation of an
 * event-loop turn opens a transaction, and the turn's end commits it, so that a call set-up's
 * dozen operations cost one WAL append, not one each (each operation stays atomic: better-sqlite3
 * runs a transaction inside another as a savepoint). A crash loses at most the turn in progress,
 * as with the store's history batches. Not for several connections on one file: an open write
 * transaction would block the others. Returns `flush`, which commits now (before closing).
 */
export function groupCommits(db: StateDb, log: (err: unknown) => void): () => void {
  let pending: NodeJS.Immediate | undefined;
  const flush = (): void => {
    clearImmediate(pending);
    pending = undefined;
    if (!db.open || !db.inTransaction) return;
    try {
      db.exec('COMMIT');
    } catch (err) {
      // Nothing of the turn is kept (the disk is full, or failing): the next turn starts afresh.
      log(err);
      if (db.inTransaction) db.exec('ROLLBACK');
    }
  };
  grouped.set(db, () => {
    if (db.inTransaction) return;
    db.exec('BEGIN IMMEDIATE');
    pending = setImmediate(flush);
  });
  return flush;
}

/**
 * Runs one adapter operation; a failure of the file (closed at shutdown, disk full, I/O error)
 * becomes ClusterUnavailableError, as an unreachable Redis does.
 */
export function guard<T>(what: string, db: StateDb, fn: () => T): T {
  if (!db.open) throw new ClusterUnavailableError(`${what}: the state file is closed`);
  try {
    grouped.get(db)?.();
    return fn();
  } catch (err) {
    if (err instanceof SQLite.SqliteError || !db.open) {
      throw new ClusterUnavailableError(`${what}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}
