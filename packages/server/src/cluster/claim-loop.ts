/**
 * What the schedulers that keep timers in a shared store (Redis, the SQLite state file) do alike:
 * hand each due key to the first subscribed handler, claim due keys every `pollMs` while someone
 * is subscribed and at the due time of each timer this instance armed, and run one claim pass at
 * a time. The store-specific part — claiming due keys atomically, putting one back — is theirs.
 */
import type { Logger } from '../log.js';
import { ClusterUnavailableError } from './errors.js';
import type { Unsubscribe } from './types.js';

type Handler = (key: string) => void | Promise<void>;

export class ClaimLoop {
  readonly #handlers: Handler[] = [];
  /** Local wake-ups at the due time of timers this instance armed. */
  readonly #wakeups = new Map<string, NodeJS.Timeout>();
  readonly #pass: () => void | Promise<void>;
  readonly #pollMs: number;
  readonly #log: Logger;
  #poll: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  #again = false;
  #closed = false;

  /** `pass`: one claim pass, which hands what it claims to `fire`. */
  constructor(pass: () => void | Promise<void>, options: { pollMs: number; logger: Logger }) {
    this.#pass = pass;
    this.#pollMs = options.pollMs;
    this.#log = options.logger;
  }

  /** Throws ClusterUnavailableError once closed (schedule and cancel call it first). */
  checkOpen(): void {
    if (this.#closed) throw new ClusterUnavailableError('the scheduler is closed');
  }

  /** Claims again `delayMs` from now (a timer armed here comes due then). */
  wakeAt(key: string, delayMs: number): void {
    clearTimeout(this.#wakeups.get(key));
    const wakeup = setTimeout(() => {
      this.#wakeups.delete(key);
      this.claim();
    }, delayMs);
    wakeup.unref();
    this.#wakeups.set(key, wakeup);
  }

  forget(key: string): void {
    clearTimeout(this.#wakeups.get(key));
    this.#wakeups.delete(key);
  }

  subscribe(handler: Handler): Unsubscribe {
    this.#handlers.push(handler);
    if (!this.#poll && !this.#closed) {
      this.#poll = setInterval(() => this.claim(), this.#pollMs);
      this.#poll.unref();
      // On the next turn, once the owner's other subscribers (a TimerRouter's) are in: what came
      // due meanwhile (while no process ran, for a file) fires then, once.
      setImmediate(() => this.claim());
    }
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
      if (!this.#handlers.length) this.#stopPolling();
    };
  }

  /** Whether a handler would take a claimed key now. */
  get subscribed(): boolean {
    return this.#handlers.length > 0 && !this.#closed;
  }

  /** Hands a claimed key to the handler; false when there is none (the caller puts it back). */
  fire(key: string): boolean {
    const handler = this.#handlers[0];
    if (!handler) return false;
    Promise.resolve()
      .then(() => handler(key))
      .catch((err: unknown) => this.#log.error('timer handler failed', { key, err }));
    return true;
  }

  /** One claim pass at a time; a request during a pass runs one more pass after it. */
  claim(): void {
    if (!this.subscribed) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = Promise.resolve()
      .then(() => this.#pass())
      .catch((err: unknown) => {
        // Health reports an unreachable store; the next poll tries again.
        this.#log.debug('timer claim failed', { err });
      })
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) {
          this.#again = false;
          this.claim();
        }
      });
  }

  /** Stops claiming: the timers stay in the store, for other instances or the next process. */
  close(): void {
    this.#closed = true;
    this.#handlers.length = 0;
    this.#stopPolling();
    for (const t of this.#wakeups.values()) clearTimeout(t);
    this.#wakeups.clear();
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
