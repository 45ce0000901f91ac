/**
 * The call kit's box on the page, as TUICallKit's: nothing while idle (a page's button under it
 * takes clicks), TUICallKit's default size when the page gives none, the whole screen on a phone,
 * and each toast once. Driven on the demo's kit page, whose CSS sizes the element to its stage
 * (`width: 100%; height: 100%`, as Tencent's demos do).
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { useRingline } from './harness/index.js';
import { UI_TIMEOUT_MS, closeKits, openKit, userID, type KitPage } from './callkit-harness.js';

const ringline = useRingline();

afterEach(async (context) => {
  await closeKits(context);
});

async function box(
  locator: Locator,
): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator.toString()} is not visible`);
  return found;
}

/** The kit's call panel (in its shadow root). */
function panel(kit: KitPage): Locator {
  return kit.page.locator('tui-call-kit .panel').first();
}

/** Puts a button in the middle of the kit's stage, under where the kit draws; returns its centre. */
async function buttonUnderKit(page: Page): Promise<{ x: number; y: number }> {
  await page.evaluate(() => {
    const button = document.createElement('button');
    button.textContent = 'Under the kit';
    button.dataset.testid = 'under-kit';
    button.dataset.clicks = '0';
    // Before the kit in the same grid cell: the kit, drawn later, would be on top of it.
    button.style.cssText = 'grid-area: 1 / 1; place-self: end center; margin-bottom: 40px;';
    button.addEventListener('click', () => {
      button.dataset.clicks = String(Number(button.dataset.clicks) + 1);
    });
    document.querySelector('.stage')!.prepend(button);
  });
  const b = await box(page.locator('[data-testid="under-kit"]'));
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** What the page hit-tests at (x, y): the test id of the element or its tag. */
function hitAt(page: Page, point: { x: number; y: number }): Promise<string> {
  return page.evaluate(({ x, y }) => {
    const el = document.elementFromPoint(x, y) as HTMLElement | null;
    return el?.dataset.testid ?? el?.tagName.toLowerCase() ?? 'nothing';
  }, point);
}

async function clicks(page: Page): Promise<number> {
  return Number(await page.locator('[data-testid="under-kit"]').getAttribute('data-clicks'));
}

async function loggedIn(name: string): Promise<KitPage> {
  const kit = await openKit(ringline, name);
  await kit.login(userID(name));
  return kit;
}

describe('the call kit while idle', () => {
  test('takes no space and lets clicks through to the page; covers it only during a call', async () => {
    const [alice, bob] = await Promise.all([loggedIn('alice'), loggedIn('bob')]);
    const point = await buttonUnderKit(alice.page);

    // Idle: the element has no box although the page's CSS gives it 100% × 100%.
    const host = await alice.tid('kit').evaluate((el) => {
      const rect = el.getBoundingClientRect();
      return { width: rect.width, height: rect.height, display: getComputedStyle(el).display };
    });
    expect(host).toEqual({ width: 0, height: 0, display: 'contents' });
    expect(await hitAt(alice.page, point)).toBe('under-kit');
    await alice.page.mouse.click(point.x, point.y);
    expect(await clicks(alice.page)).toBe(1);
    await alice.screenshot('idle-click-through');
    // A framework rewriting the element's style attribute (Vue's string styles) cannot give it
    // its box back while idle.
    await alice
      .tid('kit')
      .evaluate((el) => el.setAttribute('style', 'display: block; width: 100%; height: 100%'));
    await alice.page.waitForFunction(
      () => getComputedStyle(document.querySelector('tui-call-kit')!).display === 'contents',
      undefined,
      { timeout: UI_TIMEOUT_MS },
    );
    expect(await hitAt(alice.page, point)).toBe('under-kit');

    // In a call the kit covers its stage, the button included.
    await alice.dial(bob.userID, 'audio');
    await alice.waitForStatus('dialing-c2c');
    await panel(alice).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await hitAt(alice.page, point)).toBe('kit');
    const stage = await box(alice.page.locator('section.stage'));
    expect(await box(panel(alice))).toEqual(stage);

    // Cancelled, idle again: the page's button takes clicks again.
    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
    await panel(alice).waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    expect(await hitAt(alice.page, point)).toBe('under-kit');
    await alice.page.mouse.click(point.x, point.y);
    expect(await clicks(alice.page)).toBe(2);
  });

  test('minimized to its floating window, the kit lets clicks through too', async () => {
    const [alice, bob] = await Promise.all([loggedIn('alice'), loggedIn('bob')]);
    const point = await buttonUnderKit(alice.page);
    await alice.dial(bob.userID, 'audio');
    await bob.tid('callkit-accept').click({ timeout: UI_TIMEOUT_MS });
    await alice.waitForStatus('calling-c2c-audio');
    await alice.tid('callkit-minimize').click();
    await alice.tid('callkit-float').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await hitAt(alice.page, point)).toBe('under-kit');
    await alice.page.mouse.click(point.x, point.y);
    expect(await clicks(alice.page)).toBe(1);
    await alice.screenshot('minimized-click-through');
    await alice.tid('callkit-restore').click();
    await panel(alice).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await hitAt(alice.page, point)).toBe('kit');
    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
  });
});

describe('the call kit in a call', () => {
  test('in a container that gives it no size, it shows the call at TUICallKit’s 960 × 630', async () => {
    const [alice, bob] = await Promise.all([loggedIn('alice'), loggedIn('bob')]);
    // No page CSS for the kit, and a flex row around it (where a block with only absolutely
    // placed content would shrink to 0 px wide).
    await alice.page.evaluate(() => {
      for (const link of document.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')) {
        link.disabled = true;
      }
      const row = document.createElement('div');
      row.style.display = 'flex';
      row.append(document.querySelector('tui-call-kit')!);
      document.body.prepend(row);
    });
    await alice.dial(bob.userID, 'video');
    await alice.waitForStatus('dialing-c2c');
    const shown = await box(panel(alice));
    expect({ width: shown.width, height: shown.height }).toEqual({ width: 960, height: 630 });
    const hangup = await box(alice.tid('callkit-hangup'));
    expect(hangup.width).toBeGreaterThan(0);
    expect(hangup.y + hangup.height).toBeLessThanOrEqual(shown.y + shown.height);
    await alice.screenshot('unsized-container');
    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
  });

  test('at a phone’s 390 × 844 the call covers the whole screen, as TUICallKit’s H5 layout', async () => {
    const [alice, bob] = await Promise.all([loggedIn('alice'), loggedIn('bob')]);
    for (const kit of [alice, bob]) await kit.page.setViewportSize({ width: 390, height: 844 });
    const screen = { x: 0, y: 0, width: 390, height: 844 };

    await alice.dial(bob.userID, 'video');
    await alice.waitForStatus('dialing-c2c');
    await bob.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await box(panel(alice))).toEqual(screen);
    expect(await box(panel(bob))).toEqual(screen);
    await Promise.all([alice.screenshot('phone-dialing'), bob.screenshot('phone-incoming')]);

    await bob.tid('callkit-accept').click();
    await Promise.all([
      alice.waitForStatus('calling-c2c-video'),
      bob.waitForStatus('calling-c2c-video'),
    ]);
    for (const kit of [alice, bob]) {
      expect(await box(panel(kit)), kit.name).toEqual(screen);
      // Every control is on screen.
      const hangup = await box(kit.tid('callkit-hangup'));
      expect(hangup.y + hangup.height, kit.name).toBeLessThanOrEqual(844);
      expect(hangup.x + hangup.width, kit.name).toBeLessThanOrEqual(390);
    }
    await Promise.all([alice.screenshot('phone-call'), bob.screenshot('phone-call')]);
    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);
  });
});

describe('the call kit’s toasts', () => {
  test('an error shows one toast, even with two kits on the page', async () => {
    const alice = await loggedIn('alice');
    // A second element renders the same TUICallKitServer.
    await alice.page.evaluate(() => document.body.append(document.createElement('tui-call-kit')));
    expect(await alice.page.locator('tui-call-kit').count()).toBe(2);
    await alice.dial(alice.userID, 'video');
    await alice.waitForLog((line) => line.name === 'call() failed');
    const toasts = alice.page.locator('[data-testid="callkit-toast"]');
    await toasts.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await toasts.count()).toBe(1);
    // The same error again while the first toast shows: still one toast.
    await alice.dial(alice.userID, 'video');
    await alice.page.waitForFunction(
      () =>
        document.querySelectorAll('[data-testid="kit-log"] li[data-name="call() failed"]').length >=
        2,
      undefined,
      { timeout: UI_TIMEOUT_MS },
    );
    expect(await toasts.count()).toBe(1);
    await alice.screenshot('one-toast');
    // The toast is dismissed by its button, all of it.
    await toasts.first().locator('button').click();
    await toasts.first().waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    expect(await toasts.count()).toBe(0);
  });
});
