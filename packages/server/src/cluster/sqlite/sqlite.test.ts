/**
 * The SQLite state adapters against the conformance suites every adapter passes, twice: nodes as
 * instances on one file, each with its own connection, sharing an in-memory bus and locks (sound,
 * because each operation is one SQLite transaction); and nodes on ONE connection with group
 * commit, as a single node runs them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.js';
import { callStoreConformance } from '../conformance/call-store.js';
import { clusterConformance, sharedSessionsConformance, waitFor } from '../conformance/index.js';
import { silentLogger } from '../../log.js';
import { MemoryLockManager, MemoryMessageBus } from '../memory.js';
import {
  SqliteCallStore,
  SqliteDeviceStore,
  SqliteNodeRegistry,
  SqliteOutboxStore,
  SqlitePresenceStore,
  SqliteScheduler,
  SqliteSharedSessions,
  createSqliteCluster,
  groupCommits,
  openStateDb,
  type SqliteClusterAdapters,
  type SqliteClusterOptions,
} from './index.js';

/** `count` instances on a fresh file; closing closes them and removes the file. */
function instances(count: number, over: Partial<SqliteClusterOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-state-'));
  const bus = new MemoryMessageBus();
  const locks = new MemoryLockManager();
  const nodes: SqliteClusterAdapters[] = Array.from({ length: count }, () =>
    createSqliteCluster({
      file: join(dir, 'state.db'),
      pollMs: 20,
      bus: bus.view(),
      locks: locks.view(),
      ...over,
    }),
  );
  return {
    nodes,
    dir,
    async close() {
      for (const n of nodes) await n.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('SQLite state adapters', () => {
  clusterConformance(async (count, options = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-state-'));
    const bus = new MemoryMessageBus();
    const locks = new MemoryLockManager({ ttlMs: options.lockTtlMs });
    const nodes = Array.from({ length: count }, () =>
      createSqliteCluster({
        file: join(dir, 'state.db'),
        pollMs: 20,
        bus: bus.view(),
        locks: locks.view(),
      }),
    );
    return {
      nodes,
      async close() {
        for (const n of nodes) await n.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

/**
 * `count` nodes on ONE connection with group commit (what a single node runs): each has its own
 * scheduler, bus view and lock view; the rest is shared, as the file is.
 */
function oneConnection(
  count: number,
  o: { outboxLimit?: number; heartbeatMs?: number; deadAfterMs?: number; lockTtlMs?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-state-'));
  const db = openStateDb(join(dir, 'state.db'), { exclusive: true });
  const flush = groupCommits(db, () => {});
  const bus = new MemoryMessageBus();
  const locks = new MemoryLockManager({ ttlMs: o.lockTtlMs });
  const presence = new SqlitePresenceStore(db);
  const outbox = new SqliteOutboxStore(db);
  const shared = {
    presence,
    outbox,
    sessions: new SqliteSharedSessions(db, presence, outbox, bus, {
      outboxLimit: o.outboxLimit ?? 1000,
    }),
    nodes: new SqliteNodeRegistry(db, {
      heartbeatMs: o.heartbeatMs ?? 1000,
      deadAfterMs: o.deadAfterMs ?? 5000,
    }),
    devices: new SqliteDeviceStore(db),
  };
  const schedulers: SqliteScheduler[] = [];
  const nodes = Array.from({ length: count }, () => {
    const scheduler = new SqliteScheduler(db, { pollMs: 20, logger: silentLogger });
    schedulers.push(scheduler);
    const view = bus.view();
    const held = locks.view();
    return {
      ...shared,
      bus: view,
      locks: held,
      scheduler,
      async close() {
        scheduler.close();
        view.close();
        held.close();
      },
    };
  });
  return {
    nodes,
    calls: new SqliteCallStore(db),
    pendingTimers: async () => schedulers[0]!.pending(),
    async close() {
      for (const n of nodes) await n.close();
      flush();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('SQLite state adapters on one connection with group commit', () => {
  clusterConformance(async (count, options = {}) => oneConnection(count, options));
  sharedSessionsConformance(async (count, o = {}) =>
    oneConnection(count, {
      outboxLimit: 3,
      ...(o.heartbeatMs !== undefined && { heartbeatMs: o.heartbeatMs }),
      ...(o.nodeDeadAfterMs !== undefined && { deadAfterMs: o.nodeDeadAfterMs }),
    }),
  );
  callStoreConformance('sqlite, one connection with group commit', async () => {
    const made = oneConnection(0);
    return { store: made.calls, close: made.close };
  });
});

describe('SQLite shared sessions', () => {
  sharedSessionsConformance(async (count, o = {}) => {
    const made = instances(count, {
      outboxLimit: 3,
      ...(o.heartbeatMs !== undefined && { heartbeatMs: o.heartbeatMs }),
      ...(o.nodeDeadAfterMs !== undefined && { nodeDeadAfterMs: o.nodeDeadAfterMs }),
    });
    return {
      nodes: made.nodes,
      // Every timer in the file, session expiries included (as the Redis suite counts them).
      pendingTimers: async () => made.nodes[0]!.scheduler.pending(),
      close: made.close,
    };
  });
});

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

callStoreConformance('sqlite', async () => {
  const made = instances(1);
  return { store: made.nodes[0]!.calls, close: made.close };
});

describe('SQLite state beyond the conformance suites', () => {
  it('keeps timers across a reopen: overdue ones fire once at once, the others at their time', async () => {
    const made = instances(1);
    opened.push(made);
    const file = join(made.dir, 'state.db');
    const first = made.nodes[0]!;
    const due = Date.now() + 30;
    await first.scheduler.schedule('invite:overdue', 30);
    await first.scheduler.schedule('invite:later', 400);
    await first.scheduler.schedule('invite:cancelled', 50);
    await first.scheduler.cancel('invite:cancelled');
    await first.close();
    // The process is away while 'overdue' comes due.
    await waitFor(() => Date.now() > due, "the overdue timer's due time");
    const again = createSqliteCluster({ file, pollMs: 20 });
    opened.push(again);
    const fired: string[] = [];
    again.scheduler.subscribe((key) => void fired.push(key));
    await waitFor(() => fired.length >= 1, 'the overdue timer');
    expect(fired).toEqual(['invite:overdue']);
    await waitFor(() => fired.length >= 2, 'the later timer');
    expect(fired).toEqual(['invite:overdue', 'invite:later']);
    expect(again.scheduler.pending()).toBe(0);
  });

  it('keeps calls, claims, presence and outboxes across a reopen', async () => {
    const made = instances(1);
    opened.push(made);
    const file = join(made.dir, 'state.db');
    const a = made.nodes[0]!;
    await a.sessions.open({ userID: 'alice', sessionID: 'sa', nodeID: 'old' });
    await a.sessions.deliver('alice', '{"type":"x"}');
    expect(await a.calls.claimUser('alice', 'c1')).toBe(true);
    await a.close();
    const b = createSqliteCluster({ file });
    opened.push(b);
    expect(await b.presence.get('alice')).toEqual({
      userID: 'alice',
      sessionID: 'sa',
      nodeID: 'old',
    });
    expect(await b.calls.userCall('alice')).toBe('c1');
    expect(await b.sessions.takeOver('alice', 'sa', 'new', 0)).toEqual({
      previousNode: 'old',
      head: 1,
      entries: [{ seq: 1, json: '{"type":"x"}' }],
    });
  });

  it('single: refuses a second process on the file, and claims the previous process dead at once', async () => {
    const made = instances(0);
    opened.push(made);
    const file = join(made.dir, 'state.db');
    const first = createSqliteCluster({ file, single: true });
    await first.nodes.beat('old', 30_000);
    await first.sessions.open({ userID: 'alice', sessionID: 'sa', nodeID: 'old' });
    expect(() => createSqliteCluster({ file, single: true })).toThrow(ConfigError);
    expect(() => createSqliteCluster({ file })).toThrow(/in use by another process/);
    await first.close();
    const next = createSqliteCluster({ file, single: true });
    opened.push(next);
    // Its first beat, a moment after the old one's: dead at once, its session's window armed.
    expect(await next.nodes.beat('new', 30_000)).toEqual({ dead: ['old'], rejoined: true });
    expect(next.scheduler.pending()).toBe(1);
    expect(await next.nodes.alive('old')).toBe(false);
  });

  it('sweeps expired outboxes that nobody reads again (the hourly keep-alive runs it)', async () => {
    const made = instances(1);
    opened.push(made);
    const a = made.nodes[0]!;
    await a.outbox.open('gone', 20);
    await a.outbox.append('gone', '{"type":"x"}', { limit: 10, ttlMs: 20 });
    await a.outbox.open('kept', 60_000);
    const expired = Date.now() + 20;
    await waitFor(() => Date.now() > expired, 'the first outbox to expire');
    expect(a.outbox.purge()).toBe(1);
    expect(a.outbox.purge()).toBe(0);
    expect(await a.outbox.read('kept', 0)).toEqual([]);
  });

  it('refuses bad options and an unreadable file with ConfigError', () => {
    expect(() => createSqliteCluster({ file: '/nonexistent-dir/x/state.db' })).toThrow(ConfigError);
    expect(() => createSqliteCluster({ file: ':memory:', pollMs: 0 })).toThrow(/pollMs/);
    expect(() =>
      createSqliteCluster({ file: ':memory:', heartbeatMs: 1000, nodeDeadAfterMs: 1500 }),
    ).toThrow(ConfigError);
    expect(() => createSqliteCluster({ file: ':memory:', outboxLimit: 0 })).toThrow(/outboxLimit/);
  });

  it('answers CLUSTER_UNAVAILABLE once the file is closed', async () => {
    const made = instances(1);
    opened.push(made);
    const a = made.nodes[0]!;
    await a.close();
    await expect(a.calls.load('c1')).rejects.toMatchObject({ name: 'CLUSTER_UNAVAILABLE' });
    await expect(a.presence.get('alice')).rejects.toMatchObject({ name: 'CLUSTER_UNAVAILABLE' });
  });
});
