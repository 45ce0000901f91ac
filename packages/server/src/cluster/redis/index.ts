/**
 * The Redis cluster adapters (ioredis): nodes given the same URL and prefix share presence, the
 * message bus, timers and locks. One Redis can serve several apps: everything sits under
 * `prefix` (by default `ringline:<sdkAppID>`).
 */
import { silentLogger, type Logger } from '../../log.js';
import { checkRedisUrl, ConfigError, DEFAULTS } from '../../config.js';
import type { ClusterAdapters, ClusterHealth } from '../types.js';
import { RedisMessageBus } from './bus.js';
import { RedisCallStore } from './calls.js';
import { RedisDeviceStore } from './devices.js';
import { connectClient, createClient, RedisHealth, redactUrl } from './connection.js';
import { RedisLockManager } from './locks.js';
import { RedisOutboxStore } from './outbox.js';
import { RedisPresenceStore } from './presence.js';
import { RedisScheduler } from './scheduler.js';
import { RedisNodeRegistry, RedisSharedSessions } from './sessions.js';

export { RedisMessageBus } from './bus.js';
export { RedisCallStore } from './calls.js';
export { RedisDeviceStore } from './devices.js';
export { RedisLockManager } from './locks.js';
export { RedisOutboxStore } from './outbox.js';
export { RedisPresenceStore } from './presence.js';
export { RedisScheduler } from './scheduler.js';
export { RedisNodeRegistry, RedisSharedSessions } from './sessions.js';

export interface RedisClusterOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// */
  url: string;
  /** What every key and channel starts with, e.g. `ringline:1400000001`. */
  prefix: string;
  logger?: Logger;
  /** Lock lease TTL, ms (types.ts, LockManager). Default 5000. */
  lockTtlMs?: number;
  /** How long a lock waits for its key, ms. Default 10000. */
  lockWaitMs?: number;
  /** How often each node claims due timers, ms. Default 250. */
  pollMs?: number;
  /** A command unanswered this long fails with ClusterUnavailableError, ms. Default 2000. */
  commandTimeoutMs?: number;
  /** Start-up: Redis must answer within this long, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** How often health PINGs Redis, ms. Default 1000. */
  healthIntervalMs?: number;
  /** How often each node records that it lives, ms. Default 1000. */
  heartbeatMs?: number;
  /** A node silent this long is dead (its sessions' resume windows start), ms. Default 5000. */
  nodeDeadAfterMs?: number;
  /** Most pushes a session's shared outbox keeps. Default the server's outboxLimit default. */
  outboxLimit?: number;
}

export type RedisClusterAdapters = Omit<ClusterAdapters, 'health'> & {
  presence: RedisPresenceStore;
  devices: RedisDeviceStore;
  calls: RedisCallStore;
  bus: RedisMessageBus;
  scheduler: RedisScheduler;
  locks: RedisLockManager;
  outbox: RedisOutboxStore;
  sessions: RedisSharedSessions;
  nodes: RedisNodeRegistry;
  health: ClusterHealth;
};

/** Connects to Redis (rejects with ClusterUnavailableError if it does not answer in time). */
export async function createRedisCluster(o: RedisClusterOptions): Promise<RedisClusterAdapters> {
  checkRedisUrl(o.url);
  checkPrefix(o.prefix);
  const logger = o.logger ?? silentLogger;
  const conn = {
    commandTimeoutMs: positive('commandTimeoutMs', o.commandTimeoutMs, 2000),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 5000),
  };
  const lockTtlMs = positive('lockTtlMs', o.lockTtlMs, 5000);
  const lockWaitMs = positive('lockWaitMs', o.lockWaitMs, 10_000);
  const pollMs = positive('pollMs', o.pollMs, 250);
  const healthIntervalMs = positive('healthIntervalMs', o.healthIntervalMs, 1000);
  const heartbeatMs = positive('heartbeatMs', o.heartbeatMs, 1000);
  const deadAfterMs = positive('nodeDeadAfterMs', o.nodeDeadAfterMs, 5000);
  if (deadAfterMs < 2 * heartbeatMs) {
    throw new ConfigError('redis nodeDeadAfterMs must be at least twice heartbeatMs');
  }
  const outboxLimit = o.outboxLimit ?? DEFAULTS.outboxLimit;
  if (!Number.isSafeInteger(outboxLimit) || outboxLimit < 1) {
    throw new ConfigError(`redis outboxLimit must be an integer ≥ 1, got ${outboxLimit}`);
  }
  const where = redactUrl(o.url);

  const cmd = createClient(o.url, 'ringline', conn);
  const sub = createClient(o.url, 'ringline-sub', conn);
  const health = new RedisHealth([cmd, sub], { intervalMs: healthIntervalMs, logger, where });
  const bus = new RedisMessageBus(cmd, sub, { prefix: o.prefix, logger });
  const scheduler = new RedisScheduler(cmd, { prefix: o.prefix, pollMs, logger });
  const locks = new RedisLockManager(cmd, {
    prefix: o.prefix,
    ttlMs: lockTtlMs,
    waitMs: lockWaitMs,
    logger,
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      scheduler.close();
      locks.close();
      health.close();
      // disconnect, not QUIT: closing must not wait for a Redis that is away.
      cmd.disconnect();
      sub.disconnect();
    })());
  try {
    await Promise.all([
      connectClient(cmd, where, conn.connectTimeoutMs),
      connectClient(sub, where, conn.connectTimeoutMs),
    ]);
  } catch (err) {
    await close();
    throw err;
  }
  logger.info('redis connected', { where, prefix: o.prefix });
  return {
    presence: new RedisPresenceStore(cmd, o.prefix),
    devices: new RedisDeviceStore(cmd, o.prefix),
    calls: new RedisCallStore(cmd, o.prefix),
    bus,
    scheduler,
    locks,
    outbox: new RedisOutboxStore(cmd, o.prefix),
    sessions: new RedisSharedSessions(cmd, { prefix: o.prefix, outboxLimit }),
    nodes: new RedisNodeRegistry(cmd, { prefix: o.prefix, heartbeatMs, deadAfterMs }),
    health,
    close,
  };
}

function checkPrefix(prefix: string): void {
  // eslint-disable-next-line no-control-regex
  if (!prefix || prefix.length > 128 || /[\s\x00-\x1f]/.test(prefix)) {
    throw new ConfigError('redis prefix must be 1-128 characters without spaces or controls');
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > 3_600_000) {
    throw new ConfigError(`redis ${name} must be a number of ms from 1 to 3600000`);
  }
  return value;
}
