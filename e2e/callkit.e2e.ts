/**
 * The call kit (packages/callkit) on the demo's kit page (`/kit.html`), driven as a person would:
 * each user logs in through the page's form, the page calls TUICallKitServer, and everything after
 * that is clicks on the kit's own buttons. The kit's callbacks are read back from the page's
 * visible callback log; media is proven by frames decoded in the kit's videos.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { expectFramesRising, pollUntil, useRingline } from './harness/index.js';
import type { Locator } from 'playwright-core';
import {
  KitPage,
  UI_TIMEOUT_MS,
  openKit,
  closeKits,
  timerSeconds,
  userID,
} from './callkit-harness.js';

const ringline = useRingline();

afterEach(async (context) => {
  await closeKits(context);
});

/** Where `locator` is on the page (it must be visible). */
async function box(
  locator: Locator,
): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator.toString()} is not visible`);
  return found;
}

/** Alice and Bob on kit pages of their own, both logged in. */
async function aliceAndBob(bobLanguage?: string): Promise<{ alice: KitPage; bob: KitPage }> {
  const [alice, bob] = await Promise.all([openKit(ringline, 'alice'), openKit(ringline, 'bob')]);
  await Promise.all([alice.login(userID('alice')), bob.login(userID('bob'), bobLanguage)]);
  return { alice, bob };
}

describe('the call kit: a 1:1 video call driven by clicks', () => {
  test('dial, ring, accept, mic and camera, minimize and restore, switch to audio, hang up', async () => {
    const { alice, bob } = await aliceAndBob();

    // Alice dials: the kit shows its dialing screen with a cancel button.
    await alice.dial(bob.userID, 'video');
    await alice.waitForStatus('dialing-c2c');
    await alice.tid('callkit-hangup').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // Bob's kit rings, naming alice, with accept and reject.
    await bob.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await bob.waitForStatus('be-invited');
    await expect(bob.kitText(alice.userID)).resolves.toBe(true);
    await expect(bob.tid('callkit-reject').isVisible()).resolves.toBe(true);
    await Promise.all([alice.screenshot('dialing'), bob.screenshot('incoming')]);

    await bob.tid('callkit-accept').click();
    await Promise.all([
      alice.waitForStatus('calling-c2c-video'),
      bob.waitForStatus('calling-c2c-video'),
    ]);
    // Each kit decodes the other's video, and shows a running timer.
    await Promise.all([
      expectFramesRising(alice.page, bob.userID, { by: 15 }),
      expectFramesRising(bob.page, alice.userID, { by: 15 }),
    ]);
    await alice.tid('callkit-timer').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const timer = await alice.waitForTimerPast(1);
    expect(timer).toMatch(/^(\d+:)?\d{1,2}:\d\d$/);
    // The kit's default videoResolution, 480p, is what alice's camera sends.
    expect(await alice.sentVideoSize()).toEqual({ width: 640, height: 480 });

    // Network hints: the SDK's NETWORK_QUALITY (from getStats) leaves "unknown" for each side's
    // own bars (top bar) and the other's (on their view): on loopback, excellent or good.
    for (const [kit, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      for (const who of [kit.userID, other.userID]) {
        const level = await kit.waitForNetworkQuality(who, ['1', '2']);
        const label = await kit.network(who).getAttribute('aria-label');
        expect(label, `${kit.name} about ${who}`).toMatch(
          /^Network quality \(.+\): (excellent|good)$/,
        );
        expect(['1', '2']).toContain(level);
      }
    }
    // Speaking: the fake microphone beeps, and each kit shows its own user speaking on the small
    // (local) view and around the mic button, from the microphone track it sends.
    for (const kit of [alice, bob]) {
      await kit.tid('callkit-small-view').and(kit.speaking(kit.userID)).waitFor({
        timeout: UI_TIMEOUT_MS,
      });
      await kit.page
        .locator('[data-testid="callkit-mic"][data-speaking="true"]')
        .waitFor({ timeout: UI_TIMEOUT_MS });
    }
    await Promise.all([alice.screenshot('c2c-video'), bob.screenshot('c2c-video')]);

    // Remote large, local small; a click on the small view swaps them, another swaps back.
    const large = alice.tid('callkit-large-view');
    expect(await large.getAttribute('data-user-id')).toBe(bob.userID);
    await alice.tid('callkit-small-view').click();
    await alice.page
      .locator(`[data-testid="callkit-large-view"][data-user-id="${alice.userID}"]`)
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await alice.tid('callkit-small-view').getAttribute('data-user-id')).toBe(bob.userID);
    await alice.screenshot('c2c-video-swapped');
    await alice.tid('callkit-small-view').click();
    await alice.page
      .locator(`[data-testid="callkit-large-view"][data-user-id="${bob.userID}"]`)
      .waitFor({ timeout: UI_TIMEOUT_MS });

    // Mic off: alice's button flips, and the track she sends is muted.
    const micLabel = await alice.tid('callkit-mic').getAttribute('aria-label');
    await alice.tid('callkit-mic').click();
    await alice.waitForLabelChange('callkit-mic', micLabel);
    await pollUntil(
      "alice's sent audio track disabled",
      () => alice.sentTracks('audio'),
      (tracks) => tracks.length > 0 && tracks.every((t) => !t.enabled),
    );
    // Muted, her own speaking indicator goes off and stays off while the beeping microphone
    // goes on (two seconds of the call timer, eight meter samples); unmuted, it is back.
    await alice.speaking(alice.userID, false).first().waitFor({ timeout: UI_TIMEOUT_MS });
    await alice.watchSpeaking(alice.userID);
    await alice.waitForTimerPast(timerSeconds(await alice.waitForTimerPast(0)) + 2);
    expect(await alice.spokeSinceWatch(alice.userID)).toBe(false);
    expect(await alice.tid('callkit-mic').getAttribute('data-speaking')).toBe('false');
    await alice.tid('callkit-mic').click();
    await alice.waitForLabel('callkit-mic', micLabel);
    await pollUntil(
      "alice's sent audio track enabled again",
      () => alice.sentTracks('audio'),
      (tracks) => tracks.some((t) => t.enabled && t.readyState === 'live'),
    );
    await alice.tid('callkit-small-view').and(alice.speaking(alice.userID)).waitFor({
      timeout: UI_TIMEOUT_MS,
    });

    // Camera off: alice sends no live video; on again: bob decodes her frames again.
    const cameraLabel = await alice.tid('callkit-camera').getAttribute('aria-label');
    await alice.tid('callkit-camera').click();
    await alice.waitForLabelChange('callkit-camera', cameraLabel);
    await pollUntil(
      "alice's camera off (no live, enabled video sent)",
      () => alice.sentTracks('video'),
      (tracks) => !tracks.some((t) => t.enabled && t.readyState === 'live'),
    );
    await Promise.all([alice.screenshot('camera-off'), bob.screenshot('peer-camera-off')]);
    await alice.tid('callkit-camera').click();
    await alice.waitForLabel('callkit-camera', cameraLabel);
    await expectFramesRising(bob.page, alice.userID, { by: 15 });

    // Minimize to the floating window and restore: onMinimized(false, true) then (true, false).
    await alice.tid('callkit-minimize').click();
    await alice.tid('callkit-float').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await alice.waitForCallback('onMinimized', 1);
    await alice.screenshot('minimized');
    await alice.tid('callkit-restore').click();
    await alice.tid('callkit-float').waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    await alice.waitForCallback('onMinimized', 2);
    expect((await alice.callbacks('onMinimized')).map((c) => c.args)).toEqual([
      [false, true],
      [true, false],
    ]);
    expect(await alice.status()).toBe('calling-c2c-video');

    // A phone-sized window still shows the call with its controls.
    await bob.page.setViewportSize({ width: 360, height: 740 });
    await bob.tid('callkit-hangup').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await bob.screenshot('c2c-video-phone');
    await bob.page.setViewportSize({ width: 1280, height: 800 });

    // Alice switches to audio; bob's kit follows.
    await alice.tid('callkit-switch-media').click();
    // Bob's app is not told (TUICallKit calls statusChanged on the switching side only); his kit's
    // state follows.
    await alice.waitForStatus('calling-c2c-audio');
    await bob.page.waitForFunction(
      () =>
        (window as { TUICallKit?: { TUICallKitServer: { state: { status: string } } } }).TUICallKit
          ?.TUICallKitServer.state.status === 'calling-c2c-audio',
      undefined,
      { timeout: UI_TIMEOUT_MS },
    );
    await pollUntil(
      'no video sent by alice in the audio call',
      () => alice.sentTracks('video'),
      (tracks) => !tracks.some((t) => t.enabled && t.readyState === 'live'),
    );
    await Promise.all([alice.screenshot('c2c-audio'), bob.screenshot('c2c-audio')]);

    // Alice hangs up: both back to idle.
    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    await Promise.all([alice.waitForCallback('afterCalling'), bob.waitForCallback('afterCalling')]);

    expect(await alice.statusSequence()).toEqual([
      'idle',
      'dialing-c2c',
      'calling-c2c-video',
      'calling-c2c-audio',
      'idle',
    ]);
    // Bob was not told of the switch (statusChanged only on the side that switched, as
    // TUICallKit); his last change starts from calling-c2c-audio, which the sequence shows.
    expect(await bob.statusSequence()).toEqual([
      'idle',
      'be-invited',
      'calling-c2c-video',
      'calling-c2c-audio',
      'idle',
    ]);
    expect((await bob.callbacks('statusChanged')).length).toBe(3);
    for (const kit of [alice, bob]) {
      // beforeCalling once, with the media type (2: video) and no error.
      expect(await kit.callbacks('beforeCalling'), kit.name).toEqual([
        { kind: 'callback', name: 'beforeCalling', args: [2] },
      ]);
      const order = await kit.callbackNames();
      // TUICallKit's order: the caller hears statusChanged(idle → dialing) before beforeCalling,
      // the callee beforeCalling before statusChanged(idle → be-invited).
      expect(order.slice(0, 2), kit.name).toEqual(
        kit === alice ? ['statusChanged', 'beforeCalling'] : ['beforeCalling', 'statusChanged'],
      );
      // afterCalling once: after statusChanged(→idle) for alice, who hung up; before it for bob,
      // whose call was ended from the other side (TUICallKit's engine-event handlers).
      expect(
        order.filter((n) => n === 'afterCalling'),
        kit.name,
      ).toHaveLength(1);
      expect(order.slice(-2), kit.name).toEqual(
        kit === alice ? ['statusChanged', 'afterCalling'] : ['afterCalling', 'statusChanged'],
      );
      expect(await kit.callbacks('kickedOut'), kit.name).toEqual([]);
      expect(await kit.errors(), kit.name).toEqual([]);
      expect(kit.pageErrors(), kit.name).toEqual([]);
      // The kit released its videos.
      expect(await kit.page.locator('video[data-user-id]').count(), kit.name).toBe(0);
    }
    await Promise.all([alice.screenshot('after-hangup'), bob.screenshot('after-hangup')]);
  });
});

describe('the call kit: calls that do not connect', () => {
  test('bob rejects: alice gets a toast; caller and callee status sequences', async () => {
    const { alice, bob } = await aliceAndBob();
    await alice.dial(bob.userID, 'audio');
    await bob.tid('callkit-reject').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await bob.tid('callkit-reject').click();

    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    const toast = alice.page.locator('[data-testid="callkit-toast"][data-kind="rejected"]');
    await toast.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await toast.textContent()).toContain(bob.userID);
    // The kit is idle (it has no box then, as TUICallKit renders nothing), yet its toast shows
    // where the call was (64 px below the top edge of the call's place, the stage it filled,
    // centred on it), not over the page's own header; an app moves it with a CSS property.
    const header = await box(alice.page.locator('header.topbar'));
    const kitBox = await box(alice.page.locator('section.stage'));
    let toastBox = await box(toast);
    expect(toastBox.y).toBeGreaterThanOrEqual(header.y + header.height);
    expect(Math.abs(toastBox.y - (kitBox.y + 64))).toBeLessThan(2);
    expect(Math.abs(toastBox.x + toastBox.width / 2 - (kitBox.x + kitBox.width / 2))).toBeLessThan(
      2,
    );
    await alice
      .tid('kit')
      .evaluate((kit) => (kit as HTMLElement).style.setProperty('--callkit-toast-offset', '120px'));
    toastBox = await box(toast);
    expect(Math.abs(toastBox.y - (kitBox.y + 120))).toBeLessThan(2);
    await alice.screenshot('toast-rejected');

    expect(await alice.statusSequence()).toEqual(['idle', 'dialing-c2c', 'idle']);
    expect(await bob.statusSequence()).toEqual(['idle', 'be-invited', 'idle']);
    for (const kit of [alice, bob]) {
      expect(await kit.callbacks('beforeCalling'), kit.name).toEqual([
        { kind: 'callback', name: 'beforeCalling', args: [1] },
      ]);
      await kit.waitForCallback('afterCalling');
      expect(await kit.callbacks('afterCalling'), kit.name).toHaveLength(1);
      expect(kit.pageErrors(), kit.name).toEqual([]);
    }
  });

  test('nobody answers: both kits end after the ring time, alice is told', async () => {
    // Bob's kit speaks Chinese: the prompt's buttons are labelled from the kit's strings.
    const { alice, bob } = await aliceAndBob('zh-cn');
    await alice.page.fill('[data-testid="kit-timeout"]', '3');
    await alice.dial(bob.userID, 'video');
    await bob.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await bob.tid('callkit-accept').getAttribute('aria-label')).toContain('接听');
    await bob.screenshot('incoming-zh-cn');

    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    const toast = alice.page.locator('[data-testid="callkit-toast"][data-kind="no-answer"]');
    await toast.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await toast.textContent()).toContain(bob.userID);
    await alice.screenshot('toast-no-answer');

    expect(await alice.statusSequence()).toEqual(['idle', 'dialing-c2c', 'idle']);
    expect(await bob.statusSequence()).toEqual(['idle', 'be-invited', 'idle']);
    for (const kit of [alice, bob]) {
      await kit.waitForCallback('afterCalling');
      expect(await kit.callbacks('afterCalling'), kit.name).toHaveLength(1);
      expect(kit.pageErrors(), kit.name).toEqual([]);
    }
  });

  test('alice cancels while dialing: bob’s ringing stops with a toast', async () => {
    const { alice, bob } = await aliceAndBob();
    await alice.dial(bob.userID, 'video');
    await alice.waitForStatus('dialing-c2c');
    await bob.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });

    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    await bob.page
      .locator('[data-testid="callkit-toast"][data-kind="cancelled"]')
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await bob.screenshot('toast-cancelled');
    expect(await alice.statusSequence()).toEqual(['idle', 'dialing-c2c', 'idle']);
    expect(await bob.statusSequence()).toEqual(['idle', 'be-invited', 'idle']);
    expect(await bob.tid('callkit-accept').count()).toBe(0);
  });

  test('calling yourself: refused before dialing, beforeCalling reports the error', async () => {
    const alice = await openKit(ringline, 'alice');
    await alice.login(userID('alice'));
    await alice.dial(alice.userID, 'video');
    const failed = await alice.waitForLog((line) => line.name === 'call() failed');
    expect(failed.args).toEqual([expect.objectContaining({ code: 40302 })]);
    // The kit checks what it can before the status moves (as TUICallKit validates its
    // parameters first): no statusChanged at all, beforeCalling once with the media type and the
    // coded error, no afterCalling (no call began).
    expect(await alice.callbacks()).toEqual([
      {
        kind: 'callback',
        name: 'beforeCalling',
        args: [2, expect.objectContaining({ code: 40302 })],
      },
    ]);
    await alice.page
      .locator('[data-testid="callkit-toast"][data-kind="error"]')
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await alice.statusSequence()).toEqual([]);
    expect(await alice.status()).toBe('idle');
    // Nothing was captured: the camera never opened.
    expect(await alice.sentTracks('video')).toEqual([]);
    expect(alice.pageErrors()).toEqual([]);
    await alice.screenshot('toast-error');
  });
});

describe('the call kit: sessions', () => {
  test('logging in elsewhere calls kickedOut and signs the first page out', async () => {
    const id = userID('alice');
    const first = await openKit(ringline, 'alice');
    await first.login(id);
    const second = await openKit(ringline, 'alice-again');
    await second.login(id);
    await first.waitForCallback('kickedOut');
    await first.page
      .locator('[data-testid="kit-session"]', { hasText: 'signed out' })
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await first.page.isVisible('[data-testid="kit-login-form"]')).toBe(true);
    expect(await second.callbacks('kickedOut')).toEqual([]);
  });

  test('the SDK demo links to the kit page', async () => {
    const kit = await openKit(ringline, 'visitor', '/');
    await kit.page.click('[data-testid="kit-link"]');
    await kit.page.waitForURL(/\/kit\.html$/);
    await kit.page.locator('[data-testid="kit-login-form"]').waitFor({ timeout: UI_TIMEOUT_MS });
    // The kit bundle loaded from the server and defined its element.
    expect(await kit.page.evaluate(() => customElements.get('tui-call-kit') !== undefined)).toBe(
      true,
    );
  });
});
