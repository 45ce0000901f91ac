/**
 * Timers as rows (key, due time in epoch ms) in the state file, so that they outlive the process:
 * after a restart, the overdue ones fire once at the first claim and the rest at their time. As
 * the Redis scheduler: each subscribed instance claims due keys in one transaction (read and
 * delete together), so a due key goes to exactly one instance (several share a file in tests); an
 * instance polls every `pollMs`, and the one that armed a timer also claims at its due time. A
 * process that dies between claiming a key and handling it loses that firing (at most once).
 */
import type { Logger } from '../../log.js';
import { ClusterUnavailableError } from '../errors.js';
import type { Scheduler, Unsubscribe } from '../types.js';
import { guard, type StateDb } from './db.js';

/** Keys claimed per transaction, and transactions per claim pass (bounds one pass's work). */
const CLAIM_BATCH = 100;
const MAX_BATCHES = 20;

type Handler = (key: string) => void | Promise<void>;

export class SqliteScheduler implements Scheduler {
  readonly #db: StateDb;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #handlers: Handler[] = [];
  /** Local wake-ups at the due time of timers this instance armed. */
  readonly #wakeups = new Map<string, NodeJS.Timeout>();
  readonly #put;
  readonly #delete;
  readonly #count;
  readonly #claimBatch: (now: number) => string[];
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(db: StateDb, options: { pollMs: number; logger: Logger }) {
    this.#db = db;
    this.#pollMs = options.pollMs;
    this.#log = options.logger;
    this.#put = db.prepare<[string, number]>(
      'INSERT OR REPLACE INTO timers (key, due) VALUES (?, ?)',
    );
    this.#delete = db.prepare<[string]>('DELETE FROM timers WHERE key = ?');
    this.#count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM timers');
    const due = db.prepare<[number, number], { key: string }>(
      'DELETE FROM timers WHERE key IN (SELECT key FROM timers WHERE due <= ? ORDER BY due LIMIT ?) RETURNING key',
    );
    this.#claimBatch = (now) => due.all(now, CLAIM_BATCH).map((r) => r.key);
  }

  async schedule(key: string, delayMs: number): Promise<void> {
    this.#open();
    const delay = Math.max(0, Math.round(delayMs));
    guard('schedule', this.#db, () => this.#put.run(key, Date.now() + delay));
    clearTimeout(this.#wakeups.get(key));
    const wakeup = setTimeout(() => {
      this.#wakeups.delete(key);
      this.#claim();
    }, delay);
    wakeup.unref();
    this.#wakeups.set(key, wakeup);
  }

  async cancel(key: string): Promise<void> {
    this.#open();
    clearTimeout(this.#wakeups.get(key));
    this.#wakeups.delete(key);
    guard('cancel timer', this.#db, () => this.#delete.run(key));
  }

  subscribe(handler: Handler): Unsubscribe {
    this.#handlers.push(handler);
    if (!this.#poll && !this.#closed) {
      this.#poll = setInterval(() => this.#claim(), this.#pollMs);
      this.#poll.unref();
      // What came due while no process ran (a restart) fires now, once.
      setImmediate(() => this.#claim());
    }
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
      if (!this.#handlers.length) this.#stopPolling();
    };
  }

  /** Timers waiting to fire, in the file (tests' leak checks). */
  pending(): number {
    return guard('count timers', this.#db, () => this.#count.get()!.n);
  }

  /** Stops claiming; the timers stay in the file for the next process (or another instance). */
  close(): void {
    this.#closed = true;
    this.#handlers.length = 0;
    this.#stopPolling();
    for (const t of this.#wakeups.values()) clearTimeout(t);
    this.#wakeups.clear();
  }

  #open(): void {
    if (this.#closed) throw new ClusterUnavailableError('the scheduler is closed');
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  /** One claim pass: synchronous, so passes never overlap. */
  #claim(): void {
    if (this.#closed || !this.#handlers.length || !this.#db.open) return;
    try {
      for (let batch = 0; batch < MAX_BATCHES; batch++) {
        const keys = guard('claim timers', this.#db, () => this.#claimBatch(Date.now()));
        for (const key of keys) this.#fire(key);
        if (keys.length < CLAIM_BATCH) return;
      }
    } catch (err) {
      this.#log.warn('timer claim failed', { err });
    }
  }

  #fire(key: string): void {
    const handler = this.#handlers[0];
    if (!handler) {
      // Claimed just as the last subscriber left: put it back for another instance.
      this.#put.run(key, Date.now());
      return;
    }
    Promise.resolve()
      .then(() => handler(key))
      .catch((err: unknown) => this.#log.error('timer handler failed', { key, err }));
  }
}
