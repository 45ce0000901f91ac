/**
 * The Redis adapters against a real redis-server started by the test: the conformance suite, then
 * what only a network store has — keys under a prefix, malformed bus messages, and Redis going
 * away (killed, hung) and coming back.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.js';
import type { Logger } from '../../log.js';
import { startRedis, type TestRedis } from '../../testing/redis.js';
import { callStoreConformance } from '../conformance/call-store.js';
import { clusterConformance, gate, waitFor } from '../conformance/index.js';
import { ClusterUnavailableError } from '../errors.js';
import type { BusMessage } from '../types.js';
import {
  RedisCallStore,
  createRedisCluster,
  type RedisClusterAdapters,
  type RedisClusterOptions,
} from './index.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const push = (callID: string): BusMessage => ({
  kind: 'push',
  userID: 'alice',
  sessionID: 's1',
  push: { type: 'userLeave', callID, userID: 'bob' },
});

/** Fast polling and health checks: the tests wait on them. */
const quick = { pollMs: 50, healthIntervalMs: 100, commandTimeoutMs: 500 };

describe('Redis cluster adapters', () => {
  clusterConformance(async (count, options = {}) => {
    // A fresh prefix per test: one redis-server serves them all, as one serves several apps.
    const prefix = `test:${randomUUID()}`;
    const nodes: RedisClusterAdapters[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push(
        await createRedisCluster({
          url: redis.url,
          prefix,
          ...quick,
          ...(options.lockTtlMs !== undefined && { lockTtlMs: options.lockTtlMs }),
        }),
      );
    }
    return {
      nodes,
      async close() {
        for (const n of nodes) await n.close();
      },
    };
  });
});

describe('Redis adapters, beyond the conformance suite', () => {
  const opened: Array<{ close(): Promise<void> | void }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });
  async function node(over: Partial<RedisClusterOptions> = {}) {
    const n = await createRedisCluster({ url: redis.url, prefix: 'app:1', ...quick, ...over });
    opened.push(n);
    return n;
  }
  function raw() {
    const client = new Redis(redis.url, { lazyConnect: true });
    opened.push({ close: () => client.disconnect() });
    return client;
  }

  it('keeps every key under its prefix: two apps on one Redis do not see each other', async () => {
    const one = await node({ prefix: 'app:one' });
    const two = await node({ prefix: 'app:two' });
    await one.presence.set({ userID: 'alice', sessionID: 's1', nodeID: 'n1' });
    expect(await two.presence.get('alice')).toBeUndefined();
    await one.scheduler.schedule('invite:x', 600_000);
    await one.locks.run('call:1', async () => {
      // Other tests' keys live under test:…; this test's apps are app:one and app:two.
      const keys = await raw().keys('app:*');
      expect(keys.sort()).toEqual([
        'app:one:lock:call:1',
        'app:one:presence:alice',
        'app:one:timers',
      ]);
      expect(keys.every((k) => k.startsWith('app:one:'))).toBe(true);
    });
    expect(await one.scheduler.pending()).toBe(1);
    expect(await two.scheduler.pending()).toBe(0);
    await one.scheduler.cancel('invite:x');
  });

  it('drops and logs a malformed bus message, and goes on delivering', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (msg) => void warnings.push(msg),
      error() {},
    };
    const receiver = await node({ logger });
    const sender = await node();
    const got: BusMessage[] = [];
    receiver.bus.subscribe('node-b', (m) => void got.push(m));
    await receiver.bus.whenSubscribed();
    const client = raw();
    for (const junk of ['not json', '{"kind":"push"}', '[]', 'null', '{"kind":"explode"}']) {
      await client.publish('app:1:bus:node-b', junk);
    }
    await sender.bus.send('node-b', push('c1'));
    await waitFor(() => got.length === 1, 'the valid message');
    expect(got).toEqual([push('c1')]);
    expect(receiver.bus.dropped).toBe(5);
    expect(warnings.filter((w) => w.includes('malformed'))).toHaveLength(5);
  });

  it("logs a lost lease, and the late holder's release leaves the next holder's lease alone", async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (msg) => void warnings.push(msg),
      error() {},
    };
    const a = await node({ logger, lockTtlMs: 300 });
    const b = await node();
    const client = raw();
    const firstHeld = gate();
    let firstIn = false;
    const first = a.locks.run('call:9', async () => {
      firstIn = true;
      await firstHeld.promise;
    });
    await waitFor(() => firstIn, 'the first holder');
    // The lease vanishes under the holder (as when it stalled past its TTL).
    await client.del('app:1:lock:call:9');
    await waitFor(() => warnings.some((w) => w.includes('lease lost')), 'the loss to be logged');
    const secondHeld = gate();
    let secondIn = false;
    const second = b.locks.run('call:9', async () => {
      secondIn = true;
      await secondHeld.promise;
    });
    await waitFor(() => secondIn, 'the second holder');
    firstHeld.open();
    await first;
    expect(await client.exists('app:1:lock:call:9')).toBe(1);
    secondHeld.open();
    await second;
    expect(await client.exists('app:1:lock:call:9')).toBe(0);
  });

  it('closes idempotently; afterwards operations fail with ClusterUnavailableError', async () => {
    const n = await node();
    await Promise.all([n.close(), n.close()]);
    await n.close();
    expect(n.health.ready).toBe(false);
    await expect(n.presence.get('alice')).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(n.scheduler.schedule('t', 10)).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(n.locks.run('k', async () => 1)).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(n.bus.send('x', push('c1'))).rejects.toBeInstanceOf(ClusterUnavailableError);
  });

  it('refuses to start when Redis does not answer, and rejects bad options', async () => {
    const nowhere = await startRedis();
    const url = nowhere.url;
    await nowhere.stop();
    await expect(
      createRedisCluster({ url, prefix: 'p', connectTimeoutMs: 1000 }),
    ).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(createRedisCluster({ url: 'http://x', prefix: 'p' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(createRedisCluster({ url: 'nonsense', prefix: 'p' })).rejects.toThrow(
      /must be a URL/,
    );
    await expect(createRedisCluster({ url, prefix: 'has space' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(createRedisCluster({ url, prefix: 'p', lockTtlMs: -1 })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

describe('Redis going away and coming back', () => {
  // Its own server: these tests kill it.
  let own: TestRedis;
  const opened: RedisClusterAdapters[] = [];
  beforeAll(async () => {
    own = await startRedis();
  });
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.close();
    // Every test leaves the server running for the next.
    await own.restart();
  });
  afterAll(async () => {
    await own?.stop();
  });
  async function node() {
    const n = await createRedisCluster({ url: own.url, prefix: 'app:1', ...quick });
    opened.push(n);
    return n;
  }

  it('reports not ready while Redis is down, fails operations fast, and recovers by itself', async () => {
    const a = await node();
    const b = await node();
    expect(a.health.ready).toBe(true);
    const changes: boolean[] = [];
    a.health.onChange((ready) => void changes.push(ready));

    await own.kill();
    await waitFor(() => !a.health.ready, 'a to notice Redis is gone');
    expect(changes).toEqual([false]);
    await expect(a.presence.get('alice')).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(
      a.presence.set({ userID: 'a', sessionID: 's', nodeID: 'n' }),
    ).rejects.toMatchObject({ name: 'CLUSTER_UNAVAILABLE', code: 50303 });
    await expect(a.bus.send('node-b', push('c1'))).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(a.scheduler.schedule('t', 10)).rejects.toBeInstanceOf(ClusterUnavailableError);
    let ran = false;
    await expect(
      a.locks.run('call:1', async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(ClusterUnavailableError);
    expect(ran).toBe(false);

    await own.restart();
    await waitFor(() => a.health.ready && b.health.ready, 'both nodes to reconnect');
    expect(changes).toEqual([false, true]);
    await a.presence.set({ userID: 'alice', sessionID: 's1', nodeID: 'node-a' });
    expect((await b.presence.get('alice'))?.nodeID).toBe('node-a');
    expect(await a.locks.run('call:1', async () => 'locked again')).toBe('locked again');
  });

  it('resubscribes the bus and resumes timers after Redis stopped and came back', async () => {
    const a = await node();
    const b = await node();
    const got: BusMessage[] = [];
    b.bus.subscribe('node-b', (m) => void got.push(m));
    const fired: string[] = [];
    b.scheduler.subscribe((key) => void fired.push(key));
    await b.bus.whenSubscribed();

    // Stopped cleanly this time (the other test kills it): connections closed by the server.
    await own.stop();
    await waitFor(() => !b.health.ready, 'b to notice Redis is gone');
    await own.restart();
    await waitFor(() => a.health.ready && b.health.ready, 'both nodes to reconnect');
    await waitFor(async () => {
      // The resubscription is asynchronous: retry until it is in place (each try is one message).
      await a.bus.send('node-b', push(`c${got.length}`));
      return got.length > 0;
    }, 'a message through the renewed subscription');
    await a.scheduler.schedule('after-restart', 20);
    await waitFor(() => fired.includes('after-restart'), 'the timer armed after the restart');
  });

  it('times out commands to a hung Redis instead of waiting, and recovers when it answers', async () => {
    const a = await node();
    own.freeze();
    try {
      await expect(a.presence.get('alice')).rejects.toBeInstanceOf(ClusterUnavailableError);
      await waitFor(() => !a.health.ready, 'health to notice the hang');
    } finally {
      own.thaw();
    }
    await waitFor(() => a.health.ready, 'health to recover');
    expect(await a.presence.get('alice')).toBeUndefined();
  });
});

describe('Redis CallStore', () => {
  const stores: Redis[] = [];
  afterAll(() => {
    for (const client of stores) client.disconnect();
  });
  // A fresh, empty store per test: its own prefix in the shared redis-server.
  callStoreConformance('redis', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    stores.push(client);
    return { store: new RedisCallStore(client, `calls:${randomUUID()}`) };
  });
});
