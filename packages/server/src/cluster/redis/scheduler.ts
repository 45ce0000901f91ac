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
import { ClaimLoop } from '../claim-loop.js';
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

export class RedisScheduler implements Scheduler {
  readonly #client: Redis;
  readonly #key: string;
  readonly #log: Logger;
  readonly #loop: ClaimLoop;

  constructor(client: Redis, options: { prefix: string; pollMs: number; logger: Logger }) {
    this.#client = client;
    this.#key = `${options.prefix}:timers`;
    this.#log = options.logger;
    this.#loop = new ClaimLoop(() => this.#claimPass(), options);
  }

  async schedule(key: string, delayMs: number): Promise<void> {
    this.#loop.checkOpen();
    const delay = Math.max(0, Math.round(delayMs));
    await guard('schedule', () => SCHEDULE.run(this.#client, [this.#key], [key, delay]));
    this.#loop.wakeAt(key, delay);
  }

  async cancel(key: string): Promise<void> {
    this.#loop.checkOpen();
    this.#loop.forget(key);
    await guard('cancel timer', () => this.#client.zrem(this.#key, key));
  }

  subscribe(handler: (key: string) => void | Promise<void>): Unsubscribe {
    return this.#loop.subscribe(handler);
  }

  /** Keys waiting to fire, cluster-wide (tests' leak checks). */
  async pending(): Promise<number> {
    return guard('count timers', () => this.#client.zcard(this.#key));
  }

  /** Stops claiming: timers this node armed fire on the other nodes. */
  close(): void {
    this.#loop.close();
  }

  async #claimPass(): Promise<void> {
    if (this.#client.status !== 'ready') return;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const due = (await CLAIM.run(this.#client, [this.#key], [CLAIM_BATCH])) as string[];
      for (const key of due) {
        if (this.#loop.fire(key)) continue;
        // Claimed just as the last subscriber left: put it back for another node.
        this.#log.warn('timer claimed without a handler; re-arming it', { key });
        void SCHEDULE.run(this.#client, [this.#key], [key, 0]).catch(() => {});
      }
      if (due.length < CLAIM_BATCH) return;
    }
  }
}
