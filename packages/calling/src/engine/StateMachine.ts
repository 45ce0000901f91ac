import { CallError } from '../errors.js';
import type { Logger } from '../util/logger.js';

/** For each state, the states it may move to. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/**
 * One way to change a state: `set` logs `prev -> next`, reports only real changes, and refuses
 * (throws) a move the table does not allow, so an impossible sequence shows up as a bug at once.
 */
export class StateMachine<S extends string> {
  #state: S;

  constructor(
    private readonly name: string,
    private readonly table: TransitionTable<S>,
    initial: S,
    private readonly logger: Logger,
    private readonly onChange: (next: S, prev: S) => void,
  ) {
    this.#state = initial;
  }

  /** The current state. */
  get state(): S {
    return this.#state;
  }

  /** Whether the table allows moving from `from` to `to`. */
  allows(from: S, to: S): boolean {
    return this.table[from].includes(to);
  }

  /** Moves to `next`; returns false (and does nothing) when already there. */
  set(next: S): boolean {
    const prev = this.#state;
    if (prev === next) return false;
    if (!this.allows(prev, next)) {
      this.logger.error(`${this.name} state ${prev} -> ${next} refused`);
      throw CallError.invalidState(`moving to ${next}`, prev);
    }
    this.#state = next;
    this.logger.info(`${this.name} state ${prev} -> ${next}`);
    this.onChange(next, prev);
    return true;
  }
}
