/** Starting a real server for a test, on a free loopback port, with a throwaway data dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { genUserSig } from '../auth/usersig.js';
import { createMemoryCluster } from '../cluster/memory.js';
import { createRedisCluster } from '../cluster/redis/index.js';
import { GroupService } from '../groups/index.js';
import { openStore } from '../store/index.js';
import { startServer, type RinglineServer, type ServerOptions } from '../server.js';
import { TestClient } from './client.js';

export interface TestServer extends RinglineServer {
  /** The server's in-memory state, to check that nothing is left behind. */
  cluster: ReturnType<typeof createMemoryCluster>;
  /** The server's data dir (its SQLite store lives there). */
  dataDir: string;
  /** Connects and logs in a user; the client is closed with the server. */
  login(userID: string): Promise<TestClient>;
  /** Connects without logging in; closed with the server. */
  connect(): Promise<TestClient>;
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringline-test-'));
  const cluster = options.cluster
    ? (options.cluster as TestServer['cluster'])
    : createMemoryCluster();
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dev: true,
    dataDir,
    cluster,
    // No drain unless a test asks: its clients do not move, and the suite must stay fast.
    drainTimeoutMs: 0,
    ...options,
  });
  const clients: TestClient[] = [];
  const track = (c: TestClient) => (clients.push(c), c);
  return {
    ...server,
    cluster,
    dataDir,
    login: async (userID) => track(await TestClient.login(server, userID)),
    connect: async () => track(await TestClient.connect(server.url)),
    close: async (closeOptions) => {
      // The server first, so that its shutdown path (sessions ended, connections closed) runs.
      await server.close(closeOptions);
      await Promise.all(clients.map((c) => c.close()));
      if (!options.cluster) await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One node's Redis adapters for the app under `prefix`, polling and checking health fast. */
export function redisTestAdapters(redisURL: string, prefix: string) {
  return createRedisCluster({
    url: redisURL,
    prefix,
    pollMs: 50,
    healthIntervalMs: 100,
    commandTimeoutMs: 500,
  });
}

/**
 * `count` server nodes sharing one fresh key prefix on the Redis at `redisURL`, with fast polling
 * and health checks (tests wait on them). Closing a node closes its adapters too.
 */
export async function startRedisTestServers(
  redisURL: string,
  count: number,
  options: ServerOptions = {},
): Promise<TestServer[]> {
  const prefix = `app:${randomUUID()}`;
  const servers: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    const adapters = await redisTestAdapters(redisURL, prefix);
    let server: TestServer;
    try {
      server = await startTestServer({ ...options, cluster: adapters });
    } catch (err) {
      await adapters.close();
      for (const started of servers) await started.close();
      throw err;
    }
    servers.push({
      ...server,
      close: async () => {
        await server.close();
        await adapters.close();
      },
    });
  }
  return servers;
}

/** Makes a group in the server's store, through a second connection to the same SQLite file. */
export async function makeGroup(
  server: Pick<TestServer, 'dataDir'>,
  groupID: string,
  members: string[],
): Promise<void> {
  const store = await openStore({ dataDir: server.dataDir });
  try {
    await new GroupService(store.db).create({ groupID, members });
  } finally {
    await store.close();
  }
}

/** Nothing left in the call store and no timer pending: every call and invitation was cleaned up. */
export function expectNoCallState(server: TestServer): void {
  const { calls, invitations, users, groups } = server.cluster.calls.size;
  const timers = server.cluster.scheduler.pending;
  if (calls || invitations || users || groups || timers) {
    throw new Error(
      `state left behind: ${calls} calls, ${invitations} invitations, ${users} user bindings, ` +
        `${groups} group calls, ${timers} timers`,
    );
  }
}

/** An `administrator` userSig for `server`'s app; `over` changes one part of it (to forge one). */
export function adminUserSig(
  server: Pick<TestServer, 'sdkAppID' | 'secretKey'>,
  over: {
    sdkAppID?: number;
    secretKey?: string;
    userID?: string;
    expire?: number;
    now?: number;
  } = {},
): string {
  return genUserSig({
    sdkAppID: over.sdkAppID ?? server.sdkAppID,
    secretKey: over.secretKey ?? server.secretKey,
    userID: over.userID ?? 'administrator',
    ...(over.expire !== undefined ? { expire: over.expire } : {}),
    ...(over.now !== undefined ? { now: over.now } : {}),
  });
}
