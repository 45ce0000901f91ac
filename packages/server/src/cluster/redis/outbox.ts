/**
 * Session outboxes in Redis: per session a sorted set of pushes scored by seq and a counter with
 * the head seq (INCR gives out the seqs), both under one hash tag (a Redis Cluster keeps them on one shard) and both expiring
 * together. Each operation is one script, so a reader never sees half an append or trim.
 */
import type { Redis } from 'ioredis';
import type { OutboxEntry, OutboxStore } from '../types.js';
import { guard, LuaScript } from './connection.js';

/** KEYS: entries, head. ARGV: ttlMs. */
const OPEN = new LuaScript(`
redis.call('SET', KEYS[2], 0, 'NX')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('PEXPIRE', KEYS[2], ARGV[1])`);

/**
 * KEYS: entries, head. ARGV: json, limit, ttlMs. Returns the new seq, or false without an
 * outbox. The member is "seq:json", unique whatever the JSON says.
 */
const APPEND = new LuaScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], seq, seq .. ':' .. ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq`);

/**
 * KEYS: entries, head. ARGV: afterSeq. Returns false when the entries after afterSeq are not all
 * here; otherwise the members ("seq:json") after it, in order (empty at the head).
 */
const READ = new LuaScript(`
local head = redis.call('GET', KEYS[2])
if not head then return false end
head = tonumber(head)
local after = tonumber(ARGV[1])
if after > head or after < 0 then return false end
if after == head then return {} end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 or tonumber(first[2]) > after + 1 then return false end
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. after, '+inf')`);

/** KEYS: entries, head. ARGV: ttlMs. Touches only what exists. */
const EXPIRE = new LuaScript(`
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('PEXPIRE', KEYS[2], ARGV[1])`);

export class RedisOutboxStore implements OutboxStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async open(sessionID: string, ttlMs: number): Promise<void> {
    await guard('outbox open', () => OPEN.run(this.#client, this.#keys(sessionID), [ms(ttlMs)]));
  }

  async append(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): Promise<number | undefined> {
    const seq = await guard('outbox append', () =>
      APPEND.run(this.#client, this.#keys(sessionID), [
        json,
        Math.max(1, Math.floor(options.limit)),
        ms(options.ttlMs),
      ]),
    );
    return typeof seq === 'number' ? seq : undefined;
  }

  async read(sessionID: string, afterSeq: number): Promise<OutboxEntry[] | undefined> {
    const members = await guard('outbox read', () =>
      READ.run(this.#client, this.#keys(sessionID), [afterSeq]),
    );
    if (!Array.isArray(members)) return undefined;
    return members.map((member: unknown) => {
      const text = String(member);
      const colon = text.indexOf(':');
      return { seq: Number(text.slice(0, colon)), json: text.slice(colon + 1) };
    });
  }

  async ack(sessionID: string, seq: number): Promise<void> {
    const [entries] = this.#keys(sessionID);
    await guard('outbox ack', () => this.#client.zremrangebyscore(entries!, '-inf', seq));
  }

  async expire(sessionID: string, ttlMs: number): Promise<void> {
    await guard('outbox expire', () =>
      EXPIRE.run(this.#client, this.#keys(sessionID), [ms(ttlMs)]),
    );
  }

  async delete(sessionID: string): Promise<void> {
    await guard('outbox delete', () => this.#client.del(...this.#keys(sessionID)));
  }

  /** The entries' sorted set and the head seq, under one hash tag. */
  #keys(sessionID: string): [string, string] {
    const base = `${this.#prefix}:outbox:{${sessionID}}`;
    return [base, `${base}:head`];
  }
}

/** A TTL Redis accepts: whole milliseconds, at least 1. */
function ms(ttlMs: number): number {
  return Math.max(1, Math.round(ttlMs));
}
