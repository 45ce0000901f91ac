/**
 * One Scheduler shared by several owners of timers (invitation timeouts, session expiries): a
 * scheduler hands each firing to ONE handler (that is how a timer fires once per cluster), so the
 * router is that handler and passes each key on by its prefix (what comes before the first `:`).
 */
import type { Scheduler, Unsubscribe } from './types.js';

type Handler = (key: string) => void | Promise<void>;

/** A key whose owner left this node (it is stopping) is armed again this much later, ms. */
export const REARM_DELAY_MS = 250;

export class TimerRouter {
  readonly #scheduler: Scheduler;
  readonly #handlers = new Map<string, Handler>();
  /** Prefixes that have had a handler here. */
  readonly #known = new Set<string>();
  #unsubscribe: Unsubscribe | undefined;

  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  /** The scheduler as one owner sees it: its `subscribe` gets only keys starting `prefix:`. */
  view(prefix: string): Scheduler {
    return {
      schedule: (key, delayMs) => this.#scheduler.schedule(key, delayMs),
      cancel: (key) => this.#scheduler.cancel(key),
      subscribe: (handler) => {
        this.#handlers.set(prefix, handler);
        this.#known.add(prefix);
        this.#unsubscribe ??= this.#scheduler.subscribe((key) => this.#route(key));
        return () => {
          if (this.#handlers.get(prefix) !== handler) return;
          this.#handlers.delete(prefix);
          if (!this.#handlers.size) {
            this.#unsubscribe?.();
            this.#unsubscribe = undefined;
          }
        };
      },
    };
  }

  #route(key: string): void | Promise<void> {
    const colon = key.indexOf(':');
    const prefix = colon < 0 ? key : key.slice(0, colon);
    const handler = this.#handlers.get(prefix);
    if (handler) return handler(key);
    // Its owner unsubscribed while another still takes keys here (a node stopping: its sessions
    // handed over, its calls not yet): armed again, for another node, not lost.
    if (this.#known.has(prefix)) return this.#scheduler.schedule(key, REARM_DELAY_MS);
  }
}
