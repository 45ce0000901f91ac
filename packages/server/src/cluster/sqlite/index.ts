/**
 * The single-node state adapters: calls, invitations, timers, presence, sessions' outboxes and
 * node liveness in an SQLite file (DATA_DIR/state.db by default), so that a restart keeps
 * invitations ringing and calls going, and clients resume their sessions. The bus and the locks
 * stay in memory: one process uses the file (several share one only in tests, each an instance
 * given the same in-memory bus and locks).
 */
import { silentLogger, type Logger } from '../../log.js';
import { ConfigError, DEFAULTS } from '../../config.js';
import { MemoryLockManager, MemoryMessageBus } from '../memory.js';
import type { ClusterAdapters, LockManager, MessageBus } from '../types.js';
import { SqliteCallStore } from './calls.js';
import { SqliteDeviceStore } from './devices.js';
import { groupCommits, openStateDb, type StateDb } from './db.js';
import { SqliteScheduler } from './scheduler.js';
import {
  SqliteNodeRegistry,
  SqliteOutboxStore,
  SqlitePresenceStore,
  SqliteSharedSessions,
} from './sessions.js';

export { SqliteCallStore } from './calls.js';
export { SqliteDeviceStore } from './devices.js';
export { groupCommits, openStateDb } from './db.js';
export { SqliteScheduler } from './scheduler.js';
export {
  SqliteNodeRegistry,
  SqliteOutboxStore,
  SqlitePresenceStore,
  SqliteSharedSessions,
} from './sessions.js';

/** The state file's name in the data dir. */
export const STATE_FILE = 'state.db';

export interface SqliteClusterOptions {
  /** The state file (created if missing). */
  file: string;
  /**
   * One server on the file: it is opened exclusively (a second process is refused), and nodes
   * listed in it at start are this node's previous processes (claimed dead at once). Default false.
   */
  single?: boolean;
  logger?: Logger;
  /** How often due timers are claimed, ms. Default 250. */
  pollMs?: number;
  /** How often the node records that it lives, ms. Default 1000. */
  heartbeatMs?: number;
  /** A node silent this long is dead (its sessions' resume windows start), ms. Default 5000. */
  nodeDeadAfterMs?: number;
  /** Most pushes a session's outbox keeps. Default the server's outboxLimit default. */
  outboxLimit?: number;
  /** The bus to use (tests: a view of one shared by instances). Default a fresh in-memory one. */
  bus?: MessageBus & { close?(): void };
  /** The locks to use (tests: a view of one shared by instances). Default fresh in-memory ones. */
  locks?: LockManager & { close?(): void };
}

export type SqliteClusterAdapters = ClusterAdapters & {
  presence: SqlitePresenceStore;
  calls: SqliteCallStore;
  scheduler: SqliteScheduler;
  outbox: SqliteOutboxStore;
  sessions: SqliteSharedSessions;
  nodes: SqliteNodeRegistry;
  devices: SqliteDeviceStore;
  /** What the file holds of calls and timers (tests check that nothing is left behind). */
  callState(): {
    calls: number;
    invitations: number;
    users: number;
    groups: number;
    timers: number;
  };
};

/** Opens the state file; rejects with ConfigError when it cannot (in use, unreadable, newer). */
export function createSqliteCluster(o: SqliteClusterOptions): SqliteClusterAdapters {
  const pollMs = positive('pollMs', o.pollMs, 250);
  const heartbeatMs = positive('heartbeatMs', o.heartbeatMs, 1000);
  const deadAfterMs = positive('nodeDeadAfterMs', o.nodeDeadAfterMs, 5000);
  if (deadAfterMs < 2 * heartbeatMs) {
    throw new ConfigError('state nodeDeadAfterMs must be at least twice heartbeatMs');
  }
  const outboxLimit = o.outboxLimit ?? DEFAULTS.outboxLimit;
  if (!Number.isSafeInteger(outboxLimit) || outboxLimit < 1) {
    throw new ConfigError(`state outboxLimit must be an integer ≥ 1, got ${outboxLimit}`);
  }
  const logger = o.logger ?? silentLogger;
  const db = openStateDb(o.file, { exclusive: o.single ?? false });
  // One connection on the file: a turn's writes commit together.
  const flush = o.single
    ? groupCommits(db, (err) => logger.error('committing the live state failed', { err }))
    : () => {};
  const bus: MessageBus & { close?(): void } = o.bus ?? new MemoryMessageBus();
  const locks: LockManager & { close?(): void } = o.locks ?? new MemoryLockManager();
  const presence = new SqlitePresenceStore(db);
  const outbox = new SqliteOutboxStore(db);
  const scheduler = new SqliteScheduler(db, { pollMs, logger });
  const count = counter(db);
  let closing: Promise<void> | undefined;
  logger.info('live state in SQLite', { file: o.file });
  return {
    presence,
    calls: new SqliteCallStore(db),
    bus,
    scheduler,
    locks,
    outbox,
    sessions: new SqliteSharedSessions(db, presence, outbox, bus, { outboxLimit }),
    nodes: new SqliteNodeRegistry(db, { heartbeatMs, deadAfterMs, single: o.single ?? false }),
    devices: new SqliteDeviceStore(db),
    callState: count,
    close: () =>
      (closing ??= (async () => {
        scheduler.close();
        bus.close?.();
        locks.close?.();
        // Every write is synchronous; the turn's group is committed before the file closes.
        flush();
        if (db.open) db.close();
      })()),
  };
}

function counter(db: StateDb): SqliteClusterAdapters['callState'] {
  const q = db.prepare<
    [],
    { calls: number; invitations: number; users: number; groups: number; timers: number }
  >(
    `SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM invitations) AS invitations,
      (SELECT count(*) FROM user_calls) AS users, (SELECT count(*) FROM group_calls) AS groups,
      (SELECT count(*) FROM timers WHERE key LIKE 'invite:%') AS timers`,
  );
  return () => q.get()!;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > 3_600_000) {
    throw new ConfigError(`state ${name} must be a number of ms from 1 to 3600000`);
  }
  return value;
}
