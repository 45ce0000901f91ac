/**
 * The hooks of one cross-NAT test file: the simulated internet and a test certificate for the
 * file, servers per describe block, one Chromium per site and users per test.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { genUserSig } from '@ringline/server';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../packages/server/src/testing/tls.js';
import { afterAll, afterEach, beforeAll, type TestContext } from 'vitest';
import { RESULTS_DIR, TestUser, boundedBy } from '../harness/index.js';
import { startPublicServer, type PublicServer } from './public-server.js';
import { iceReport, launchSiteChromium, qualityReport } from './site-browser.js';
import { startStunServer } from './stun-server.js';
import { PUBLIC_IP, createInternet, type Internet, type Site, type SiteSpec } from './topology.js';

/** A user of one site: a TestUser whose Chromium runs in the site's client namespace. */
export class SiteUser {
  constructor(
    readonly user: TestUser,
    readonly site: Site,
  ) {}

  get userID() {
    return this.user.userID;
  }

  /** The ICE picture of the page's peer connections (selected pairs, remote addresses seen). */
  ice(): Promise<IceReport> {
    return this.user.page.evaluate(iceReport) as Promise<IceReport>;
  }

  /** Receive-side quality from getStats (frames, fps, freezes, audio concealment). */
  quality(): Promise<QualityReport> {
    return this.user.page.evaluate(qualityReport) as Promise<QualityReport>;
  }
}

export interface CandidateEnd {
  type: 'host' | 'srflx' | 'prflx' | 'relay';
  address: string;
  port: number;
}

export interface IceReport {
  connections: {
    connectionState: RTCPeerConnectionState;
    iceConnectionState: RTCIceConnectionState;
    local: CandidateEnd | null;
    remote: CandidateEnd | null;
  }[];
  remoteAddresses: string[];
}

export interface QualityReport {
  framesDecoded: number;
  fps: number[];
  freezeCount: number;
  totalFreezesDuration: number;
  videoPacketsReceived: number;
  videoPacketsLost: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
}

export interface ServerHandle {
  /** The running server (inside a test of the describe block that asked for it). */
  readonly current: PublicServer;
}

export interface Network {
  readonly internet: Internet;
  readonly cert: TestCertificate;
  site(name: string): Site;
  /**
   * Registers beforeAll/afterAll in the calling describe block: a Ringline server on the public
   * segment with these options (HTTPS with the file's certificate) for that block's tests. `stun`:
   * the clients get a STUN-only server (coturn `--stun-only`) and no TURN, so that they know their
   * public addresses and what fails is the NATs' doing, not a missing server.
   */
  server(options?: { janus?: boolean; stun?: boolean; flags?: string[] }): ServerHandle;
  /**
   * A user at `siteName` for this test, logged in to `server`: a page in the site's Chromium
   * (launched on first use in the test, closed after it). `sdkOptions` go to `new TRTCCalling`.
   */
  user(
    siteName: string,
    name: string,
    server: ServerHandle,
    sdkOptions?: Record<string, unknown>,
  ): Promise<SiteUser>;
}

/** Where the STUN-only coturn of `server({ stun: true })` listens (coturn auto uses 3478). */
const STUN_PORT = 3479;

export function useNetwork(sites: SiteSpec[]): Network {
  let internet: Internet | undefined;
  let cert: TestCertificate | undefined;
  const browsers = new Map<string, Promise<Browser>>();
  let users: SiteUser[] = [];

  beforeAll(async () => {
    cert = makeTestCertificate([PUBLIC_IP]);
    internet = await createInternet({ sites });
  });

  afterEach(async (context: TestContext) => {
    const opened = users;
    users = [];
    const prefix = resultName(context);
    await mkdir(RESULTS_DIR, { recursive: true });
    await Promise.all(
      opened.map(async ({ user }) => {
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
    await Promise.allSettled(opened.map(({ user }) => user.close()));
    await closeBrowsers();
  });

  afterAll(async () => {
    await closeBrowsers();
    await internet?.close();
    cert?.remove();
  });

  async function closeBrowsers() {
    const open = [...browsers.values()];
    browsers.clear();
    await Promise.allSettled(open.map(async (b) => (await b).close()));
  }

  function browserAt(site: Site): Promise<Browser> {
    let browser = browsers.get(site.name);
    if (!browser) {
      browser = launchSiteChromium(site.client, { spki: need(cert).spki });
      browsers.set(site.name, browser);
    }
    return browser;
  }

  return {
    get internet() {
      return need(internet);
    },
    get cert() {
      return need(cert);
    },
    site: (name) => need(internet).site(name),
    server({ stun: withStun = false, flags = [], ...options } = {}) {
      let server: PublicServer | undefined;
      let stun: { close(): Promise<void> } | undefined;
      beforeAll(async () => {
        if (withStun) {
          stun = await startStunServer(need(internet).public, PUBLIC_IP, STUN_PORT);
          flags = [
            ...flags,
            '--ice-servers',
            JSON.stringify([{ urls: `stun:${PUBLIC_IP}:${STUN_PORT}` }]),
          ];
        }
        server = await startPublicServer(need(internet), { ...options, flags, cert: need(cert) });
      });
      afterAll(async () => {
        await server?.close();
        await stun?.close();
      });
      return {
        get current() {
          return need(server);
        },
      };
    },
    async user(siteName, name, handle, sdkOptions = {}) {
      const site = need(internet).site(siteName);
      const server = handle.current;
      const userID = `${name}-${randomBytes(4).toString('hex')}`;
      const user = await TestUser.open(
        await browserAt(site),
        {
          url: server.url,
          sdkAppID: server.sdkAppID,
          userSig: (id) =>
            genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID: id }),
        },
        name,
        userID,
        sdkOptions,
      );
      const siteUser = new SiteUser(user, site);
      users.push(siteUser);
      await user.login();
      return siteUser;
    },
  };
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the network fixture is used outside a test');
  return value;
}

function resultName(context: TestContext): string {
  const file = basename(context.task.file?.name ?? 'e2e').replace(/\.e2e\.ts$/, '');
  const test = context.task.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 100);
  return `network-${file}--${test}`;
}
