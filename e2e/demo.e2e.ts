/**
 * The demo app (apps/demo), driven as a person would: two Chromium pages open the server's `/`,
 * log in through the form, call, accept through the prompt, mute, hang up. Media is proven by
 * decoded frames in the demo's own remote views, not by events.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, test } from 'vitest';
import {
  RESULTS_DIR,
  expectFramesRising,
  framesDecoded,
  newUserContext,
  pollUntil,
  useRingline,
} from './harness/index.js';
import { boundedBy } from './harness/wait.js';

const ringline = useRingline();

const UI_TIMEOUT_MS = 15_000;

/** One person using the demo: their own browser context (own fake devices) and one page. */
class DemoPage {
  readonly console: string[] = [];

  private constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (m) => this.console.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.console.push(`[pageerror] ${e.message}`));
  }

  static async open(name: string): Promise<DemoPage> {
    const origin = new URL(ringline.server.url).origin;
    const context = await newUserContext(ringline.browser, origin);
    try {
      const page = await context.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      const demo = new DemoPage(name, context, page);
      await page.goto(`${origin}/`);
      return demo;
    } catch (error) {
      await context.close();
      throw error;
    }
  }

  /** Logs in through the form and waits for the session badge to say ready. */
  async login(userID: string): Promise<void> {
    await this.page.fill('#userID', userID);
    await this.page.click('#login');
    await this.page
      .locator('#session', { hasText: `ready · ${userID}` })
      .waitFor({ timeout: UI_TIMEOUT_MS });
  }

  status(): Promise<string | null> {
    return this.page.textContent('#status');
  }

  /** Waits until `#status` reads exactly `status`. */
  async waitForStatus(status: 'idle' | 'dialing' | 'ringing' | 'in call'): Promise<void> {
    try {
      await this.page.waitForFunction(
        (s) => document.getElementById('status')?.textContent === s,
        status,
        { timeout: UI_TIMEOUT_MS },
      );
    } catch {
      throw new Error(
        `${this.name}: #status never read "${status}" (it reads "${await this.status()}")`,
      );
    }
  }

  /** Waits for a line in the event log panel for `name` whose text contains `text`. */
  async waitForLog(name: string, text = ''): Promise<string> {
    const entry = this.page.locator(`#log li[data-name="${name}"]`, { hasText: text }).first();
    try {
      await entry.waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    } catch {
      const log = await this.page.locator('#log li').allTextContents();
      throw new Error(
        `${this.name}: no ${name} line containing ${JSON.stringify(text)} in the event log:\n  ` +
          log.join('\n  '),
      );
    }
    return (await entry.textContent()) ?? '';
  }

  /** Size of the camera track the page's peer connection sends (capture settings). */
  async sentVideoSize(): Promise<{ width?: number; height?: number } | undefined> {
    const tracks = await this.page.evaluate(() => window.__ringline.sentTracks());
    const video = tracks.find((t) => t.kind === 'video' && t.readyState === 'live');
    return video && { width: video.width, height: video.height };
  }

  /** Lines of the event log for `name`. */
  logLines(name: string): Promise<string[]> {
    return this.page.locator(`#log li[data-name="${name}"]`).allTextContents();
  }

  async screenshot(label: string): Promise<void> {
    await mkdir(RESULTS_DIR, { recursive: true });
    await this.page.screenshot({ path: join(RESULTS_DIR, `demo--${label}--${this.name}.png`) });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

let opened: DemoPage[] = [];

async function openDemo(name: string): Promise<DemoPage> {
  const demo = await DemoPage.open(name);
  opened.push(demo);
  return demo;
}

afterEach(async (context) => {
  const pages = opened;
  opened = [];
  const test = context.task.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80);
  // A final screenshot of every page, also (above all) when the test failed; then close it.
  await Promise.all(
    pages.map(async (demo) => {
      if (!demo.page.isClosed()) {
        await boundedBy(
          demo.screenshot(`${test}--end`).catch(() => undefined),
          5_000,
        );
      }
    }),
  );
  await Promise.all(pages.map((demo) => demo.close()));
});

/** Alice and Bob, each logged in through the form on a page of their own. */
async function aliceAndBob(): Promise<{ alice: DemoPage; bob: DemoPage }> {
  const [alice, bob] = await Promise.all([openDemo('alice'), openDemo('bob')]);
  await Promise.all([alice.login('alice'), bob.login('bob')]);
  return { alice, bob };
}

describe('the demo app: a video call from alice to bob', () => {
  test('rings, connects with video both ways, shows the mute, and hangs up back to idle', async () => {
    const { alice, bob } = await aliceAndBob();
    expect(await alice.status()).toBe('idle');
    expect(await bob.status()).toBe('idle');
    await alice.waitForLog('sdkReady', '"userID":"alice"');

    // Alice calls bob with video.
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call-video');
    await alice.waitForStatus('dialing');

    // Bob's prompt names the caller and the call type; he accepts there.
    await bob.page.locator('#incoming').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await bob.status()).toBe('ringing');
    expect(await bob.page.textContent('#incoming-caller')).toBe('alice');
    expect(await bob.page.textContent('#incoming-type')).toBe('video call');
    await bob.waitForLog('onInvited', '"sponsor":"alice"');
    await bob.page.click('#accept');

    await Promise.all([alice.waitForStatus('in call'), bob.waitForStatus('in call')]);
    expect(await bob.page.isHidden('#incoming')).toBe(true);
    await alice.waitForLog('onUserEnter', '"userID":"bob"');
    await bob.waitForLog('onUserEnter', '"userID":"alice"');

    // Each remote view holds the other's video, and it decodes frames (the harness helper).
    await Promise.all([
      expectFramesRising(alice.page, 'bob', { by: 15 }),
      expectFramesRising(bob.page, 'alice', { by: 15 }),
    ]);
    expect(await alice.page.locator('#remote-view video[data-user-id="bob"]').count()).toBe(1);
    expect(await bob.page.locator('#remote-view video[data-user-id="alice"]').count()).toBe(1);
    // And each sees itself in the local view.
    expect(await alice.page.locator('#local-view video').count()).toBe(1);
    expect(await bob.page.locator('#local-view video').count()).toBe(1);
    // The quality picker's default, 720p, was applied before the call.
    expect(await alice.sentVideoSize()).toEqual({ width: 1280, height: 720 });
    await Promise.all([alice.screenshot('in-call'), bob.screenshot('in-call')]);

    // Alice mutes: bob's log shows USER_AUDIO_AVAILABLE false for her, and his view says so.
    expect(await bob.page.isHidden('#remote-muted')).toBe(true);
    await alice.page.click('#mute');
    const muted = await bob.waitForLog(
      'onUserAudioAvailable',
      '{"userID":"alice","isAudioAvailable":false}',
    );
    expect(muted).toMatch(/^\d\d:\d\d:\d\d\.\d{3}/); // timestamped
    await bob.page.locator('#remote-muted').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // Her button follows once her setMicMute() resolves, which bob's push may overtake.
    await alice.page
      .locator('#mute[aria-pressed="true"]')
      .waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    expect(await alice.page.textContent('#mute')).toContain('Unmute');
    // Muting is not hanging up: bob still decodes alice's video.
    await expectFramesRising(bob.page, 'alice', { by: 10 });
    await Promise.all([alice.screenshot('muted'), bob.screenshot('muted')]);

    // Alice hangs up: both back to idle, bob told that she left and that the call ended.
    await alice.page.click('#hangup');
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    await bob.waitForLog('onUserLeave', '"userID":"alice"');
    await bob.waitForLog('onCallEnd');
    await alice.waitForLog('onCallEnd');
    for (const demo of [alice, bob]) {
      expect(await demo.page.locator('#remote-view video, #local-view video').count()).toBe(0);
      expect(await demo.page.isHidden('#in-call')).toBe(true);
      expect(await demo.page.isEnabled('#call-video')).toBe(true);
    }
    // Neither page logged an error or threw along the way.
    for (const demo of [alice, bob]) {
      expect(await demo.logLines('onError'), `${demo.name}'s ERROR events`).toEqual([]);
      expect(demo.console.filter((line) => line.startsWith('[pageerror]'))).toEqual([]);
    }
    await Promise.all([alice.screenshot('after-hangup'), bob.screenshot('after-hangup')]);
  });
});

describe('the demo app: calls that do not connect', () => {
  test('bob rejects through the prompt: alice is told, both are idle', async () => {
    const { alice, bob } = await aliceAndBob();
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call-audio');
    await bob.page.locator('#incoming').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await bob.page.textContent('#incoming-type')).toBe('audio call');

    await bob.page.click('#reject');
    await alice.waitForLog('onReject', '"userID":"bob"');
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    expect(await alice.page.textContent('#notice')).toBe('bob rejected the call');
    expect(await bob.page.isHidden('#incoming')).toBe(true);
  });

  test('alice cancels while dialing: bob’s prompt goes away with CALLING_CANCEL', async () => {
    const { alice, bob } = await aliceAndBob();
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call-video');
    await alice.waitForStatus('dialing');
    await bob.page.locator('#incoming').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });

    await alice.page.click('#cancel');
    await bob.waitForLog('onCallingCancel', '"sponsor":"alice"');
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    expect(await bob.page.isHidden('#incoming')).toBe(true);
    expect(await bob.page.textContent('#notice')).toBe('alice cancelled the call');
  });

  test('calling yourself is refused with the server’s coded error, and nothing breaks', async () => {
    const alice = await openDemo('alice');
    await alice.login('alice');
    await alice.page.fill('#callee', 'alice');
    await alice.page.click('#call-video');
    const line = await alice.waitForLog('onError', '"code":40302');
    expect(line).toContain('"message"');
    await alice.waitForStatus('idle');
    expect(await alice.page.textContent('#notice')).toContain('40302');
    expect(await alice.page.isEnabled('#call-video')).toBe(true);
  });
});

describe('the demo app: in-call controls', () => {
  test('camera off shows bob a badge; switching to audio and back brings alice’s video back', async () => {
    const { alice, bob } = await aliceAndBob();
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call-video');
    await bob.page.locator('#accept').click({ timeout: UI_TIMEOUT_MS });
    await Promise.all([alice.waitForStatus('in call'), bob.waitForStatus('in call')]);
    await expectFramesRising(bob.page, 'alice');

    await alice.page.click('#camera');
    await bob.waitForLog('onUserVideoAvailable', '{"userID":"alice","isVideoAvailable":false}');
    await bob.page
      .locator('#remote-camera-off')
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await alice.page.click('#camera');
    await bob.waitForLog('onUserVideoAvailable', '{"userID":"alice","isVideoAvailable":true}');
    await bob.page
      .locator('#remote-camera-off')
      .waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });

    // To audio: bob follows (the SDK's CALL_TYPE_CHANGED), and his buttons offer video again.
    await alice.page.click('#to-audio');
    await bob.waitForLog('onCallTypeChanged', '"callType":1');
    await bob.page.waitForFunction(() => document.body.dataset.callType === 'audio');
    expect(await bob.page.isEnabled('#to-video')).toBe(true);
    expect(await alice.page.locator('#local-view video').count()).toBe(0);
    expect(await alice.status()).toBe('in call');

    // Back to video: frames of alice decode in bob's remote view again.
    await alice.page.click('#to-video');
    await bob.waitForLog('onCallTypeChanged', '"callType":2');
    await bob.page.locator('#remote-view video[data-user-id="alice"]').waitFor({
      state: 'attached',
      timeout: UI_TIMEOUT_MS,
    });
    await expectFramesRising(bob.page, 'alice', { by: 15 });
    expect(await framesDecoded(alice.page, 'bob')).toBeGreaterThan(0);
    await Promise.all([alice.screenshot('back-to-video'), bob.screenshot('back-to-video')]);

    await bob.page.click('#hangup');
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
  });

  test('480p chosen before the call sets the capture size; the pickers switch the microphone mid-call', async () => {
    const { alice, bob } = await aliceAndBob();
    // The pickers list the fake devices once logged in.
    await alice.page.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLSelectElement>('#camera-select, #mic-select')].every(
          (select) => select.options.length > 0 && select.options[0]!.value !== '',
        ),
      undefined,
      { timeout: UI_TIMEOUT_MS },
    );
    const mics = await alice.page
      .locator('#mic-select option')
      .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(await alice.page.locator('#camera-select option').count()).toBeGreaterThan(0);
    expect(mics.length).toBeGreaterThan(0);

    await alice.page.selectOption('#quality', '480p');
    await alice.waitForLog("setVideoQuality('480p')");
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call-video');
    await bob.page.locator('#accept').click({ timeout: UI_TIMEOUT_MS });
    await Promise.all([alice.waitForStatus('in call'), bob.waitForStatus('in call')]);
    expect(await alice.page.isDisabled('#quality')).toBe(true);
    expect(await alice.sentVideoSize()).toEqual({ width: 640, height: 480 });
    await expectFramesRising(bob.page, 'alice');

    // Another microphone mid-call: switched without an error, and alice's audio still flows.
    const other = mics[mics.length - 1]!;
    await alice.page.selectOption('#mic-select', other);
    await alice.waitForLog('switchDevice()', other);
    const before = await bob.page.evaluate(() =>
      window.__ringline.rtpStats('inbound-rtp', 'audio'),
    );
    await pollUntil(
      "bob's inbound audio from alice",
      () => bob.page.evaluate(() => window.__ringline.rtpStats('inbound-rtp', 'audio')),
      (now) => now.packets > before.packets + 20,
    );
    expect(await alice.logLines('switchDevice() failed')).toEqual([]);
    expect(await alice.logLines('onError')).toEqual([]);

    await alice.page.click('#hangup');
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    expect(await alice.page.isEnabled('#quality')).toBe(true);
  });
});

describe('the demo app: sessions', () => {
  test('remembers the last user ID, and logging in elsewhere signs the first page out', async () => {
    const first = await openDemo('alice');
    await first.login('alice');
    await first.page.reload();
    expect(await first.page.inputValue('#userID')).toBe('alice');
    await first.login('alice');

    const second = await openDemo('alice-again');
    await second.login('alice');
    await first.waitForLog('onKickedOut');
    await first.page
      .locator('#session', { hasText: 'signed out' })
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await first.page.isVisible('#login-form')).toBe(true);
  });

  test('a malformed user ID is refused in the page, before any request', async () => {
    const alice = await openDemo('alice');
    await alice.page.fill('#userID', 'not valid!');
    await alice.page.click('#login');
    expect(await alice.page.getAttribute('#userID', 'aria-invalid')).toBe('true');
    expect(await alice.page.textContent('#notice')).toContain('1–32 letters');
    expect(await alice.page.textContent('#session')).toBe('signed out');
    expect(await alice.page.locator('#log li').count()).toBe(0);
  });
});
