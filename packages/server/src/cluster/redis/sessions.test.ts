/** The Redis SharedSessions and NodeRegistry on a real redis-server, against the conformance suite. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { startRedis, type TestRedis } from '../../testing/redis.js';
import { sharedSessionsConformance } from '../conformance/sessions.js';
import { createRedisCluster, type RedisClusterAdapters } from './index.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('Redis shared sessions', () => {
  sharedSessionsConformance(async (count, o = {}) => {
    const prefix = `s:${randomUUID()}`;
    const nodes: RedisClusterAdapters[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push(
        await createRedisCluster({ url: redis.url, prefix, pollMs: 50, outboxLimit: 3, ...o }),
      );
    }
    return {
      nodes,
      pendingTimers: () => nodes[0]!.scheduler.pending(),
      async close() {
        for (const n of nodes) await n.close();
      },
    };
  });
});
