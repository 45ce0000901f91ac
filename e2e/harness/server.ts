import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig, startServer, type RinglineServer } from '@ringline/server';

/** The real Ringline server, in this process, on a free loopback port with a throw-away data dir. */
export interface TestServer {
  readonly url: string;
  readonly sdkAppID: number;
  /** A valid userSig for `userID`, made with the server's own key (as an app backend would). */
  userSig(userID: string): string;
  /** Stops the server and deletes its data dir; idempotent. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Default invitation timeout, seconds (the server's --invite-timeout). */
  inviteTimeout?: number;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ringline-e2e-'));
  let server: RinglineServer;
  try {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dev: true,
      dataDir,
      ...(options.inviteTimeout === undefined ? {} : { inviteTimeout: options.inviteTimeout }),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    sdkAppID: server.sdkAppID,
    userSig: (userID) =>
      genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID }),
    close() {
      if (!closing) {
        closing = server.close().finally(() => rm(dataDir, { recursive: true, force: true }));
      }
      return closing;
    },
  };
}
