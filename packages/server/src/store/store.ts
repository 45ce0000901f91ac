/**
 * The server's persistent store, migrated to the latest schema on open: `<dataDir>/ringline.db`
 * (SQLite, WAL) by default, or a Postgres database that several nodes share (`database`). Groups
 * and call records live here; shared call state does not (see cluster/).
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Kysely, sql, type Dialect } from 'kysely';
import { Migrator } from 'kysely';
import { parseDatabaseURL, parseNodeID } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { CallHistory } from './call-history.js';
import { CallRecordStore } from './call-records.js';
import { postgresDialect, sqliteDialect, type SyncBatch } from './dialect.js';
import { migrationProvider } from './migrations/index.js';
import { WebhookOutboxStore } from './webhook-outbox.js';
import type { Database } from './schema.js';

export { storageFailure } from './failures.js';

/** The database file inside the data dir. */
export const STORE_FILE = 'ringline.db';

/** How often a node on Postgres records that it is alive (what its recovery dates ends to). */
export const DEFAULT_ALIVE_INTERVAL_MS = 10_000;

/**
 * The store could not be opened or migrated; the message says which file or database (never with
 * its password) and why.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export interface StoreOptions {
  /** Directory holding `ringline.db` (SQLite); made if missing. Needed unless `database` is set. */
  dataDir?: string;
  /**
   * `postgres://user:password@host:port/database[?pool_size=N&sslmode=…]`: Postgres instead of
   * SQLite. A bad URL throws ConfigError.
   */
  database?: string | undefined;
  /**
   * This node's stable name (e.g. its host or pod name): its call records carry it, and `recover`
   * closes only those. Nodes sharing a database need distinct names. Default '' (a single node).
   */
  nodeID?: string | undefined;
  logger?: Logger;
  /**
   * Close the call records a previous run of this node left open (it crashed or was killed
   * mid-call) with reason `server_restart`. The server sets it; a tool that opens the store beside
   * a running server must not.
   */
  recover?: boolean;
  /**
   * With `recover`: which of the open records' calls are still live in the cluster's shared state
   * (Redis, the state file) — the node stopped, but its calls went on on other nodes or wait for
   * its clients to resume. Their records stay open; the call's end closes them. Default: none.
   */
  liveCalls?: (callIDs: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Postgres with `recover`: ms between this node's signs of life. Default 10 s. */
  aliveIntervalMs?: number;
}

export interface Store {
  /** Which database is underneath. */
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite file's absolute path, or `postgres://user@host:port/db` (without the password). */
  readonly location: string;
  /** Absolute path of the SQLite file; absent on Postgres. */
  readonly file?: string;
  /** This node's name in the store ('' for the default node). */
  readonly nodeID: string;
  /** Typed query builder over the store's tables. */
  readonly db: Kysely<Database>;
  /** Call history, written by the call layer. */
  readonly callRecords: CallRecordStore;
  /** Webhook deliveries waiting, done or given up (webhooks/). */
  readonly webhookOutbox: WebhookOutboxStore;
  /** Reading the call history (admin and user APIs). */
  readonly callHistory: CallHistory;
  /** Names of the migrations this open applied (empty when the schema was already current). */
  readonly applied: readonly string[];
  /** Call records closed with `server_restart` by this open (0 without `recover`). */
  readonly recovered: number;
  /** Closes the database. Idempotent. */
  close(): Promise<void>;
}

/** What each database brings to the common part of openStore. */
interface Opened {
  dialect: Store['dialect'];
  location: string;
  file?: string;
  kysely: Dialect;
  batch?: SyncBatch;
  /** Before the schema is current: a failure here means the database cannot be reached. */
  check(db: Kysely<Database>): Promise<void>;
  /** When the node last showed it was alive (Unix ms), if known. */
  lastAlive(db: Kysely<Database>, nodeID: string): Promise<number | undefined>;
  /** Called once Kysely is destroyed. */
  close(): Promise<void> | void;
}

/**
 * Opens the store and brings its schema up to date. Rejects with StoreError (ConfigError for a
 * bad `database` URL or `nodeID`).
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const log = options.logger ?? silentLogger;
  const nodeID = options.nodeID === undefined ? '' : parseNodeID(options.nodeID);
  const opened = options.database
    ? openPostgres(options.database, log)
    : await openSqlite(options.dataDir);
  const { location } = opened;
  const db = new Kysely<Database>({ dialect: opened.kysely });

  const callRecords = new CallRecordStore(db, Date.now, opened.batch, nodeID);
  let alive: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(alive);
      await callRecords.flushed();
      // Kysely closes the SQLite database and ends the Postgres pool itself; the second close is
      // a guard for the case where Kysely never acquired a connection.
      await db.destroy();
      await opened.close();
    })());

  try {
    await opened.check(db);
  } catch (err) {
    await close();
    throw new StoreError(`cannot open ${location}: ${describe(err)}`, { cause: err });
  }

  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error !== undefined || failed !== undefined) {
    await close();
    const what = failed ? `migration ${failed.migrationName}` : 'migrating';
    const detail = error === undefined ? 'failed' : describe(error);
    throw new StoreError(`${what} of ${location} failed: ${detail}`, { cause: error });
  }
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length > 0) log.info('store migrated', { location, applied });

  let recovered = 0;
  if (options.recover) {
    try {
      const lastAlive = await opened.lastAlive(db, nodeID);
      recovered = await callRecords.closeInterrupted(
        Math.min(lastAlive ?? Date.now(), Date.now()),
        options.liveCalls,
      );
      if (opened.dialect === 'postgres') {
        const every = options.aliveIntervalMs ?? DEFAULT_ALIVE_INTERVAL_MS;
        alive = await keepAlive(db, nodeID, every, lastAlive, log);
      }
    } catch (err) {
      await close();
      throw new StoreError(`closing interrupted calls in ${location} failed: ${describe(err)}`, {
        cause: err,
      });
    }
    if (recovered > 0) {
      log.warn('closed call records left open by a stopped server', { recovered, nodeID });
    }
  }

  const store: Store = {
    dialect: opened.dialect,
    location,
    nodeID,
    db,
    callRecords,
    webhookOutbox: new WebhookOutboxStore(db, opened.dialect),
    callHistory: new CallHistory(db, callRecords),
    applied,
    recovered,
    close,
  };
  return opened.file === undefined ? store : { ...store, file: opened.file };
}

async function openSqlite(dataDir: string | undefined): Promise<Opened> {
  if (dataDir === undefined) throw new StoreError('no data dir for the SQLite store');
  const file = resolve(join(dataDir, STORE_FILE));
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new StoreError(`cannot make data dir ${dataDir}: ${(err as Error).message}`, {
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
  return {
    dialect: 'sqlite',
    location: file,
    file,
    kysely: sqlite.dialect,
    batch: sqlite.batch,
    // Opening the file already proved it is there; a file that is not a database fails migrating.
    check: async () => undefined,
    lastAlive: async () => lastWriteAt,
    close: sqlite.close,
  };
}

function openPostgres(database: string, log: Logger): Opened {
  const target = parseDatabaseURL(database);
  const { location } = target;
  const pg = postgresDialect(target, (err) =>
    log.warn('a Postgres connection broke; the pool makes a new one', { location, err }),
  );
  return {
    dialect: 'postgres',
    location,
    kysely: pg.dialect,
    check: async (db) => void (await sql`select 1`.execute(db)),
    // The node's last sign of life; without one (it never ran with `recover`), the latest moment
    // its open records know of, as SQLite's file time would be no earlier than that.
    lastAlive: async (db, nodeID) => {
      const row = await db
        .selectFrom('store_nodes')
        .select('alive_at')
        .where('node_id', '=', nodeID)
        .executeTakeFirst();
      if (row) return Number(row.alive_at);
      const open = await db
        .selectFrom('call_records')
        .select((eb) => eb.fn.max(eb.fn.coalesce('connected_at', 'started_at')).as('at'))
        .where('node_id', '=', nodeID)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      return open?.at == null ? undefined : Number(open.at);
    },
    close: pg.close,
  };
}

/**
 * Records now, then every `intervalMs`, that `nodeID` is alive. Warns when the name was alive a
 * moment ago (`lastAlive`): another running node may have the same name, and this one's recovery
 * may just have closed that node's calls.
 */
async function keepAlive(
  db: Kysely<Database>,
  nodeID: string,
  intervalMs: number,
  lastAlive: number | undefined,
  log: Logger,
): Promise<NodeJS.Timeout> {
  const ago = lastAlive === undefined ? Infinity : Date.now() - lastAlive;
  if (ago < 2 * intervalMs) {
    log.warn('this node ID was alive moments ago: does another running node use it too?', {
      nodeID,
      lastAliveMsAgo: ago,
    });
  }
  let failing = false;
  const beat = async (): Promise<void> => {
    const at = Date.now();
    await db
      .insertInto('store_nodes')
      .values({ node_id: nodeID, alive_at: at })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ alive_at: at }))
      .execute();
  };
  await beat();
  const timer = setInterval(() => {
    beat().then(
      () => {
        if (failing) log.info('the store is reachable again', { nodeID });
        failing = false;
      },
      (err: unknown) => {
        if (!failing) log.warn('cannot record that this node is alive', { nodeID, err });
        failing = true;
      },
    );
  }, intervalMs);
  timer.unref();
  return timer;
}

/** An error's message; a failed connect to a name with several addresses has one per address. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map((e) => describe(e)).join('; ');
  }
  if (err instanceof Error) return err.message || err.name;
  return String(err);
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
