/** Starting a real server for a test, on a free loopback port, with a throwaway data dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig } from '../auth/usersig.js';
import { createMemoryCluster } from '../cluster/memory.js';
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
    close: async () => {
      // The server first, so that its shutdown path (sessions ended, connections closed) runs.
      await server.close();
      await Promise.all(clients.map((c) => c.close()));
      if (!options.cluster) await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
