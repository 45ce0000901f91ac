/**
 * Locks as Redis leases (types.ts, LockManager, says what callers get): `SET key token NX PX ttl`
 * takes one, the holder renews it every third of the TTL while `fn` runs, and only a script that
 * checks the token releases or renews it. Runs on one node queue locally first, in order, so a
 * node contends for a key in Redis once at a time.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { ClusterUnavailableError } from '../errors.js';
import type { LockManager } from '../types.js';
import { guard, LuaScript } from './connection.js';

const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** Retry delays while another node holds the key: 5, 10, 20, … ms, capped, with jitter. */
const BACKOFF_FIRST_MS = 5;
const BACKOFF_MAX_MS = 100;

export interface RedisLockOptions {
  prefix: string;
  /** The lease's TTL: how long a dead holder blocks the key at most. */
  ttlMs: number;
  /** How long `run` waits for the key before it gives up. */
  waitMs: number;
  logger: Logger;
}

export class RedisLockManager implements LockManager {
  readonly #client: Redis;
  readonly #o: RedisLockOptions;
  readonly #log: Logger;
  /** This node's queue per key (a promise chain, as in MemoryLockManager). */
  readonly #tails = new Map<string, Promise<void>>();
  /** Renewal timers of the leases held now. */
  readonly #renewals = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(client: Redis, options: RedisLockOptions) {
    this.#client = client;
    this.#o = options;
    this.#log = options.logger;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.#open();
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      this.#open();
      return await this.#holding(key, fn);
    } finally {
      done();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Stops renewing: leases held now expire by their TTL, as a dead node's would. */
  close(): void {
    this.#closed = true;
    for (const t of this.#renewals) clearInterval(t);
    this.#renewals.clear();
  }

  #open(): void {
    if (this.#closed) throw new ClusterUnavailableError('the lock manager is closed');
  }

  async #holding<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const redisKey = `${this.#o.prefix}:lock:${key}`;
    const token = randomUUID();
    await this.#acquire(key, redisKey, token);
    const renewal = this.#renew(key, redisKey, token);
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      this.#renewals.delete(renewal);
      if (!this.#closed) {
        await RELEASE.run(this.#client, [redisKey], [token]).catch((err: unknown) => {
          // The lease frees itself within its TTL.
          this.#log.warn('lock release failed; it expires by itself', { key, err });
        });
      }
    }
  }

  async #acquire(key: string, redisKey: string, token: string): Promise<void> {
    const deadline = Date.now() + this.#o.waitMs;
    let delay = BACKOFF_FIRST_MS;
    // Bounded by time and, should the clock misbehave, by count.
    for (let attempt = 0; attempt < 100_000; attempt++) {
      this.#open();
      let ok: string | null;
      try {
        ok = await guard('lock', () =>
          this.#client.set(redisKey, token, 'PX', this.#o.ttlMs, 'NX'),
        );
      } catch (err) {
        // A SET that timed out may still run when a hung Redis wakes up, leaving a lease nobody
        // holds for a whole TTL: a release sent right behind it, on the same connection, runs
        // after it and frees it.
        RELEASE.run(this.#client, [redisKey], [token]).catch(() => {});
        throw err;
      }
      if (ok === 'OK') return;
      const left = deadline - Date.now();
      if (left <= 0) break;
      const wait = Math.min(left, delay / 2 + Math.random() * (delay / 2));
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
    throw new ClusterUnavailableError(`lock "${key}" was not free within ${this.#o.waitMs} ms`);
  }

  /** Renews the lease every third of its TTL; a lease found gone or unrenewed for a TTL is lost. */
  #renew(key: string, redisKey: string, token: string): NodeJS.Timeout {
    let lastRenewed = Date.now();
    let lost = false;
    const timer = setInterval(
      () => {
        if (lost) return;
        RENEW.run(this.#client, [redisKey], [token, this.#o.ttlMs]).then(
          (n) => {
            if (n === 1) {
              lastRenewed = Date.now();
              return;
            }
            lost = true;
            this.#log.warn('lock lease lost: another holder may run at the same time', { key });
          },
          (err: unknown) => {
            if (Date.now() - lastRenewed < this.#o.ttlMs) return;
            lost = true;
            this.#log.warn('lock lease lost: not renewed within its TTL', { key, err });
          },
        );
      },
      Math.max(1, Math.floor(this.#o.ttlMs / 3)),
    );
    timer.unref();
    this.#renewals.add(timer);
    return timer;
  }
}
