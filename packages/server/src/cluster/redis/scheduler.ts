/**
 * Timers in one Redis sorted set, scored by when they are due (Redis's clock, so nodes' clocks do
 * not matter). Every subscribed node claims due keys with one atomic script (read and remove in
 * one step), so each due key goes to exactly one node; a node polls every `pollMs`, and the node
 * that armed a timer also tries at its due time, so a timer fires on time while its node lives
 * and within `pollMs` of it when that node is gone. A node that dies between claiming a key and
 * handling it loses that firing (at most once, never twice).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { ClusterUnavailableError } from '../errors.js';
import type { Scheduler, Unsubscribe } from '../types.js';
import { guard, LuaScript } from './connection.js';

/** Milliseconds since the epoch on Redis's clock. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCHEDULE = new LuaScript(`${NOW}
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])`);

const CLAIM = new LuaScript(`${NOW}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due`);

/** Keys claimed per round trip, and round trips per claim pass (bounds one pass's work). */
const CLAIM_BATCH = 100;
const MAX_BATCHES = 20;

type Handler = (key: string) => void | Promise<void>;

export class RedisScheduler implements Scheduler {
  readonly #client: Redis;
  readonly #key: string;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #handlers: Handler[] = [];
  /** Local wake-ups at the due time of timers this node armed. */
  readonly #wakeups = new Map<string, NodeJS.Timeout>();
  #poll: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(client: Redis, options: { prefix: string; pollMs: number; logger: Logger }) {
    this.#client = client;
    this.#key = `${options.prefix}:timers`;
    this.#pollMs = options.pollMs;
    this.#log = options.logger;
  }

  async schedule(key: string, delayMs: number): Promise<void> {
    this.#open();
    const delay = Math.max(0, Math.round(delayMs));
    await guard('schedule', () => SCHEDULE.run(this.#client, [this.#key], [key, delay]));
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
    await guard('cancel timer', () => this.#client.zrem(this.#key, key));
  }

  subscribe(handler: Handler): Unsubscribe {
    this.#handlers.push(handler);
    if (!this.#poll && !this.#closed) {
      this.#poll = setInterval(() => this.#claim(), this.#pollMs);
      this.#poll.unref();
      this.#claim();
    }
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
      if (!this.#handlers.length) this.#stopPolling();
    };
  }

  /** Keys waiting to fire, cluster-wide (tests' leak checks). */
  async pending(): Promise<number> {
    return guard('count timers', () => this.#client.zcard(this.#key));
  }

  /** Stops claiming: timers this node armed fire on the other nodes. */
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

  /** One claim pass at a time; a request during a pass runs one more pass after it. */
  #claim(): void {
    if (this.#closed || !this.#handlers.length) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#claimPass()
      .catch((err: unknown) => {
        // Health reports an unreachable Redis; the next poll tries again.
        this.#log.debug('timer claim failed', { err });
      })
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) {
          this.#again = false;
          this.#claim();
        }
      });
  }

  async #claimPass(): Promise<void> {
    if (this.#client.status !== 'ready') return;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const due = (await CLAIM.run(this.#client, [this.#key], [CLAIM_BATCH])) as string[];
      for (const key of due) this.#fire(key);
      if (due.length < CLAIM_BATCH) return;
    }
  }

  #fire(key: string): void {
    const handler = this.#handlers[0];
    if (!handler) {
      // Claimed just as the last subscriber left: put it back for another node.
      this.#log.warn('timer claimed without a handler; re-arming it', { key });
      void SCHEDULE.run(this.#client, [this.#key], [key, 0]).catch(() => {});
      return;
    }
    Promise.resolve()
      .then(() => handler(key))
      .catch((err: unknown) => this.#log.error('timer handler failed', { key, err }));
  }
}
