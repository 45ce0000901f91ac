/** A map from event name to the signature of its listeners. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventCallbacks<E> = { [K in keyof E]: (...args: any[]) => void };

interface Entry {
  fn: (...args: unknown[]) => void;
  context: unknown;
  once: boolean;
}

/** Reports a listener that threw; the default writes it to the console. */
export type ListenerErrorReporter = (error: unknown, event: string) => void;

const consoleReporter: ListenerErrorReporter = (error, event) => {
  console.error(`[ringline] a listener of "${event}" threw`, error);
};

/**
 * The one event emitter of the SDK, typed by a callbacks map keyed by a string enum.
 * A listener that throws is caught and reported, and never stops the other listeners or the
 * code that emitted (a broken app handler must not break the call flow).
 */
export class TypedEmitter<E extends EventCallbacks<E>> {
  #listeners = new Map<keyof E, Entry[]>();
  #report: ListenerErrorReporter;

  constructor(reportListenerError: ListenerErrorReporter = consoleReporter) {
    this.#report = reportListenerError;
  }

  /** Calls `fn` (with `this` = `context`) each time `event` fires. */
  on<K extends keyof E>(event: K, fn: E[K], context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  /** Calls `fn` the next time `event` fires, then forgets it. */
  once<K extends keyof E>(event: K, fn: E[K], context?: unknown): this {
    return this.#add(event, fn, context, true);
  }

  /**
   * Removes listeners of `event`: those equal to `fn` (and, when given, registered with the same
   * `context`), or every listener of `event` when `fn` is omitted.
   */
  off<K extends keyof E>(event: K, fn?: E[K], context?: unknown): this {
    const entries = this.#listeners.get(event);
    if (!entries) return this;
    const kept =
      fn === undefined
        ? []
        : entries.filter((e) => e.fn !== fn || (context !== undefined && e.context !== context));
    if (kept.length) this.#listeners.set(event, kept);
    else this.#listeners.delete(event);
    return this;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; returns whether there were any. */
  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): boolean {
    const entries = this.#listeners.get(event);
    if (!entries?.length) return false;
    // A listener may add or remove listeners; this emission uses the list as it was.
    for (const entry of [...entries]) {
      if (entry.once) this.#remove(event, entry);
      try {
        entry.fn.apply(entry.context, args);
      } catch (error) {
        try {
          this.#report(error, String(event));
        } catch {
          // A broken reporter must not break the flow either.
        }
      }
    }
    return true;
  }

  #remove(event: keyof E, entry: Entry): void {
    const entries = this.#listeners.get(event)?.filter((e) => e !== entry) ?? [];
    if (entries.length) this.#listeners.set(event, entries);
    else this.#listeners.delete(event);
  }

  #add<K extends keyof E>(event: K, fn: E[K], context: unknown, once: boolean): this {
    if (typeof fn !== 'function')
      throw new TypeError(`listener of "${String(event)}" must be a function`);
    const entries = this.#listeners.get(event) ?? [];
    entries.push({ fn: fn as (...args: unknown[]) => void, context, once });
    this.#listeners.set(event, entries);
    return this;
  }
}
