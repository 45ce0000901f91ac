/**
 * One person on the demo's kit page (`/kit.html`): their own browser context (own fake devices)
 * and page. The kit's UI lives in `<tui-call-kit>`'s shadow root; Playwright's CSS locators pierce
 * open shadow roots, so `tid()` finds the kit's `data-testid`s directly. The kit's callbacks are
 * read from the page's visible callback log (`data-testid="kit-log"`), one `<li>` per call with
 * `data-kind`, `data-name` and the arguments as JSON in `data-args`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import type { TestContext } from 'vitest';
import {
  RESULTS_DIR,
  newUserContext,
  pollUntil,
  type Ringline,
  type SentTrack,
} from './harness/index.js';
import { boundedBy } from './harness/wait.js';

export const UI_TIMEOUT_MS = 15_000;

export interface LogLine {
  kind: string;
  name: string;
  args: unknown[];
}

/** The seconds a call timer's text (`m:ss` or `h:mm:ss`) shows; NaN for anything else. */
export function timerSeconds(text: string): number {
  return text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

/** `name` plus a random suffix, so no test sees another's state on the file's server. */
export function userID(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

export class KitPage {
  readonly console: string[] = [];
  userID = '';

  private constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (m) => this.console.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => this.console.push(`[pageerror] ${e.message}`));
  }

  static async open(ringline: Ringline, name: string, path = '/kit.html'): Promise<KitPage> {
    const origin = new URL(ringline.server.url).origin;
    const context = await newUserContext(ringline.browser, origin);
    try {
      const page = await context.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      const kit = new KitPage(name, context, page);
      await page.goto(`${origin}${path}`);
      return kit;
    } catch (error) {
      await context.close();
      throw error;
    }
  }

  /** An element of the page or of the kit's shadow DOM by `data-testid`. */
  tid(testid: string): Locator {
    return this.page.locator(`[data-testid="${testid}"]`);
  }

  /** Logs in through the page's form (optionally choosing the kit's language first). */
  async login(userID: string, language?: string): Promise<void> {
    this.userID = userID;
    if (language) await this.page.selectOption('[data-testid="kit-language"]', language);
    await this.page.fill('[data-testid="kit-userID"]', userID);
    await this.page.click('[data-testid="kit-login"]');
    try {
      await this.tid('kit-session')
        .filter({ hasText: `ready · ${userID}` })
        .waitFor({
          timeout: UI_TIMEOUT_MS,
        });
    } catch {
      throw new Error(
        `${this.name}: login as ${userID} did not finish; notice: ` +
          `${await this.tid('kit-notice').textContent()}; log:\n  ${(await this.lines()).map((l) => `${l.name} ${JSON.stringify(l.args)}`).join('\n  ')}`,
      );
    }
  }

  /** Fills the callee and clicks the page's video or audio call button. */
  async dial(callee: string, type: 'video' | 'audio'): Promise<void> {
    await this.page.fill('[data-testid="kit-callee"]', callee);
    await this.page.click(`[data-testid="kit-call-${type}"]`);
  }

  /** Every line of the callback log, in order. */
  lines(): Promise<LogLine[]> {
    return this.page.locator('[data-testid="kit-log"] li').evaluateAll((items) =>
      items.map((li) => {
        const { kind = '', name = '', args = '[]' } = (li as HTMLElement).dataset;
        return { kind, name, args: JSON.parse(args) as unknown[] };
      }),
    );
  }

  /** The kit's callbacks named `name` (all callbacks without a name). */
  async callbacks(name?: string): Promise<LogLine[]> {
    return (await this.lines()).filter(
      (l) => l.kind === 'callback' && (name === undefined || l.name === name),
    );
  }

  async callbackNames(): Promise<string[]> {
    return (await this.callbacks()).map((l) => l.name);
  }

  /** Lines the page logged as errors (failed kit API calls). */
  async errors(): Promise<LogLine[]> {
    return (await this.lines()).filter((l) => l.kind === 'error');
  }

  pageErrors(): string[] {
    return this.console.filter((line) => line.startsWith('[pageerror]'));
  }

  /**
   * The statuses `statusChanged` went through: the first `oldStatus`, then each `newStatus`.
   * Throws if one change does not start where the previous one ended (but for TUICallKit's
   * be-invited → `dialing-*` naming of a ringing callee, and a media switch the other side made).
   */
  async statusSequence(): Promise<string[]> {
    const changes = (await this.callbacks('statusChanged')).map(
      (l) => l.args[0] as { oldStatus: string; newStatus: string },
    );
    const sequence: string[] = [];
    for (const { oldStatus, newStatus } of changes) {
      const last = sequence[sequence.length - 1];
      // TUICallKit names a ringing callee's status by its call status when it leaves it:
      // be-invited is followed by dialing-c2c/dialing-group -> next.
      const leavesRinging = last === 'be-invited' && oldStatus.startsWith('dialing-');
      // Only the side that switched the media type is told: the other side's next change starts
      // from the switched status, which the sequence then shows.
      const untoldSwitch = last?.startsWith('calling-') && oldStatus.startsWith('calling-');
      if (untoldSwitch && last !== oldStatus) sequence.push(oldStatus);
      if (sequence.length === 0) sequence.push(oldStatus);
      else if (last !== oldStatus && !leavesRinging && !untoldSwitch) {
        throw new Error(
          `${this.name}: statusChanged went ${oldStatus} -> ${newStatus} after ` +
            `${sequence[sequence.length - 1]}; all: ${JSON.stringify(changes)}`,
        );
      }
      sequence.push(newStatus);
    }
    return sequence;
  }

  /** The last `newStatus` the kit reported (`idle` before any). */
  status(): Promise<string> {
    return this.page.evaluate(() => document.body.dataset.kitStatus ?? 'idle');
  }

  async waitForStatus(status: string): Promise<void> {
    try {
      await this.page.waitForFunction((s) => document.body.dataset.kitStatus === s, status, {
        timeout: UI_TIMEOUT_MS,
      });
    } catch {
      throw new Error(
        `${this.name}: the kit never reported status ${status}; statusChanged: ` +
          JSON.stringify(await this.callbacks('statusChanged')) +
          `; errors: ${JSON.stringify(await this.errors())}`,
      );
    }
  }

  /** Waits until the log holds at least `count` calls of callback `name`. */
  async waitForCallback(name: string, count = 1): Promise<void> {
    try {
      await this.page.waitForFunction(
        ([n, c]) =>
          document.querySelectorAll(
            `[data-testid="kit-log"] li[data-kind="callback"][data-name="${n}"]`,
          ).length >= c,
        [name, count] as const,
        { timeout: UI_TIMEOUT_MS },
      );
    } catch {
      throw new Error(
        `${this.name}: fewer than ${count} ${name} callbacks; callbacks: ` +
          JSON.stringify(await this.callbacks()),
      );
    }
  }

  /** Waits for a log line matching `match` (checked as lines arrive, no sleeps). */
  async waitForLog(match: (line: LogLine) => boolean): Promise<LogLine> {
    const deadline = Date.now() + UI_TIMEOUT_MS;
    for (;;) {
      const lines = await this.lines();
      const found = lines.find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no matching log line in ${JSON.stringify(lines)}`);
      }
      await this.page
        .waitForFunction(
          (n) => document.querySelectorAll('[data-testid="kit-log"] li').length > n,
          lines.length,
          { timeout: Math.max(1, deadline - Date.now()) },
        )
        .catch(() => undefined);
    }
  }

  /** True when text `text` is shown inside the kit's shadow DOM. */
  async kitText(text: string): Promise<boolean> {
    await this.page
      .locator('tui-call-kit')
      .getByText(text)
      .first()
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    return true;
  }

  /** The network bars the kit shows for `userID` (its own in the top bar, others' on their view). */
  network(userID: string): Locator {
    return this.page.locator(`[data-testid="callkit-network"][data-user-id="${userID}"]`).first();
  }

  /** Waits until `userID`'s network bars show one of `levels` (`data-quality`); returns it. */
  async waitForNetworkQuality(userID: string, levels: string[]): Promise<string> {
    const wanted = levels.map((level) => `[data-quality="${level}"]`).join(',');
    try {
      await this.page
        .locator(`[data-testid="callkit-network"][data-user-id="${userID}"]:is(${wanted})`)
        .first()
        .waitFor({ timeout: UI_TIMEOUT_MS });
    } catch {
      throw new Error(
        `${this.name}: ${userID}'s network quality never became ${levels.join(' or ')}; ` +
          `it shows ${await this.network(userID).getAttribute('data-quality')}`,
      );
    }
    return (await this.network(userID).getAttribute('data-quality')) ?? '';
  }

  /** Elements of the kit about `userID` whose speaking indicator is on (or off). */
  speaking(userID: string, on = true): Locator {
    return this.page.locator(`[data-user-id="${userID}"][data-speaking="${on}"]`);
  }

  /**
   * Starts watching, in the page, whether any speaking indicator of `userID` turns on (a view,
   * tile or card of theirs; for the page's own user also the mic button). `spokeSinceWatch` says.
   */
  async watchSpeaking(userID: string): Promise<void> {
    const selectors = [`[data-user-id="${userID}"][data-speaking="true"]`];
    if (userID === this.userID) selectors.push('[data-testid="callkit-mic"][data-speaking="true"]');
    await this.page.evaluate(
      ([id, selector]) => {
        const root = document.querySelector('tui-call-kit')?.shadowRoot;
        if (!root) throw new Error('no <tui-call-kit> shadow root');
        const w = window as unknown as {
          __spoke?: Record<string, { seen: boolean; stop(): void }>;
        };
        w.__spoke ??= {};
        w.__spoke[id]?.stop();
        const entry = { seen: root.querySelector(selector) !== null, stop: () => {} };
        // Every change of the kit's DOM is checked, so even a one-frame indicator is seen.
        const observer = new MutationObserver(() => {
          if (root.querySelector(selector)) entry.seen = true;
        });
        observer.observe(root, { subtree: true, childList: true, attributes: true });
        entry.stop = () => observer.disconnect();
        w.__spoke[id] = entry;
      },
      [userID, selectors.join(',')] as const,
    );
  }

  /** Whether `userID` showed as speaking since `watchSpeaking`; stops watching. */
  spokeSinceWatch(userID: string): Promise<boolean> {
    return this.page.evaluate((id) => {
      const w = window as unknown as { __spoke?: Record<string, { seen: boolean; stop(): void }> };
      const entry = w.__spoke?.[id];
      if (!entry) throw new Error(`not watching ${id}`);
      entry.stop();
      delete w.__spoke![id];
      return entry.seen;
    }, userID);
  }

  /** Waits until the button's aria-label differs from `before` (a toggle was rendered). */
  waitForLabelChange(testid: string, before: string | null): Promise<void> {
    return this.#waitForLabel(testid, before, false);
  }

  /** Waits until the button's aria-label is `label` again. */
  waitForLabel(testid: string, label: string | null): Promise<void> {
    return this.#waitForLabel(testid, label, true);
  }

  async #waitForLabel(testid: string, label: string | null, equal: boolean): Promise<void> {
    try {
      await this.page.waitForFunction(
        ([id, want, eq]) => {
          // The kit renders in shadow roots: search them too.
          const find = (root: Document | ShadowRoot): Element | null => {
            const hit = root.querySelector(`[data-testid="${id}"]`);
            if (hit) return hit;
            for (const el of root.querySelectorAll('*')) {
              const inner = el.shadowRoot ? find(el.shadowRoot) : null;
              if (inner) return inner;
            }
            return null;
          };
          const now = find(document)?.getAttribute('aria-label') ?? null;
          return eq ? now === want : now !== null && now !== want;
        },
        [testid, label, equal] as const,
        { timeout: UI_TIMEOUT_MS },
      );
    } catch {
      const now = await this.tid(testid)
        .first()
        .getAttribute('aria-label')
        .catch(() => null);
      throw new Error(
        `${this.name}: ${testid}'s aria-label stayed ${JSON.stringify(now)} ` +
          `(wanted ${equal ? '' : 'other than '}${JSON.stringify(label)})`,
      );
    }
  }

  /** Waits until the call timer shows at least `seconds` and returns its text. */
  async waitForTimerPast(seconds: number): Promise<string> {
    // A clock has no event to await: poll its text.
    const timer = this.tid('callkit-timer').first();
    return pollUntil(
      `${this.name}'s call timer past ${seconds} s`,
      async () => ((await timer.textContent()) ?? '').trim(),
      (text) => timerSeconds(text) >= seconds,
      { timeoutMs: UI_TIMEOUT_MS, intervalMs: 200 },
    );
  }

  /** The local tracks this page sends of `kind`. */
  async sentTracks(kind: 'audio' | 'video'): Promise<SentTrack[]> {
    const tracks = await this.page.evaluate(() => window.__ringline.sentTracks());
    return tracks.filter((t) => t.kind === kind);
  }

  async sentVideoSize(): Promise<{ width?: number; height?: number } | undefined> {
    const video = (await this.sentTracks('video')).find((t) => t.readyState === 'live');
    return video && { width: video.width, height: video.height };
  }

  async screenshot(label: string): Promise<void> {
    await mkdir(RESULTS_DIR, { recursive: true });
    await this.page.screenshot({ path: join(RESULTS_DIR, `callkit--${label}--${this.name}.png`) });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

let opened: KitPage[] = [];

export async function openKit(ringline: Ringline, name: string, path?: string): Promise<KitPage> {
  const kit = await KitPage.open(ringline, name, path);
  opened.push(kit);
  return kit;
}

/** After each test: a final screenshot and console log of every kit page, then close them. */
export async function closeKits(context: TestContext): Promise<void> {
  const pages = opened;
  opened = [];
  const file = basename(context.task.file?.name ?? 'callkit').replace(/\.e2e\.ts$/, '');
  const test = context.task.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80);
  await mkdir(RESULTS_DIR, { recursive: true });
  await Promise.all(
    pages.map(async (kit) => {
      if (!kit.page.isClosed()) {
        await boundedBy(
          kit.page
            .screenshot({ path: join(RESULTS_DIR, `${file}--${test}--end--${kit.name}.png`) })
            .catch(() => undefined),
          5_000,
        );
      }
      await writeFile(
        join(RESULTS_DIR, `${file}--${test}--${kit.name}.log`),
        kit.console.join('\n') + '\n',
      );
    }),
  );
  await Promise.all(pages.map((kit) => kit.close()));
}
