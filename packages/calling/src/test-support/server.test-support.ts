/**
 * Test support: the real Ringline server on a free loopback port, userSigs for it, a WebSocket
 * class for Node with injectable network faults, and waiting helpers (no sleeps).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig, startServer, type RinglineServer, type ServerOptions } from '@ringline/server';
import { SIGNAL_PATH } from '@ringline/protocol';
import { afterAll, afterEach, beforeAll } from 'vitest';
import WebSocket from 'ws';
import type { EventCallbacks, TypedEmitter } from '../events/Emitter.js';

export interface TestServer {
  server: RinglineServer;
  /** The server's data dir (`--janus auto` keeps janus's config and pid file in `janus/`). */
  dataDir: string;
  /** ws://127.0.0.1:port/ws */
  signalUrl: string;
  /** A valid userSig for `userID`. */
  sig(userID: string): string;
  close(): Promise<void>;
}

/** Starts the real server in dev mode with a throwaway data dir. */
export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringline-sdk-test-'));
  // No drain unless a test asks (drainTimeoutMs): closing stays quick.
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dev: true,
    dataDir,
    drainTimeoutMs: 0,
    ...options,
  });
  return {
    server,
    dataDir,
    signalUrl: `ws://127.0.0.1:${server.port}${SIGNAL_PATH}`,
    sig: (userID) => genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID }),
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A test file's server and the users its tests make: the server starts before the file's tests
 * and stops after them; the users a test made are disposed of after it. Call at a file's top
 * level; `user(name)` makes `name` unique to the file.
 */
export function useTestUsers<T, O>(
  make: (ts: TestServer, userID: string, options: O) => Promise<T>,
  dispose: (users: T[]) => Promise<void>,
) {
  let ts: TestServer | undefined;
  const made: T[] = [];
  let n = 0;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(async () => {
    await ts?.close();
  });
  afterEach(async () => {
    await dispose(made.splice(0));
  });
  const server = (): TestServer => {
    if (!ts) throw new Error("the test server is not started (call this at a file's top level)");
    return ts;
  };
  return {
    server,
    user: async (name: string, options: O): Promise<T> => {
      const u = await make(server(), `${name}_${++n}`, options);
      made.push(u);
      return u;
    },
  };
}

/**
 * Network faults for the sockets of one test: `blocked` makes new connections fail (they go to a
 * closed loopback port), `drop` loses outgoing frames. The sockets are `ws`'s real WebSocket.
 */
export class Network {
  blocked = false;
  drop: (frame: { type?: string }) => boolean = () => false;
  readonly sockets: WebSocket[] = [];

  /** A WebSocket class whose instances obey this network. */
  readonly WebSocket: typeof WebSocket;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const network = this;
    this.WebSocket = class FaultyWebSocket extends WebSocket {
      constructor(url: string) {
        super(network.blocked ? 'ws://127.0.0.1:1/ws' : url);
        network.sockets.push(this);
      }

      override send(data: string): void {
        let frame: { type?: string } = {};
        try {
          frame = JSON.parse(data) as { type?: string };
        } catch {
          // not JSON: send as is
        }
        if (network.drop(frame)) return;
        super.send(data);
      }
    } as unknown as typeof WebSocket;
  }

  /** The newest socket. */
  get current(): WebSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }

  /** Kills the newest socket as a network failure would (no close handshake). */
  cut(): void {
    this.current.terminate();
  }
}

/**
 * Resolves with the arguments of the next `event` (matching `predicate`), or fails after `ms`.
 * Pass a subclass of TypedEmitter (SignalClient, CallEngine...) typed as its base
 * `TypedEmitter<Callbacks>`: TypeScript infers `E` from a `TypedEmitter<E>`, not from a subclass.
 */
export function waitFor<E extends EventCallbacks<E>, K extends keyof E>(
  emitter: TypedEmitter<E>,
  event: K,
  predicate: (...args: Parameters<E[K]>) => boolean = () => true,
  ms = 5_000,
): Promise<Parameters<E[K]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener as never);
      reject(new Error(`timed out after ${ms} ms waiting for ${String(event)}`));
    }, ms);
    const listener = (...args: Parameters<E[K]>): void => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener as never);
      resolve(args);
    };
    emitter.on(event, listener as never);
  });
}

/** Starts the real server with a real Janus (auto mode, ICE only on the test's interface). */
export function startTestServerWithSfu(options: ServerOptions = {}): Promise<TestServer> {
  return startTestServer({
    janus: 'auto',
    janusInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
    ...options,
  });
}

/** Creates a group with these members through the server's REST admin API. */
export async function makeGroup(ts: TestServer, groupID: string, members: string[]): Promise<void> {
  const response = await fetch(`${ts.server.url}/api/admin/groups`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${ts.sig('administrator')}`,
    },
    body: JSON.stringify({ groupID, members }),
  });
  if (response.status !== 201) {
    throw new Error(
      `creating group ${groupID} failed: ${response.status} ${await response.text()}`,
    );
  }
}
