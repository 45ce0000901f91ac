/**
 * Runs a TUICallKit quick-start app (e2e/compat/apps/react or /vue, written as Tencent's docs
 * write it, importing `@ringline/callkit/react|vue`) in Chromium: bundles it with esbuild at test
 * time, serves it from its own HTTP server (another origin than the Ringline server), and drives
 * each user through the app's own inputs and buttons and the kit's buttons. The suite is shared
 * by the React and the Vue file: the same flows must hold for both.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { newUserContext } from '../harness/chromium.js';
import { expectFramesRising, pollUntil, useRingline, type SentTrack } from '../harness/index.js';
import { UI_TIMEOUT_MS, userID } from '../callkit-harness.js';

const APPS = fileURLToPath(new URL('./apps/', import.meta.url));

/** Compiles `.vue` single-file components (script setup, template inlined), as Vite's plugin does. */
const vuePlugin: Plugin = {
  name: 'vue-sfc',
  setup(b) {
    b.onLoad({ filter: /\.vue$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const sfc = await import('vue/compiler-sfc');
      const { descriptor, errors } = sfc.parse(await readFile(args.path, 'utf8'), {
        filename: args.path,
      });
      if (errors.length) throw new Error(`${args.path}: ${String(errors[0])}`);
      const script = sfc.compileScript(descriptor, { id: 'app', inlineTemplate: true });
      return { contents: script.content, loader: 'js', resolveDir: APPS + 'vue' };
    });
  },
};

/** The app bundled into one ES module, with the SDKAppID and server URL its config would hold. */
async function bundle(kind: 'react' | 'vue', sdkAppID: number, server: string): Promise<string> {
  const result = await build({
    entryPoints: [APPS + (kind === 'react' ? 'react/main.tsx' : 'vue/main.js')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    plugins: [vuePlugin],
    define: {
      __SDK_APP_ID__: String(sdkAppID),
      __RINGLINE_SERVER__: JSON.stringify(server),
      'process.env.NODE_ENV': '"production"',
      __VUE_OPTIONS_API__: 'true',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

interface KitLogEntry {
  name: string;
  arg?: { oldStatus?: string; newStatus?: string };
}

/** One person using the app in their own browser context. */
class AppUser {
  readonly dialogs: string[] = [];
  readonly errors: string[] = [];
  userID = '';

  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    // The quick-start alerts "TUICallKit init succeed"; a listener accepts the dialog.
    page.on('dialog', (d) => {
      this.dialogs.push(d.message());
      void d.accept();
    });
    page.on('pageerror', (e) => this.errors.push(e.message));
  }

  /** Types the caller ID and clicks "step1. init"; waits for the app's success alert. */
  async init(id: string, sig: string): Promise<void> {
    this.userID = id;
    await this.page.evaluate(
      ([u, s]) => {
        const w = window as unknown as { __userSigs?: Record<string, string> };
        (w.__userSigs ??= {})[u] = s;
      },
      [id, sig] as const,
    );
    await this.page.getByPlaceholder('input caller userID', { exact: true }).fill(id);
    await this.page.getByRole('button', { name: 'step1. init' }).click();
    const deadline = Date.now() + UI_TIMEOUT_MS;
    while (!this.dialogs.includes('TUICallKit init succeed')) {
      if (Date.now() > deadline || this.errors.length) {
        throw new Error(`${this.name}: init did not succeed; errors: ${this.errors.join('; ')}`);
      }
      await this.page.waitForEvent('dialog', { timeout: 1_000 }).catch(() => undefined);
    }
  }

  /** Types the callee ID and clicks "step2. call" (a video call, as the quick-start makes). */
  async call(callee: string): Promise<void> {
    await this.page.getByPlaceholder('input callee userID', { exact: true }).fill(callee);
    await this.page.getByRole('button', { name: 'step2. call' }).click();
  }

  /** A button of the kit (its UI lives in `<tui-call-kit>`'s open shadow root). */
  button(testid: string) {
    return this.page.locator(`[data-testid="${testid}"]`).first();
  }

  async click(testid: string): Promise<void> {
    await this.button(testid).click({ timeout: UI_TIMEOUT_MS });
  }

  /** The local tracks this page sends of `kind` (from the in-page harness). */
  async sentTracks(kind: 'audio' | 'video'): Promise<SentTrack[]> {
    const tracks = await this.page.evaluate(() => window.__ringline.sentTracks());
    return tracks.filter((t) => t.kind === kind);
  }

  log(): Promise<KitLogEntry[]> {
    return this.page.evaluate(
      () => (window as unknown as { __kitLog?: KitLogEntry[] }).__kitLog ?? [],
    );
  }

  /** statusChanged and afterCalling in the order the app heard them, as `old->new` strings. */
  async heard(): Promise<string[]> {
    return (await this.log()).map((e) =>
      e.name === 'statusChanged' ? `${e.arg?.oldStatus}->${e.arg?.newStatus}` : e.name,
    );
  }

  /** Waits until the last statusChanged the app heard went to `status`. */
  async waitForStatus(status: string): Promise<void> {
    try {
      await this.page.waitForFunction(
        (s) => {
          const log = (window as unknown as { __kitLog?: KitLogEntry[] }).__kitLog ?? [];
          const changes = log.filter((e) => e.name === 'statusChanged');
          return changes[changes.length - 1]?.arg?.newStatus === s;
        },
        status,
        { timeout: UI_TIMEOUT_MS },
      );
    } catch {
      throw new Error(
        `${this.name}: status never became ${status}; heard ${JSON.stringify(await this.heard())}`,
      );
    }
  }

  /** Waits until the app heard `count` entries named `name` (e.g. afterCalling). */
  async waitForHeard(entry: string, count = 1): Promise<void> {
    try {
      await this.page.waitForFunction(
        ([n, c]) =>
          ((window as unknown as { __kitLog?: KitLogEntry[] }).__kitLog ?? []).filter(
            (e) => e.name === n,
          ).length >= c,
        [entry, count] as const,
        { timeout: UI_TIMEOUT_MS },
      );
    } catch {
      throw new Error(`${this.name}: no ${entry}; heard ${JSON.stringify(await this.heard())}`);
    }
  }
}

export function describeQuickStartApp(kind: 'react' | 'vue'): void {
  // Invitations time out after 3 s here (TUICallKit's default is 30 s), so "no answer" is quick.
  // With the SFU, for the group call.
  const ringline = useRingline({ inviteTimeout: 3, sfu: true });
  let appServer: Server;
  let appUrl: string;
  const users: AppUser[] = [];

  beforeAll(async () => {
    const js = await bundle(kind, ringline.server.sdkAppID, ringline.server.url);
    const root = kind === 'react' ? 'root' : 'app';
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>${kind}</title></head>
<body><div id="${root}"></div><script type="module" src="/main.js"></script></body></html>`;
    appServer = createServer((req, res) => {
      const isJs = req.url === '/main.js';
      res.writeHead(200, {
        'content-type': isJs ? 'text/javascript' : 'text/html; charset=utf-8',
      });
      res.end(isJs ? js : html);
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
    for (const u of users.splice(0)) await u.context.close();
  });

  async function open(name: string, id = userID(name)): Promise<AppUser> {
    const context = await newUserContext(ringline.browser, new URL(appUrl).origin);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const u = new AppUser(name, context, page);
    users.push(u);
    await page.goto(appUrl);
    await page.getByRole('button', { name: 'step1. init' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await u.init(id, ringline.server.userSig(id));
    return u;
  }

  /** alice calls bob from the app; bob's kit rings. */
  async function ringing(): Promise<{ alice: AppUser; bob: AppUser }> {
    const alice = await open('alice');
    const bob = await open('bob');
    await alice.call(bob.userID);
    await alice.waitForStatus('dialing-c2c');
    await bob.button('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await bob.waitForStatus('be-invited');
    return { alice, bob };
  }

  describe(`TUICallKit ${kind} quick-start app, only the import changed`, () => {
    test('init from another origin: the app alerts success, the idle kit blocks no clicks', async () => {
      const alice = await open('alice');
      expect(alice.dialogs).toEqual(['TUICallKit init succeed']);
      // The idle kit renders nothing over the page: the call button is clickable (not covered).
      await alice.page.getByRole('button', { name: 'step2. call' }).click({ trial: true });
      expect(alice.errors).toEqual([]);
    });

    test('1:1 video: accept, both decode, hang-up; statuses and afterCalling as TUICallKit', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-accept');
      await Promise.all([
        alice.waitForStatus('calling-c2c-video'),
        bob.waitForStatus('calling-c2c-video'),
      ]);
      await Promise.all([
        expectFramesRising(alice.page, bob.userID, { by: 15 }),
        expectFramesRising(bob.page, alice.userID, { by: 15 }),
      ]);
      await bob.click('callkit-hangup');
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      await alice.waitForHeard('afterCalling');
      // The peer of the hang-up: afterCalling, then →idle; the one who hung up: the reverse.
      expect(await alice.heard()).toEqual([
        'idle->dialing-c2c',
        'dialing-c2c->calling-c2c-video',
        'afterCalling',
        'calling-c2c-video->idle',
      ]);
      await bob.waitForHeard('afterCalling');
      expect(await bob.heard()).toEqual([
        'idle->be-invited',
        'dialing-c2c->calling-c2c-video',
        'calling-c2c-video->idle',
        'afterCalling',
      ]);
      expect([...alice.errors, ...bob.errors]).toEqual([]);
    });

    test('reject: the callee clicks reject, both return to idle', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-reject');
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      expect((await bob.heard()).slice(0, 2)).toEqual(['idle->be-invited', 'dialing-c2c->idle']);
      expect((await alice.heard())[0]).toBe('idle->dialing-c2c');
      expect(await alice.heard()).toContain('dialing-c2c->idle');
    });

    test('cancel: the caller hangs up while ringing; the callee hears afterCalling, then →idle', async () => {
      const { alice, bob } = await ringing();
      await alice.click('callkit-hangup');
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      await bob.waitForHeard('afterCalling');
      expect(await bob.heard()).toEqual(['idle->be-invited', 'afterCalling', 'dialing-c2c->idle']);
    });
    test('no answer: both return to idle; the callee hears afterCalling, then →idle', async () => {
      const { alice, bob } = await ringing();
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      await bob.waitForHeard('afterCalling');
      expect(await bob.heard()).toEqual(['idle->be-invited', 'afterCalling', 'dialing-c2c->idle']);
      expect((await alice.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->dialing-c2c',
        'dialing-c2c->idle',
      ]);
    });

    test('busy: a third user calling someone in a call is told they are busy; the call goes on', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-accept');
      await alice.waitForStatus('calling-c2c-video');
      const carol = await open('carol');
      await carol.call(alice.userID);
      await carol.page
        .locator('[data-testid="callkit-toast"]')
        .filter({ hasText: `${alice.userID} is busy` })
        .first()
        .waitFor({ timeout: UI_TIMEOUT_MS });
      await carol.waitForStatus('idle');
      expect(await alice.heard()).not.toContain('idle->be-invited');
      expect((await alice.heard()).at(-1)).toBe('dialing-c2c->calling-c2c-video');
      await expectFramesRising(bob.page, alice.userID, { by: 10 });
    });

    test('toggles and switch to audio: mic and camera off and on, then audio; statusChanged on the switching side only', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-accept');
      await Promise.all([
        alice.waitForStatus('calling-c2c-video'),
        bob.waitForStatus('calling-c2c-video'),
      ]);
      await alice.click('callkit-mic');
      await pollUntil(
        "alice's sent audio disabled",
        () => alice.sentTracks('audio'),
        (tracks) => tracks.length > 0 && tracks.every((t) => !t.enabled),
      );
      await alice.click('callkit-mic');
      await pollUntil(
        "alice's sent audio enabled again",
        () => alice.sentTracks('audio'),
        (tracks) => tracks.some((t) => t.enabled && t.readyState === 'live'),
      );
      await alice.click('callkit-camera');
      await pollUntil(
        "alice's camera off (no live, enabled video sent)",
        () => alice.sentTracks('video'),
        (tracks) => !tracks.some((t) => t.enabled && t.readyState === 'live'),
      );
      await alice.click('callkit-camera');
      await expectFramesRising(bob.page, alice.userID, { by: 10 });

      await alice.click('callkit-switch-media');
      await alice.waitForStatus('calling-c2c-audio');
      await pollUntil(
        'no video sent by alice in the audio call',
        () => alice.sentTracks('video'),
        (tracks) => !tracks.some((t) => t.enabled && t.readyState === 'live'),
      );
      await alice.click('callkit-hangup');
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      expect((await alice.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->dialing-c2c',
        'dialing-c2c->calling-c2c-video',
        'calling-c2c-video->calling-c2c-audio',
        'calling-c2c-audio->idle',
      ]);
      // Bob's app is not told of the switch; his last change starts from the switched status.
      expect((await bob.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->be-invited',
        'dialing-c2c->calling-c2c-video',
        'calling-c2c-audio->idle',
      ]);
    });

    test('kicked out: the same user initialising in another browser; kickedOut, then →idle', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-accept');
      await bob.waitForStatus('calling-c2c-video');
      await open('bob-again', bob.userID);
      await bob.waitForHeard('kickedOut');
      await bob.waitForStatus('idle');
      const heard = await bob.heard();
      expect(heard.indexOf('calling-c2c-video->idle')).toBeGreaterThan(heard.indexOf('kickedOut'));
      const kicked = (await bob.log()).find((e) => e.name === 'kickedOut');
      expect(typeof kicked?.arg).toBe('object');
      await alice.waitForStatus('idle');
    });
    test('blur on (setBlurBackground(true)) in a video call: a new track is sent and the peer still decodes it', async () => {
      const { alice, bob } = await ringing();
      await bob.click('callkit-accept');
      await Promise.all([
        alice.waitForStatus('calling-c2c-video'),
        bob.waitForStatus('calling-c2c-video'),
      ]);
      await expectFramesRising(bob.page, alice.userID, { by: 10 });
      const [camera] = (await alice.sentTracks('video')).filter((t) => t.readyState === 'live');
      expect(camera?.deviceId, 'the camera is sent before blur').toBeTruthy();
      await alice.page.getByRole('button', { name: 'blur on' }).click();
      // The sent video becomes the blurred canvas track (no camera deviceId), live.
      await pollUntil(
        "alice sends the blurred track instead of the camera's",
        () => alice.sentTracks('video'),
        (tracks) => tracks.some((t) => t.readyState === 'live' && t.deviceId !== camera!.deviceId),
        { timeoutMs: 30_000 },
      );
      await expectFramesRising(bob.page, alice.userID, { by: 15 });
      expect([...alice.errors, ...bob.errors]).toEqual([]);
    });

    test('group call: calls() with two callees; both accept and everyone decodes everyone', async () => {
      const alice = await open('alice');
      const bob = await open('bob');
      const carol = await open('carol');
      await alice.page
        .getByPlaceholder('input callee userIDs')
        .fill(`${bob.userID},${carol.userID}`);
      await alice.page.getByRole('button', { name: 'group call' }).click();
      await alice.waitForStatus('dialing-group');
      for (const invitee of [bob, carol]) {
        await invitee
          .button('callkit-accept')
          .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
        await invitee.click('callkit-accept');
      }
      await Promise.all([alice, bob, carol].map((u) => u.waitForStatus('calling-group-video')));
      const pairs: [AppUser, AppUser][] = [
        [alice, bob],
        [alice, carol],
        [bob, alice],
        [bob, carol],
        [carol, alice],
        [carol, bob],
      ];
      for (const [viewer, shown] of pairs) {
        await expectFramesRising(viewer.page, shown.userID, { by: 10 });
      }
      await alice.click('callkit-hangup');
      await alice.waitForStatus('idle');
      await bob.click('callkit-hangup');
      await Promise.all([bob.waitForStatus('idle'), carol.waitForStatus('idle')]);
      expect((await alice.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->dialing-group',
        'dialing-group->calling-group-video',
        'calling-group-video->idle',
      ]);
      expect((await bob.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->be-invited',
        'dialing-group->calling-group-video',
        'calling-group-video->idle',
      ]);
    });
    test('1:1 audio: accept, each hears the other, hang-up; audio statuses', async () => {
      const alice = await open('alice');
      const bob = await open('bob');
      await alice.page.getByPlaceholder('input callee userID', { exact: true }).fill(bob.userID);
      await alice.page.getByRole('button', { name: 'audio call' }).click();
      await alice.waitForStatus('dialing-c2c');
      await bob.click('callkit-accept');
      await Promise.all([
        alice.waitForStatus('calling-c2c-audio'),
        bob.waitForStatus('calling-c2c-audio'),
      ]);
      // Sound (not silence) arrives at each side: the fake microphones beep.
      for (const listener of [alice, bob]) {
        const before = await listener.page.evaluate(() =>
          window.__ringline.rtpStats('inbound-rtp', 'audio'),
        );
        await pollUntil(
          `${listener.name} hears the other`,
          () => listener.page.evaluate(() => window.__ringline.rtpStats('inbound-rtp', 'audio')),
          (now) => now.audioEnergy > before.audioEnergy,
        );
      }
      expect(await alice.sentTracks('video')).toEqual([]);
      await alice.click('callkit-hangup');
      await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
      expect((await bob.heard()).filter((h) => h.includes('->'))).toEqual([
        'idle->be-invited',
        'dialing-c2c->calling-c2c-audio',
        'calling-c2c-audio->idle',
      ]);
    });
  });
}
