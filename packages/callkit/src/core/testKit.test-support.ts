/**
 * Test support: a CallKitServer in Node on the real server, with the SDK's fake media backend,
 * recording every callback it makes, and a wait for a state (no sleeps).
 */
import TRTCCalling from '@ringline/calling';
import { FakeMediaBackend } from '../../../calling/src/test-support/fakeMedia.test-support.js';
import {
  Network,
  useTestUsers,
  type TestServer,
} from '../../../calling/src/test-support/server.test-support.js';
import type { WebSocketConstructor } from '../../../calling/src/signal/SignalClient.js';
import { createLogger } from '../../../calling/src/util/logger.js';
import { CallKitServer } from './CallKitServer.js';
import type { CallKitState, Status } from './types.js';

export interface TestKit {
  userID: string;
  kit: CallKitServer;
  media: FakeMediaBackend;
  /** `old->new` for every statusChanged, in order. */
  statuses: string[];
  /** Every callback, in order: `beforeCalling:2`, `afterCalling`, `onMinimized:false->true`... */
  callbacks: string[];
  /** Resolves with the first state (now or later) matching `predicate`; fails after `ms`. */
  until(
    predicate: (state: CallKitState) => boolean,
    what: string,
    ms?: number,
  ): Promise<CallKitState>;
  /** Resolves once the status is `status`. */
  status(status: Status, ms?: number): Promise<CallKitState>;
}

const log = createLogger(process.env.RINGLINE_TEST_LOG ? 'debug' : 'silent');

/** A kit for `userID` (made unique by the caller), logged in to `ts`. */
export async function testKit(
  ts: TestServer,
  userID: string,
  options: { init?: boolean } = {},
): Promise<TestKit> {
  const media = new FakeMediaBackend();
  const network = new Network();
  const kit = new CallKitServer({
    createCalling: (o) =>
      new TRTCCalling(o, {
        media,
        WebSocket: network.WebSocket as unknown as WebSocketConstructor,
        logger: log,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      }),
    logger: log,
  });
  const statuses: string[] = [];
  const callbacks: string[] = [];
  kit.setCallbacks({
    statusChanged: ({ oldStatus, newStatus }) => statuses.push(`${oldStatus}->${newStatus}`),
    beforeCalling: (type, error) =>
      callbacks.push(`beforeCalling:${type}${error ? `:error ${errorCode(error)}` : ''}`),
    afterCalling: () => callbacks.push('afterCalling'),
    onMinimized: (old, now) => callbacks.push(`onMinimized:${old}->${now}`),
    kickedOut: () => callbacks.push('kickedOut'),
  });
  const until = (predicate: (state: CallKitState) => boolean, what: string, ms = 5_000) =>
    new Promise<CallKitState>((resolve, reject) => {
      if (predicate(kit.state)) return resolve(kit.state);
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(`${userID}: no ${what} within ${ms} ms; statuses: ${statuses.join(', ')}`),
        );
      }, ms);
      const off = kit.store.subscribe((state) => {
        if (!predicate(state)) return;
        clearTimeout(timer);
        off();
        resolve(state);
      });
    });
  if (options.init !== false) {
    await kit.init({
      userID,
      userSig: ts.sig(userID),
      SDKAppID: ts.server.sdkAppID,
      server: ts.server.url,
    });
  }
  return {
    userID,
    kit,
    media,
    statuses,
    callbacks,
    until,
    status: (status, ms) => until((s) => s.status === status, `status ${status}`, ms),
  };
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

/** A test file's server and kits (see useTestUsers); kits are destroyed after each test. */
export function useKits() {
  const { user } = useTestUsers(testKit, async (kits: TestKit[]) => {
    await Promise.all(kits.map((k) => k.kit.destroyed()));
  });
  return {
    /** A kit whose user ID is `name` made unique to the test file. */
    user: (name: string, options: { init?: boolean } = {}) => user(name, options),
  };
}
