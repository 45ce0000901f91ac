/**
 * The one place that knows which database is underneath. Everything else speaks Kysely, so adding
 * Postgres later means a second branch here, not edits across the server.
 */
import SQLite from 'better-sqlite3';
import { SqliteDialect, type Dialect } from 'kysely';

/** Opens (creating if needed) an SQLite file tuned for a server: WAL, foreign keys, busy wait. */
export function sqliteDialect(file: string): { dialect: Dialect; close: () => void } {
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
  return {
    dialect: new SqliteDialect({ database: db }),
    close: () => {
      if (db.open) db.close();
    },
  };
}
