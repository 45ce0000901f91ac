import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  genUserSig,
  startServer,
  type ClusterAdapters,
  type RinglineServer,
} from '@ringline/server';

/** The real Ringline server, in this process, on a free loopback port with a throw-away data dir. */
export interface TestServer {
  readonly url: string;
  readonly sdkAppID: number;
  /** The server's data dir (with `sfu`, janus's config and pid file are in its `janus/`). */
  readonly dataDir: string;
  /** A valid userSig for `userID`, made with the server's own key (as an app backend would). */
  userSig(userID: string): string;
  /** Group administration through the server's REST admin API, as an app backend does it. */
  readonly groups: GroupAdmin;
  /**
   * Stops the server and starts a new one on the same data dir and port (same URL, same app), as
   * an operator's restart does: with the default SQLite state, calls and sessions survive it.
   */
  restart(): Promise<void>;
  /** Stops the server and deletes its data dir; idempotent. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Default invitation timeout, seconds (the server's --invite-timeout). */
  inviteTimeout?: number;
  /**
   * Start the SFU for group calls: the server's `--janus auto` (a local Janus it supervises) with
   * ICE limited to the namespace's veth (RINGLINE_MEDIA_IFACE, else loopback). Default off.
   */
  sfu?: boolean;
  /**
   * The server's `--janus` instead of `auto` (e.g. a pool `ws://a,ws://b` the test started), read
   * when the server starts; implies `sfu`.
   */
  janus?: () => string;
  /** The server's `--p2p`: false sends one-to-one calls through the SFU too. Default true. */
  p2p?: boolean;
  /** A user's second login (`--multi-device`): kick the first (default) or ring every device. */
  multiDevice?: 'kick' | 'ring-all';
  /** The interface to listen on (`--host`). Default 127.0.0.1. */
  host?: string;
  /** Shared-state adapters the test keeps a hand on (to read a call's record). Default in-memory. */
  cluster?: ClusterAdapters;
  /**
   * Serve HTTPS/WSS with these PEM files (`--tls-cert`, `--tls-key`); the URL is then https://.
   * The group admin helper's fetch does not trust a test certificate: use it without `tls`.
   */
  tls?: { certFile: string; keyFile: string };
}

/** The REST admin API's group routes, authenticated with an `administrator` userSig. */
export interface GroupAdmin {
  /** Creates `groupID` with `members`; throws AdminError on any non-2xx answer. */
  create(groupID: string, members: string[]): Promise<void>;
  addMembers(groupID: string, userIDList: string[]): Promise<void>;
  removeMembers(groupID: string, userIDList: string[]): Promise<void>;
  /** The group's members, as the server lists them. */
  members(groupID: string): Promise<string[]>;
  delete(groupID: string): Promise<void>;
}

/** A REST admin request the server refused: HTTP status plus the coded body. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: number; name?: string; message?: string },
  ) {
    super(`admin API answered ${status}: ${JSON.stringify(body)}`);
    this.name = 'AdminError';
  }
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ringline-e2e-'));
  let server: RinglineServer;
  let serverOptions: Parameters<typeof startServer>[0];
  try {
    // Typed loosely: these are the server's `--janus`, `--janus-interface` and `--p2p` flags.
    const media: Record<string, unknown> = options.janus
      ? { janus: options.janus() }
      : options.sfu
        ? { janus: 'auto', janusInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo' }
        : { janus: 'off' };
    if (options.p2p !== undefined) media.p2p = options.p2p;
    serverOptions = {
      port: 0,
      host: options.host ?? '127.0.0.1',
      dev: true,
      dataDir,
      // Clients are told to reconnect at once; no waiting for calls (a restart stays quick).
      drainTimeoutMs: 0,
      ...(options.inviteTimeout === undefined ? {} : { inviteTimeout: options.inviteTimeout }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
      ...(options.multiDevice === undefined ? {} : { multiDevice: options.multiDevice }),
      ...(media as object),
    };
    server = await startServer(serverOptions);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  let current: RinglineServer | undefined = server;
  const started = server;
  return {
    groups: groupAdmin(
      started.url,
      () =>
        genUserSig({
          sdkAppID: started.sdkAppID,
          secretKey: started.secretKey,
          userID: 'administrator',
        }),
      started.sdkAppID,
    ),
    url: server.url,
    sdkAppID: server.sdkAppID,
    dataDir,
    userSig: (userID) =>
      genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID }),
    async restart() {
      if (closing || !current) throw new Error('the test server is closed');
      const stopped = current;
      current = undefined;
      await stopped.close();
      current = await startServer({ ...serverOptions, port: stopped.port });
    },
    close() {
      if (!closing) {
        closing = (current?.close() ?? Promise.resolve()).finally(() =>
          rm(dataDir, { recursive: true, force: true }),
        );
      }
      return closing;
    },
  };
}

function groupAdmin(baseUrl: string, adminSig: () => string, sdkAppID: number): GroupAdmin {
  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    const query = new URLSearchParams({
      sdkappid: String(sdkAppID),
      identifier: 'administrator',
      usersig: adminSig(),
    });
    const response = await fetch(`${baseUrl}/api/admin/groups${path}?${query}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (!response.ok) throw new AdminError(response.status, parsed as AdminError['body']);
    return parsed;
  }
  const group = (groupID: string) => `/${encodeURIComponent(groupID)}`;
  return {
    async create(groupID, members) {
      await send('POST', '', { groupID, members });
    },
    async addMembers(groupID, userIDList) {
      await send('POST', `${group(groupID)}/members`, { userIDList });
    },
    async removeMembers(groupID, userIDList) {
      await send('DELETE', `${group(groupID)}/members`, { userIDList });
    },
    async members(groupID) {
      const body = (await send('GET', group(groupID))) as {
        members?: (string | { userID: string })[];
      };
      return (body.members ?? []).map((m) => (typeof m === 'string' ? m : m.userID));
    },
    async delete(groupID) {
      await send('DELETE', group(groupID));
    },
  };
}
