import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, type TestContext } from 'vitest';
import { launchChromium } from './chromium.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';
import { SyntheticParticipant } from './synthetic.js';
import { TestUser } from './user.js';
import { boundedBy } from './wait.js';

/** Where each test leaves a screenshot and a console log per page (gitignored). */
export const RESULTS_DIR = join(process.cwd(), 'test-results', 'e2e');

export interface UserOptions {
  /** Log in (and wait for SDK_READY) before returning; default true. */
  login?: boolean;
  /** More `new TRTCCalling(options)` options, e.g. `{ iceTransportPolicy: 'relay' }`. */
  sdkOptions?: Record<string, unknown>;
}

/** The server's options, and flags for the file's Chromium. */
export interface RinglineOptions extends TestServerOptions {
  /** More Chromium flags, e.g. `--ignore-certificate-errors-spki-list=…` for a test certificate. */
  browserArgs?: string[];
}

export interface Ringline {
  /** The server of this test file. */
  readonly server: TestServer;
  readonly browser: Browser;
  /**
   * A new user for this test: its own browser context and page, logged in. The user ID is `name`
   * plus a random suffix, so no test sees another's state. Closed after the test.
   */
  user(name: string, options?: UserOptions): Promise<TestUser>;
  /** A second page (own context) for the same user ID as `user`, e.g. to log in twice. */
  sameUser(user: TestUser, options?: UserOptions): Promise<TestUser>;
  /**
   * A synthetic participant (Node, `@roamhq/wrtc`, generated frames) logged in as `name` plus a
   * random suffix; closed after the test.
   */
  synthetic(
    name: string,
    media?: { width?: number; height?: number; fps?: number; receiveFrom?: string[] },
  ): Promise<SyntheticParticipant>;
  /** A new group (random ID) with these members, made through the REST admin API. */
  group(members: { userID: string }[]): Promise<string>;
}

/**
 * Registers the hooks of one e2e test file: a real server and one Chromium for the file, users per
 * test. After each test, every user page is screenshotted (and its console saved) into
 * test-results/e2e/, then closed — also when the test failed.
 */
export function useRingline({ browserArgs, ...options }: RinglineOptions = {}): Ringline {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let users: TestUser[] = [];
  let synthetics: SyntheticParticipant[] = [];

  beforeAll(async () => {
    server = await startTestServer(options);
    browser = await launchChromium(browserArgs);
  });

  afterEach(async (context: TestContext) => {
    const opened = users;
    users = [];
    const peers = synthetics;
    synthetics = [];
    await Promise.all(peers.map((p) => p.close()));
    const prefix = resultName(context);
    await mkdir(RESULTS_DIR, { recursive: true });
    await Promise.all(
      opened.map(async (user) => {
        if (!user.page.isClosed()) {
          await boundedBy(
            user.page
              .screenshot({ path: join(RESULTS_DIR, `${prefix}--${user.name}.png`) })
              .catch(() => undefined),
            5_000,
          );
        }
        await writeFile(
          join(RESULTS_DIR, `${prefix}--${user.name}.log`),
          user.log.join('\n') + '\n',
        );
      }),
    );
    const closed = await Promise.allSettled(opened.map((user) => user.close()));
    const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });

  afterAll(async () => {
    // Users of a test that never reached afterEach (a failing beforeAll) are closed with the browser.
    await browser?.close();
    await server?.close();
  });

  const names = new Map<string, number>();
  function track(user: TestUser): TestUser {
    users.push(user);
    return user;
  }
  async function open(name: string, userID: string, { login = true, sdkOptions }: UserOptions) {
    const user = track(await TestUser.open(need(browser), need(server), name, userID, sdkOptions));
    if (login) await user.login();
    return user;
  }

  return {
    get server() {
      return need(server);
    },
    get browser() {
      return need(browser);
    },
    user(name, userOptions = {}) {
      // The random suffix keeps users of different tests and runs apart on the shared server;
      // keep names short so IDs stay within USER_ID_PATTERN's 32 characters.
      const userID = `${name}-${randomBytes(4).toString('hex')}`;
      return open(name, userID, userOptions);
    },
    async synthetic(name, media = {}) {
      const s = need(server);
      const userID = `${name}-${randomBytes(4).toString('hex')}`;
      const peer = await SyntheticParticipant.login({
        serverUrl: s.url,
        sdkAppID: s.sdkAppID,
        userID,
        userSig: s.userSig(userID),
        ...media,
      });
      synthetics.push(peer);
      return peer;
    },
    async group(members) {
      const groupID = `g-${randomBytes(6).toString('hex')}`;
      await need(server).groups.create(
        groupID,
        members.map((m) => m.userID),
      );
      return groupID;
    },
    sameUser(user, userOptions = {}) {
      const n = (names.get(user.userID) ?? 1) + 1;
      names.set(user.userID, n);
      return open(`${user.name}-page${n}`, user.userID, userOptions);
    },
  };
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the e2e fixture is used outside a test');
  return value;
}

function resultName(context: TestContext): string {
  const file = basename(context.task.file?.name ?? 'e2e').replace(/\.e2e\.ts$/, '');
  const path: string[] = [];
  for (let s: { name: string; suite?: unknown } | undefined = context.task; s;) {
    if (s.name && s !== context.task.file) path.unshift(s.name);
    s = (s.suite as typeof s) ?? undefined;
  }
  const test = path
    .join(' ')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .slice(0, 120);
  return `${file}--${test}`;
}
