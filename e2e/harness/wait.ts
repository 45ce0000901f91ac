import type { Page } from 'playwright-core';
import type { RecordedEvent } from './page-api.js';

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Only consider events recorded at or after this index (see TestUser.mark()). */
  after?: number;
}

export const DEFAULT_EVENT_TIMEOUT_MS = 15_000;

/**
 * Resolves with the first recorded TRTCCalling event named `name` whose payload satisfies
 * `predicate`. Between looks it waits in the page for the next event to be recorded (no sleeps);
 * on timeout the error lists every event the page saw, which usually tells what went wrong.
 */
export async function waitForEvent(
  page: Page,
  name: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  predicate: (payload: any) => boolean = () => true,
  { timeoutMs = DEFAULT_EVENT_TIMEOUT_MS, after = 0 }: WaitOptions = {},
): Promise<RecordedEvent> {
  const deadline = Date.now() + timeoutMs;
  let seen = after;
  for (;;) {
    const fresh = await page.evaluate((from) => window.__ringline.events.slice(from), seen);
    for (const [i, event] of fresh.entries()) {
      if (event.name === name && predicate(event.payload)) return { ...event, index: seen + i };
    }
    seen += fresh.length;
    const remaining = deadline - Date.now();
    try {
      if (remaining <= 0) throw new Error('deadline passed');
      await page.waitForFunction((n) => window.__ringline.events.length > n, seen, {
        timeout: remaining,
        polling: 25,
      });
    } catch {
      const all = await page.evaluate(() => window.__ringline.events).catch(() => []);
      const list = all.map((e) => `${e.name} ${JSON.stringify(e.payload)}`).join('\n  ');
      throw new Error(
        `no ${name} event${predicate.length > 0 ? ' matching the predicate' : ''} within ` +
          `${timeoutMs} ms (after index ${after}); events seen:\n  ${list || '(none)'}`,
      );
    }
  }
}

/** Frames decoded and presented so far by the `<video>` showing `userID` (0 when none). */
export function framesDecoded(page: Page, userID: string): Promise<number> {
  return page.evaluate((id) => window.__ringline.framesOf(id), userID);
}

/**
 * Waits until the `<video>` showing `userID` has decoded `by` more frames than now — proof that
 * media flows, where an event would only prove signalling. Resolves with both counts.
 */
export async function expectFramesRising(
  page: Page,
  userID: string,
  { by = 10, timeoutMs = 15_000 }: { by?: number; timeoutMs?: number } = {},
): Promise<{ before: number; after: number }> {
  const before = await framesDecoded(page, userID);
  try {
    await page.waitForFunction(
      ([id, target]) => window.__ringline.framesOf(id) >= target,
      [userID, before + by] as const,
      { timeout: timeoutMs, polling: 50 },
    );
  } catch {
    const info = await page.evaluate((id) => window.__ringline.videoInfo(id), userID);
    throw new Error(
      `video of ${userID} did not decode ${by} more frames within ${timeoutMs} ms ` +
        `(before: ${before}; now: ${JSON.stringify(info)})`,
    );
  }
  return { before, after: await framesDecoded(page, userID) };
}

/**
 * Polls `read` (e.g. RTP stats, which no event announces) every `intervalMs` until `done` holds;
 * fails at the deadline with the last value read.
 */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `${what}: not reached within ${timeoutMs} ms (last value: ${JSON.stringify(value)})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves/rejects with `promise`, or resolves `undefined` after `ms` — for bounded cleanup. */
export async function boundedBy<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let cancel = () => {};
  const timeout = new Promise<undefined>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancel = () => clearTimeout(timer);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel();
  }
}
