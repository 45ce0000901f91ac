/**
 * Timers as rows (key, due time in epoch ms) in the state file, so that they outlive the process:
 * after a restart, the overdue ones fire once at the first claim and the rest at their time. As
 * the Redis scheduler (the same ClaimLoop): each subscribed instance claims due keys in one
 * statement (read and delete together), so a due key goes to exactly one instance (several share
 * a file in tests); an instance polls every `pollMs`, and the one that armed a timer also claims
 * at its due time. A process that dies between claiming a key and handling it loses that firing
 * (at most once).
 */
import type { Logger } from '../../log.js';
import { ClaimLoop } from '../claim-loop.js';
import type { Scheduler, Unsubscribe } from '../types.js';
import { guard, type StateDb } from './db.js';

/** Keys claimed per statement, and statements per claim pass (bounds one pass's work). */
const CLAIM_BATCH = 100;
const MAX_BATCHES = 20;

export class SqliteScheduler implements Scheduler {
  readonly #db: StateDb;
  readonly #loop: ClaimLoop;
  readonly #put;
  readonly #delete;
  readonly #count;
  readonly #due;

  constructor(db: StateDb, options: { pollMs: number; logger: Logger }) {
    this.#db = db;
    this.#loop = new ClaimLoop(() => this.#claimPass(), options);
    this.#put = db.prepare<[string, number]>(
      'INSERT OR REPLACE INTO timers (key, due) VALUES (?, ?)',
    );
    this.#delete = db.prepare<[string]>('DELETE FROM timers WHERE key = ?');
    this.#count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM timers');
    this.#due = db.prepare<[number, number], { key: string }>(
      'DELETE FROM timers WHERE key IN (SELECT key FROM timers WHERE due <= ? ORDER BY due LIMIT ?) RETURNING key',
    );
  }

  async schedule(key: string, delayMs: number): Promise<void> {
    this.#loop.checkOpen();
    const delay = Math.max(0, Math.round(delayMs));
    guard('schedule', this.#db, () => this.#put.run(key, Date.now() + delay));
    this.#loop.wakeAt(key, delay);
  }

  async cancel(key: string): Promise<void> {
    this.#loop.checkOpen();
    this.#loop.forget(key);
    guard('cancel timer', this.#db, () => this.#delete.run(key));
  }

  subscribe(handler: (key: string) => void | Promise<void>): Unsubscribe {
    return this.#loop.subscribe(handler);
  }

  /** Timers waiting to fire, in the file (tests' leak checks). */
  pending(): number {
    return guard('count timers', this.#db, () => this.#count.get()!.n);
  }

  /** Stops claiming; the timers stay in the file for the next process (or another instance). */
  close(): void {
    this.#loop.close();
  }

  #claimPass(): void {
    if (!this.#db.open) return;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const keys = guard('claim timers', this.#db, () =>
        this.#due.all(Date.now(), CLAIM_BATCH).map((r) => r.key),
      );
      for (const key of keys) {
        // Claimed just as the last subscriber left: put it back for another instance.
        if (!this.#loop.fire(key)) this.#put.run(key, Date.now());
      }
      if (keys.length < CLAIM_BATCH) return;
    }
  }
}
