/** Test support: timers that fire only when the test advances the clock. */
import type { WatchdogClock } from '../media/ConnectionWatchdog.js';

/** A clock whose time moves only when the test says so. */
export class ManualClock implements WatchdogClock {
  now = 0;
  #next = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Runs every timer due within `ms`, in order (bounded: timers may add timers). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (!first || entry[1].at < first[1].at) first = entry;
      if (!first || first[1].at > end) break;
      this.#timers.delete(first[0]);
      this.now = first[1].at;
      first[1].fn();
    }
    this.now = end;
  }

  get pending(): number {
    return this.#timers.size;
  }
}
