/**
 * A web app written the way Tencent's trtc-calling-js 1.0.x docs and template write it — `new
 * TRTCCalling({SDKAppID})`, `setLogLevel`, `on(TRTCCalling.EVENT.…)`, `login`, `call`, `accept`,
 * `hangup` … — with only the script tag changed to the Ringline server's /sdk/trtc-calling.js and
 * no `server` option: the page is served from another origin (another HTTP server, another port),
 * so logging in proves the SDK talks to the origin its script came from.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { newUserContext } from '../harness/chromium.js';
import { pollUntil, useRingline } from '../harness/index.js';

// Invitations time out after 5 s here (Tencent's default is 30 s), so "no answer" is quick.
const INVITE_TIMEOUT_S = 5;
// With the SFU, for the group call.
const ringline = useRingline({ inviteTimeout: INVITE_TIMEOUT_S, sfu: true });

/** The events the template listens on (CALLING_END, as Tencent's demo does, not CALL_END). */
const LISTENED = [
  'SDK_READY',
  'INVITED',
  'USER_ACCEPT',
  'USER_ENTER',
  'USER_LEAVE',
  'REJECT',
  'NO_RESP',
  'LINE_BUSY',
  'CALLING_CANCEL',
  'CALLING_TIMEOUT',
  'CALLING_END',
  'KICKED_OUT',
  'USER_VIDEO_AVAILABLE',
  'USER_AUDIO_AVAILABLE',
  'USER_VOICE_VOLUME',
  'GROUP_CALL_INVITEE_LIST_UPDATE',
  'ERROR',
] as const;
type Key = (typeof LISTENED)[number];

/**
 * The app's page: Tencent's template with our script tag (or, `esmUrl` given, an ES module
 * importing our ESM bundle), recording what its handlers get.
 */
function appHtml(sdkUrl: string, sdkAppID: number, esmUrl?: string): string {
  const load = esmUrl
    ? `<script type="module">import TRTCCalling from '${esmUrl}';`
    : `<script src="${sdkUrl}"></script>\n<script>`;
  return `<!doctype html><html><body>
<div id="local" style="width:320px;height:240px"></div>
<div id="remote" style="width:320px;height:240px"></div>
${load}
  let options = { SDKAppID: ${sdkAppID} };
  let trtcCalling = new TRTCCalling(options);
  trtcCalling.setLogLevel(0);
  window.received = [];
  ${JSON.stringify(LISTENED)}.forEach(function (key) {
    trtcCalling.on(TRTCCalling.EVENT[key], function (event) {
      // 'this' is the instance for a handler registered without a context (as 1.0.6 binds it).
      window.received.push({ key: key, event: event, self: this === trtcCalling });
    });
  });
  window.trtcCalling = trtcCalling;
</script></body></html>`;
}

interface Received {
  key: Key;
  event: Record<string, unknown>;
  self: boolean;
}

/** What the app's page holds: its TRTCCalling instance and the events its handlers got. */
type AppWindow = Window & {
  trtcCalling: Record<string, (arg?: unknown) => unknown>;
  received: Received[];
};

class App {
  private constructor(
    readonly userID: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(url: string, userID: string): Promise<App> {
    const context = await newUserContext(ringline.browser, new URL(url).origin);
    const page = await context.newPage();
    await page.goto(url);
    // A module script runs after the page loaded; the app is ready once it made its instance.
    await page.waitForFunction(() => 'trtcCalling' in window, undefined, { timeout: 10_000 });
    return new App(userID, context, page);
  }

  /** Runs `trtcCalling[method](arg)` in the page, as the app's button handlers do. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- what 1.0.6's methods resolve
  run(method: string, arg?: unknown): Promise<any> {
    return this.page.evaluate(([m, a]) => (window as unknown as AppWindow).trtcCalling[m]!(a), [
      method,
      arg,
    ] as const);
  }

  received(): Promise<Received[]> {
    return this.page.evaluate(() => (window as unknown as AppWindow).received);
  }

  /** Waits for the `index`-th (0-based) `key` event matching `match`. */
  async next(
    key: Key,
    match: (event: Record<string, unknown>) => boolean = () => true,
    index = 0,
    timeoutMs = 15_000,
  ): Promise<Received> {
    const all = await pollUntil(
      `${this.userID} gets ${key}`,
      () => this.received(),
      (r) => r.filter((e) => e.key === key && match(e.event)).length > index,
      { timeoutMs },
    );
    return all.filter((e) => e.key === key && match(e.event))[index]!;
  }

  async count(key: Key): Promise<number> {
    return (await this.received()).filter((e) => e.key === key).length;
  }

  async login(): Promise<unknown> {
    const result = await this.run('login', {
      userID: this.userID,
      userSig: ringline.server.userSig(this.userID),
    });
    await this.next('SDK_READY');
    return result;
  }

  /** Frames decoded by the first <video> inside `domID`. */
  frames(domID: string): Promise<number> {
    return this.page.evaluate((id) => {
      const video = document.querySelector<HTMLVideoElement>(`#${id} video`);
      return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
    }, domID);
  }
}

let appServer: Server;
let appUrl: string;
const apps: App[] = [];
let n = 0;

beforeAll(async () => {
  const sdk = `${ringline.server.url.replace(/\/$/, '')}/sdk`;
  const html = appHtml(`${sdk}/trtc-calling.js`, ringline.server.sdkAppID);
  const esmHtml = appHtml('', ringline.server.sdkAppID, `${sdk}/trtc-calling.mjs`);
  appServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(req.url === '/esm' ? esmHtml : html);
  });
  const host = new URL(ringline.server.url).hostname;
  await new Promise<void>((resolve) => appServer.listen(0, host, resolve));
  appUrl = `http://${host}:${(appServer.address() as AddressInfo).port}/`;
  // Another port is another origin: the app is not served by the Ringline server.
  expect(new URL(appUrl).origin).not.toBe(new URL(ringline.server.url).origin);
});
afterAll(async () => {
  await new Promise<void>((resolve) => appServer?.close(() => resolve()));
});
afterEach(async () => {
  for (const app of apps.splice(0)) {
    await app.run('logout').catch(() => {});
    await app.context.close();
  }
});

async function app(name: string, login = true): Promise<App> {
  const a = await App.open(appUrl, `${name}_${++n}_${Date.now().toString(36)}`);
  apps.push(a);
  if (login) await a.login();
  return a;
}

/** alice calls bob (type 2 video, 1 audio); bob accepts; both see the other enter. */
async function connected(type: 1 | 2) {
  const alice = await app('alice');
  const bob = await app('bob');
  await alice.run('call', { userID: bob.userID, type });
  await bob.next('INVITED');
  await bob.run('accept');
  await Promise.all([alice.next('USER_ENTER'), bob.next('USER_ENTER')]);
  return { alice, bob };
}

describe('trtc-calling-js app, only the script tag changed', () => {
  test('logs in from another origin without `server`; login resolves code 0; this is the instance', async () => {
    const alice = await app('alice', false);
    const result = await alice.login();
    expect(result).toMatchObject({ code: 0 });
    const ready = await alice.next('SDK_READY');
    expect(ready).toEqual({ key: 'SDK_READY', event: { userID: alice.userID }, self: true });
    expect(await alice.run('getUserID')).toBe(alice.userID);
  });

  test('as an ES module importing /sdk/trtc-calling.mjs from another origin, it logs in too', async () => {
    const userID = `esm_${++n}_${Date.now().toString(36)}`;
    const esm = await App.open(`${appUrl}esm`, userID);
    apps.push(esm);
    expect(await esm.login()).toMatchObject({ code: 0 });
    expect(await esm.run('getUserID')).toBe(userID);
  });

  test('no answer: the caller gets NO_RESP and CALLING_END, the callee CALLING_TIMEOUT', async () => {
    const alice = await app('alice');
    const bob = await app('bob');
    await alice.run('call', { userID: bob.userID, type: 2 });
    await bob.next('INVITED');
    const noResp = await alice.next('NO_RESP', () => true, 0, (INVITE_TIMEOUT_S + 10) * 1000);
    expect(noResp.event).toMatchObject({ sponsor: alice.userID, userIDList: [bob.userID] });
    await alice.next('CALLING_END');
    const timeout = await bob.next('CALLING_TIMEOUT');
    expect(timeout.event).toMatchObject({ sponsor: alice.userID, userIDList: [bob.userID] });
    expect(await alice.run('getCallStatus')).toBe('idle');
    expect(await bob.run('getCallStatus')).toBe('idle');
  });

  test('1:1 video: USER_ACCEPT, views decode, voice volume, toggles, switch to audio, hang-up ends both', async () => {
    const alice = await app('alice');
    const bob = await app('bob');
    const called = await alice.run('call', { userID: bob.userID, type: 2 });
    const invited = await bob.next('INVITED');
    expect(called).toMatchObject({ code: 0, inviteID: invited.event.inviteID });
    expect(invited.event).toMatchObject({
      sponsor: alice.userID,
      isFromGroup: false,
      inviteData: { callType: 2, callEnd: 0 },
    });
    expect(await bob.run('accept')).toMatchObject({ code: 0, callType: 2 });
    expect((await alice.next('USER_ACCEPT')).event).toEqual({ userID: bob.userID });
    await Promise.all([alice.next('USER_ENTER'), bob.next('USER_ENTER')]);
    expect(await alice.run('getCallStatus')).toBe('connected');

    // The template's views.
    await alice.run('startLocalView', { userID: alice.userID, videoViewDomID: 'local' });
    await alice.run('startRemoteView', { userID: bob.userID, videoViewDomID: 'remote' });
    const start = await alice.frames('remote');
    await pollUntil(
      'alice decodes bob',
      () => alice.frames('remote'),
      (f) => f > start + 20,
    );

    // USER_VOICE_VOLUME about every second, 1.0.6's payload, for both users: the fake
    // microphones beep, so bob's volume (his inbound RTP audio level here) rises above 0.
    const volume = await alice.next('USER_VOICE_VOLUME', (e) =>
      (e.volumeMap as { userId: string; audioVolume: number }[]).some(
        (v) => v.userId === bob.userID && v.audioVolume > 0,
      ),
    );
    const volumeMap = volume.event.volumeMap as Record<string, unknown>[];
    expect(volumeMap.map((v) => v.userId).sort()).toEqual([alice.userID, bob.userID].sort());
    for (const entry of volumeMap) {
      expect(Object.keys(entry).sort()).toEqual(['audioVolume', 'userId']);
    }

    // Toggles.
    await bob.run('setMicMute', true);
    await alice.next('USER_AUDIO_AVAILABLE', (e) => e.isAudioAvailable === false);
    await bob.run('setMicMute', false);
    await alice.next('USER_AUDIO_AVAILABLE', (e) => e.isAudioAvailable === true, 1);
    await bob.run('closeCamera');
    await alice.next('USER_VIDEO_AVAILABLE', (e) => e.isVideoAvailable === false);
    await bob.run('openCamera');
    await alice.next('USER_VIDEO_AVAILABLE', (e) => e.isVideoAvailable === true, 1);

    // Switch to audio: the peer follows (camera off on both sides).
    await alice.run('switchToAudioCall');
    await bob.next('USER_VIDEO_AVAILABLE', (e) => e.isVideoAvailable === false);
    expect(await alice.run('getCallType')).toBe(1);

    // The peer of a hang-up learns the call ended on CALLING_END, with who hung up.
    await bob.run('hangup');
    const end = await alice.next('CALLING_END');
    expect(end.event).toMatchObject({ userID: bob.userID, callEnd: expect.any(Number) });
    expect(await bob.count('CALLING_END')).toBe(1);
    expect(await alice.run('getCallStatus')).toBe('idle');
    expect(await alice.count('ERROR')).toBe(0);
  });

  test('a mic muted in call 1 is on in call 2, on both sides, and the peer hears it', async () => {
    const { alice, bob } = await connected(1);
    // bob hears alice (her volume above 0 at his end) before she mutes.
    await bob.next('USER_VOICE_VOLUME', (e) =>
      (e.volumeMap as { userId: string; audioVolume: number }[]).some(
        (v) => v.userId === alice.userID && v.audioVolume > 0,
      ),
    );
    await alice.run('setMicMute', true);
    await bob.next('USER_AUDIO_AVAILABLE', (e) => e.isAudioAvailable === false);
    await alice.run('hangup');
    await bob.next('CALLING_END');

    await alice.run('call', { userID: bob.userID, type: 1 });
    await bob.next('INVITED', () => true, 1);
    await bob.run('accept');
    await bob.next('USER_ENTER', () => true, 1);
    // On entry bob is told alice's mic is on (the second USER_AUDIO_AVAILABLE true he gets).
    await bob.next('USER_AUDIO_AVAILABLE', (e) => e.isAudioAvailable === true, 1);
    // …and it is: what alice sends is an enabled track, and bob hears her again.
    const enabled = await alice.page.evaluate(
      () =>
        (
          (window as unknown as AppWindow).trtcCalling
            .getLocalAudioTrack!() as MediaStreamTrack | null
        )?.enabled,
    );
    expect(enabled).toBe(true);
    const marker = (await bob.received()).length;
    await pollUntil(
      'bob hears alice in call 2',
      () => bob.received(),
      (r) =>
        r
          .slice(marker)
          .some(
            (e) =>
              e.key === 'USER_VOICE_VOLUME' &&
              (e.event.volumeMap as { userId: string; audioVolume: number }[]).some(
                (v) => v.userId === alice.userID && v.audioVolume > 0,
              ),
          ),
    );
  });

  test('reject, cancel and busy reach the app as 1.0.6 events', async () => {
    const alice = await app('alice');
    const bob = await app('bob');
    const carol = await app('carol');

    await alice.run('call', { userID: bob.userID, type: 2 });
    await bob.next('INVITED');
    expect(await bob.run('reject')).toMatchObject({ code: 0 });
    expect((await alice.next('REJECT')).event).toEqual({ userID: bob.userID });

    await alice.run('call', { userID: bob.userID, type: 2 });
    await bob.next('INVITED', () => true, 1);
    await alice.run('hangup');
    await bob.next('CALLING_CANCEL');

    await alice.run('call', { userID: bob.userID, type: 1 });
    await bob.next('INVITED', () => true, 2);
    await bob.run('accept');
    await alice.next('USER_ENTER');
    await carol.run('call', { userID: alice.userID, type: 1 });
    const busy = await carol.next('LINE_BUSY');
    expect(busy.event).toMatchObject({ userID: alice.userID });
    expect(await alice.count('INVITED')).toBe(0);
  });

  test('group: two invitees see isFromGroup, the caller learns each accept, everyone enters', async () => {
    const alice = await app('alice');
    const bob = await app('bob');
    const carol = await app('carol');
    const result = await alice.run('groupCall', {
      userIDList: [bob.userID, carol.userID],
      type: 1,
    });
    expect(result).toMatchObject({ code: 0, data: [{ code: 0 }, { code: 0 }] });
    for (const invitee of [bob, carol]) {
      const invited = await invitee.next('INVITED');
      expect(invited.event).toMatchObject({
        sponsor: alice.userID,
        userIDList: [bob.userID, carol.userID],
        isFromGroup: true,
      });
      await invitee.run('accept');
    }
    for (const invitee of [bob, carol]) {
      await alice.next('USER_ACCEPT', (e) => e.userID === invitee.userID);
      await alice.next('USER_ENTER', (e) => e.userID === invitee.userID);
    }
    await bob.next('USER_ENTER', (e) => e.userID === carol.userID);
    expect(await alice.run('isGroupCall')).toBe(true);
    expect(await alice.run('getRemoteStreamCount')).toBe(2);
    await carol.run('hangup');
    await alice.next('USER_LEAVE', (e) => e.userID === carol.userID);
    await bob.run('hangup');
    await alice.next('CALLING_END');
    expect(await alice.run('getCallStatus')).toBe('idle');
  });

  test('kicked out: the same user logging in elsewhere gets KICKED_OUT here', async () => {
    const first = await app('dup');
    const second = await App.open(appUrl, first.userID);
    apps.push(second);
    await second.login();
    expect((await first.next('KICKED_OUT')).self).toBe(true);
  });
});
