import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newUserContext } from './chromium.js';
import type { RecordedEvent, RtpTotals, SentTrack, VideoInfo } from './page-api.js';
import type { TestServer } from './server.js';
import {
  boundedBy,
  expectFramesRising,
  framesDecoded,
  waitForEvent,
  type WaitOptions,
} from './wait.js';

/** The seed's TRTCCalling API as the tests call it; every call runs in the user's page. */
export interface CallingApi {
  login(params: { userID: string; userSig: string }): Promise<unknown>;
  logout(): Promise<unknown>;
  call(params: {
    userID: string;
    type: 1 | 2;
    timeout?: number;
    offlinePushInfo?: Record<string, string>;
  }): Promise<unknown>;
  groupCall(params: {
    userIDList: string[];
    type: 1 | 2;
    groupID?: string;
    timeout?: number;
  }): Promise<unknown>;
  /** Ringline/TUICallKit extension: invite more users into the call in progress. */
  inviteUser(params: { userIDList: string[] }): Promise<unknown>;
  /** TUICallKit: join a group's ongoing call without an invitation. */
  joinInGroupCall(params: { groupID: string; type: 1 | 2 }): Promise<unknown>;
  accept(params?: { inviteID: string; roomID: number; callType: 1 | 2 }): Promise<unknown>;
  reject(params?: { inviteID: string; isBusy: boolean; callType: 1 | 2 }): Promise<unknown>;
  hangup(): Promise<unknown>;
  startRemoteView(params: { userID: string; videoViewDomID: string }): Promise<unknown>;
  stopRemoteView(params: { userID: string; videoViewDomID?: string }): Promise<unknown>;
  startLocalView(params: { userID: string; videoViewDomID: string }): Promise<unknown>;
  stopLocalView(params: { userID: string; videoViewDomID?: string }): Promise<unknown>;
  openCamera(): Promise<unknown>;
  closeCamera(): Promise<unknown>;
  setMicMute(isMute: boolean): Promise<unknown>;
  setVideoQuality(profile: '480p' | '720p' | '1080p'): Promise<unknown>;
  switchToAudioCall(): Promise<unknown>;
  switchToVideoCall(): Promise<unknown>;
  getCameras(): Promise<DeviceInfo[]>;
  getMicrophones(): Promise<DeviceInfo[]>;
  switchDevice(params: { deviceType: 'audio' | 'video'; deviceId: string }): Promise<unknown>;
  /** Ringline extension: background blur of the video sent. */
  setBackgroundBlur(
    enable: boolean,
    options?: { radius?: number; assetsUrl?: string },
  ): Promise<unknown>;
}

export interface DeviceInfo {
  deviceId: string;
  label: string;
  kind?: string;
  groupId?: string;
}

/** A TRTCCalling method failed in the page; `code` is the SDK's error code when it had one. */
export class SdkCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: number | undefined,
    message: string,
  ) {
    super(`${method}() failed${code === undefined ? '' : ` with code ${code}`}: ${message}`);
    this.name = 'SdkCallError';
  }
}

/** What a user needs of a server: its URL, SDKAppID and userSigs (a TestServer, or one elsewhere). */
export type UserServer = Pick<TestServer, 'url' | 'sdkAppID' | 'userSig'>;

/** The ids of the two view containers every user page has. */
export const LOCAL_VIEW = 'local-view';
export const REMOTE_VIEW = 'remote-view';

/**
 * One user: a browser context of their own (own fake devices, permissions granted), one page of the
 * server's origin with the SDK bundle loaded from `/sdk/trtc-calling.js`, a TRTCCalling instance and
 * an event recorder.
 */
export class TestUser {
  /** Calls TRTCCalling methods in the page: `await alice.sdk.call({userID, type: 2})`. */
  readonly sdk: CallingApi;
  /** Console output and page errors, kept for the test's log file. */
  readonly log: string[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    /** A short name for files and messages, e.g. 'alice'. */
    readonly name: string,
    readonly userID: string,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly server: UserServer,
  ) {
    this.sdk = new Proxy({} as CallingApi, {
      get: (_target, method) => {
        if (typeof method !== 'string') return undefined;
        return (...args: unknown[]) => this.invoke(method, args);
      },
    });
    page.on('console', (m) => this.log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.log.push(`[pageerror] ${e.message}`));
  }

  static async open(
    browser: Browser,
    server: UserServer,
    name: string,
    userID: string,
    /** More `new TRTCCalling(options)` options, e.g. `{ iceTransportPolicy: 'relay' }`. */
    sdkOptions: Record<string, unknown> = {},
  ): Promise<TestUser> {
    const origin = new URL(server.url).origin;
    const context = await newUserContext(browser, origin);
    try {
      const page = await context.newPage();
      const user = new TestUser(name, userID, context, page, server);
      // Any same-origin page of the server will do: the SDK connects to location.origin's /ws.
      await page.goto(`${origin}/healthz`);
      await page.addScriptTag({ url: '/sdk/trtc-calling.js' });
      await page.evaluate(([options, id]) => window.__ringline.start(options, id), [
        { ...sdkOptions, SDKAppID: server.sdkAppID, server: server.url },
        userID,
      ] as const);
      return user;
    } catch (error) {
      await context.close();
      throw error;
    }
  }

  /** Logs in with a valid userSig and waits for the SDK's SDK_READY. */
  async login(): Promise<void> {
    const after = await this.mark();
    await this.sdk.login({ userID: this.userID, userSig: this.server.userSig(this.userID) });
    await this.waitForEvent('sdkReady', undefined, { after });
  }

  /** Runs `trtcCalling[method](...args)` in the page; rejects with SdkCallError on failure. */
  async invoke(method: string, args: unknown[]): Promise<unknown> {
    const result = await this.page.evaluate(([m, a]) => window.__ringline.invoke(m, a), [
      method,
      args,
    ] as const);
    if (!result.ok) {
      throw new SdkCallError(method, result.error?.code, result.error?.message ?? 'unknown error');
    }
    return result.value;
  }

  /** Every event recorded so far (optionally only those named `name`). */
  async events(name?: string): Promise<RecordedEvent[]> {
    const all = await this.page.evaluate(() => window.__ringline.events);
    return all
      .map((e, index) => ({ ...e, index }))
      .filter((e) => name === undefined || e.name === name);
  }

  /** How many events were recorded so far: pass it as `after` to wait only for later ones. */
  mark(): Promise<number> {
    return this.page.evaluate(() => window.__ringline.events.length);
  }

  waitForEvent(
    name: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    predicate?: (payload: any) => boolean,
    options?: WaitOptions,
  ): Promise<RecordedEvent> {
    return waitForEvent(this.page, name, predicate, options);
  }

  /** Frames decoded so far by the `<video>` showing `userID` in this page. */
  framesDecoded(userID: string): Promise<number> {
    return framesDecoded(this.page, userID);
  }

  /** Waits until the `<video>` showing `userID` decodes `by` more frames. */
  expectFramesRising(userID: string, options?: { by?: number; timeoutMs?: number }) {
    return expectFramesRising(this.page, userID, options);
  }

  videoInfo(userID: string): Promise<VideoInfo | null> {
    return this.page.evaluate((id) => window.__ringline.videoInfo(id), userID);
  }

  /** RTP totals over the page's peer connections (the SDK's included). */
  rtpStats(type: 'inbound-rtp' | 'outbound-rtp', kind: 'audio' | 'video'): Promise<RtpTotals> {
    return this.page.evaluate(([t, k]) => window.__ringline.rtpStats(t, k), [type, kind] as const);
  }

  /** The local tracks the page's peer connections are sending, with capture settings. */
  sentTracks(): Promise<SentTrack[]> {
    return this.page.evaluate(() => window.__ringline.sentTracks());
  }

  /** Makes (or resizes) a view container `id` of `width` × `height` CSS pixels in the page. */
  addView(id: string, width = 320, height = 240): Promise<string> {
    return this.page.evaluate(([i, w, h]) => window.__ringline.addView(i, w, h), [
      id,
      width,
      height,
    ] as const);
  }

  /** Renders `userID` into a view container of its own; resolves with the container's id. */
  async showRemote(userID: string, width = 320, height = 240): Promise<string> {
    const id = await this.addView(`view-${userID}`, width, height);
    await this.sdk.startRemoteView({ userID, videoViewDomID: id });
    return id;
  }

  /** From now on the page shows everyone who enters the call in a view of their own. */
  showRemotes(width = 160, height = 120): Promise<void> {
    return this.page.evaluate(([w, h]) => window.__ringline.showRemotes(w, h), [
      width,
      height,
    ] as const);
  }

  /** Number of `<video>` elements inside the DOM node with id `containerID`. */
  videosIn(containerID: string): Promise<number> {
    return this.page.locator(`#${containerID} video`).count();
  }

  /** Logs out (bounded, best effort: the session may already be gone) and closes the context. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.page.isClosed()) {
        await boundedBy(
          this.invoke('logout', []).catch(() => undefined),
          3_000,
        );
      }
      await this.context.close();
    })();
    return this.closing;
  }
}
