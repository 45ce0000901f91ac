import type { CallKitState } from './types.js';

/** Called with the new snapshot and the one it replaced. */
export type StoreListener = (state: CallKitState, prev: CallKitState) => void;

/**
 * The kit's UI state as immutable snapshots: every change makes a new state object, so views
 * re-render by comparing references. Only the core changes it (through `update`); views read.
 */
export class CallKitStore {
  #state: CallKitState;
  readonly #listeners = new Set<StoreListener>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(initial: CallKitState, onListenerError: (error: unknown) => void = () => {}) {
    this.#state = freeze(initial);
    this.#onListenerError = onListenerError;
  }

  get state(): CallKitState {
    return this.#state;
  }

  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: StoreListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Replaces the state with `change(state)` merged over it and notifies the listeners.
   * @internal — for the core only.
   */
  update(change: Partial<CallKitState> | ((state: CallKitState) => Partial<CallKitState>)): void {
    const prev = this.#state;
    const patch = typeof change === 'function' ? change(prev) : change;
    const next = freeze({ ...prev, ...patch });
    this.#state = next;
    for (const listener of [...this.#listeners]) {
      // A broken view must not stop the others or the call flow that caused the change.
      try {
        listener(next, prev);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

// Shallow freeze: views that try to mutate a snapshot fail loudly in strict mode instead of
// silently diverging from the core.
function freeze(state: CallKitState): CallKitState {
  return Object.freeze(state);
}
