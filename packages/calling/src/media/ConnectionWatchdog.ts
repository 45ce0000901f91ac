import type { Logger } from '../util/logger.js';

/**
 * How long a media connection may take to connect and to come back, ms. Defaults keep a call that
 * cannot connect well inside 45 s of accept, and restart often enough that media resumes within
 * about a second of the network path coming back.
 */
export interface ConnectionTimings {
  /** A connected connection that reports `disconnected` this long is restarted (default 1500). */
  disconnectedGraceMs: number;
  /** First wait between ICE restarts while the connection is down (default 1000)... */
  restartIntervalMs: number;
  /** ...doubling up to this (default 2000): each restart is one offer/answer, cheap. */
  maxRestartIntervalMs: number;
  /** A connection not connected this long after it started gets an ICE restart (default 10000). */
  connectRestartMs: number;
  /** A connection never connected this long after it started has failed (default 30000). */
  connectTimeoutMs: number;
  /** A connection lost and not back this long after the loss has failed (default 20000). */
  recoveryTimeoutMs: number;
}

export const defaultConnectionTimings: Readonly<ConnectionTimings> = Object.freeze({
  disconnectedGraceMs: 1_500,
  restartIntervalMs: 1_000,
  maxRestartIntervalMs: 2_000,
  connectRestartMs: 10_000,
  connectTimeoutMs: 30_000,
  recoveryTimeoutMs: 20_000,
});

/** The timers the watchdog uses (the global ones by default; fake ones in tests). */
export interface WatchdogClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: WatchdogClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Where a watched connection stands. */
export enum WatchState {
  /** Not connected yet. */
  Connecting = 'connecting',
  Connected = 'connected',
  /** Was connected, lost its path: ICE restarts are under way. */
  Recovering = 'recovering',
  /** Never connected, or did not come back in time: the call cannot go on (terminal). */
  Failed = 'failed',
  /** The connection was closed (terminal). */
  Closed = 'closed',
}

const transitions: Readonly<Record<WatchState, readonly WatchState[]>> = {
  [WatchState.Connecting]: [WatchState.Connected, WatchState.Failed, WatchState.Closed],
  [WatchState.Connected]: [WatchState.Recovering, WatchState.Closed],
  [WatchState.Recovering]: [WatchState.Connected, WatchState.Failed, WatchState.Closed],
  [WatchState.Failed]: [WatchState.Closed],
  [WatchState.Closed]: [],
};

type TimerName = 'deadline' | 'retry' | 'grace' | 'connectRestart' | 'suspect';

/** What the watchdog asks of the connection's owner. */
export interface WatchdogHooks {
  /** Restart ICE now (a new offer with new ICE credentials). */
  restart(): void;
  /** The connection failed for good (`reason` says how); it is not watched any more. */
  fail(reason: string): void;
  /** The connection is back after being reported `disconnected` or `failed`. */
  recovered?(): void;
}

/**
 * Watches one peer connection's `connectionState` (not `iceConnectionState`, which Chromium leaves
 * at `disconnected`) and decides when to restart ICE and when to give up:
 *
 * - connecting: a restart after `connectRestartMs` or on `failed`, then retries with backoff;
 *   not connected after `connectTimeoutMs` (and at least one restart) → failed;
 * - connected: `disconnected` for `disconnectedGraceMs`, or `failed` → recovering;
 * - recovering: a restart at once, then retries with backoff (`restartIntervalMs` doubling up to
 *   `maxRestartIntervalMs`) while down; `connected` → connected; `recoveryTimeoutMs` → failed;
 * - suspected (still connected, but the owner saw its media stop): a restart at once and retries
 *   as when recovering, until `cleared()` or a real loss; never a failure by itself.
 *
 * All state changes go through one setter; timers come from an injected clock.
 */
export class ConnectionWatchdog {
  #state = WatchState.Connecting;
  #restarts = 0;
  #retryMs: number;
  // Connected, but the owner saw the media stop (suspect()): restarting before Chromium notices.
  #suspected = false;
  // deadline: of the current phase (connect or recovery); retry: the next restart; grace: how long
  // `disconnected` is tolerated; connectRestart: the first restart of a slow connect.
  readonly #timers = new Map<TimerName, unknown>();
  readonly #timings: ConnectionTimings;

  constructor(
    private readonly label: string,
    private readonly hooks: WatchdogHooks,
    private readonly log: Logger,
    timings: Partial<ConnectionTimings> = {},
    private readonly clock: WatchdogClock = systemClock,
  ) {
    this.#timings = { ...defaultConnectionTimings, ...definedOnly(timings) };
    this.#retryMs = this.#timings.restartIntervalMs;
    this.#start('deadline', this.#timings.connectTimeoutMs, () => this.#connectTimedOut());
    this.#start('connectRestart', this.#timings.connectRestartMs, () => {
      if (this.#state === WatchState.Connecting && this.#restarts === 0) this.#restartNow();
    });
  }

  get state(): WatchState {
    return this.#state;
  }

  /** ICE restarts asked for so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * The connection is down and restarting has not brought it back (yet): recovering, failed, or
   * still connecting after a restart. A call ended by the other side meanwhile is reported as a
   * media failure on this side too.
   */
  get down(): boolean {
    return (
      this.#state === WatchState.Recovering ||
      this.#state === WatchState.Failed ||
      (this.#state === WatchState.Connecting && this.#restarts > 0)
    );
  }

  /** The owner saw the media stop while the connection still reports `connected` (suspect()). */
  get suspected(): boolean {
    return this.#suspected;
  }

  /**
   * The connection says `connected` but its media stopped (e.g. the peer's audio, for a second):
   * the path is most likely dead, seconds before Chromium reports `disconnected` (~5 s). ICE is
   * restarted at once and retried as while recovering, but a suspicion alone never fails the call
   * (media can stop for reasons of its own); a real loss still goes through `disconnected`.
   */
  suspect(): void {
    if (this.#state !== WatchState.Connected || this.#suspected) return;
    this.#suspected = true;
    this.log.info(`${this.label} connection: media stopped, restarting ICE before it is reported`);
    // Retries stop after as long as a recovery may take; the suspicion itself stays until cleared.
    this.#start('suspect', this.#timings.recoveryTimeoutMs, () => this.#clear('retry'));
    this.#restartNow();
  }

  /**
   * The media flows again after suspect(): retries stop. Returns whether there was a suspicion
   * (then the `recovered` hook ran).
   */
  cleared(): boolean {
    if (!this.#suspected) return false;
    this.#suspected = false;
    this.#clear('retry', 'suspect');
    this.#retryMs = this.#timings.restartIntervalMs;
    this.log.info(`${this.label} connection: media flows again`);
    this.#recovered();
    return true;
  }

  /** Feeds the connection's new `connectionState`. */
  update(connectionState: RTCPeerConnectionState): void {
    switch (this.#state) {
      case WatchState.Connecting:
        if (connectionState === 'connected') this.#set(WatchState.Connected);
        else if (connectionState === 'failed' && !this.#timers.has('retry')) this.#restartNow();
        break;
      case WatchState.Connected:
        if (connectionState === 'failed') this.#set(WatchState.Recovering);
        else if (connectionState === 'disconnected') this.#startGrace();
        else if (connectionState === 'connected' && this.#timers.has('grace')) {
          this.#clear('grace');
          this.#recovered();
        }
        break;
      case WatchState.Recovering:
        if (connectionState === 'connected') {
          this.#set(WatchState.Connected);
          this.#recovered();
        }
        // A restart that failed outright is retried at once rather than at the next interval.
        else if (connectionState === 'failed' && !this.#timers.has('retry')) this.#restartNow();
        break;
      default:
        break;
    }
  }

  /** Stops watching (the connection closed or the call ended). Idempotent. */
  close(): void {
    if (this.#state !== WatchState.Closed) this.#set(WatchState.Closed);
  }

  /** The one way the state changes: logs, refuses moves the table does not allow, sets timers. */
  #set(next: WatchState): void {
    const prev = this.#state;
    if (prev === next) return;
    if (!transitions[prev].includes(next)) {
      this.log.error(`${this.label} watchdog ${prev} -> ${next} refused`);
      return;
    }
    this.#state = next;
    this.log.info(`${this.label} connection ${prev} -> ${next}`);
    this.#clear('deadline', 'retry', 'grace', 'connectRestart', 'suspect');
    this.#suspected = false;
    switch (next) {
      case WatchState.Connected:
        this.#retryMs = this.#timings.restartIntervalMs;
        break;
      case WatchState.Recovering:
        this.#start('deadline', this.#timings.recoveryTimeoutMs, () =>
          this.#fail(`not back within ${this.#timings.recoveryTimeoutMs} ms of the loss`),
        );
        this.#restartNow();
        break;
      case WatchState.Failed:
      case WatchState.Closed:
        break;
      default:
        break;
    }
  }

  #recovered(): void {
    try {
      this.hooks.recovered?.();
    } catch (error) {
      this.log.warn(`${this.label} recovery hook failed`, error);
    }
  }

  #connectTimedOut(): void {
    if (this.#state !== WatchState.Connecting) return;
    if (this.#restarts === 0) {
      // Give up only after at least one ICE restart had its chance.
      this.#restartNow();
      this.#start('deadline', this.#timings.maxRestartIntervalMs, () =>
        this.#fail('never connected'),
      );
      return;
    }
    this.#fail(`never connected within ${this.#timings.connectTimeoutMs} ms`);
  }

  #fail(reason: string): void {
    if (this.#state === WatchState.Failed || this.#state === WatchState.Closed) return;
    this.#set(WatchState.Failed);
    this.log.warn(`${this.label} connection failed: ${reason}`);
    this.hooks.fail(reason);
  }

  #startGrace(): void {
    if (this.#timers.has('grace')) return;
    this.#start('grace', this.#timings.disconnectedGraceMs, () => {
      if (this.#state === WatchState.Connected) this.#set(WatchState.Recovering);
    });
  }

  /** Restarts ICE and schedules the next attempt (with backoff) in case this one does not help. */
  #restartNow(): void {
    this.#clear('retry');
    this.#restarts++;
    this.log.info(`${this.label} connection: ICE restart #${this.#restarts}`);
    try {
      this.hooks.restart();
    } catch (error) {
      this.log.warn(`${this.label} ICE restart failed`, error);
    }
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.#timings.maxRestartIntervalMs);
    this.#start('retry', wait, () => {
      if (
        this.#state === WatchState.Recovering ||
        this.#state === WatchState.Connecting ||
        (this.#state === WatchState.Connected && this.#suspected)
      ) {
        this.#restartNow();
      }
    });
  }

  #start(name: TimerName, ms: number, fn: () => void): void {
    this.#clear(name);
    const handle = this.clock.setTimeout(() => {
      if (this.#timers.get(name) !== handle) return;
      this.#timers.delete(name);
      fn();
    }, ms);
    this.#timers.set(name, handle);
  }

  #clear(...names: TimerName[]): void {
    for (const name of names) {
      if (this.#timers.has(name)) this.clock.clearTimeout(this.#timers.get(name));
      this.#timers.delete(name);
    }
  }
}

function definedOnly<T extends object>(value: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
