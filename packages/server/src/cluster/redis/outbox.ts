/**
 * Session outboxes in Redis: per session a sorted set of pushes scored by seq and a key with the
 * head seq, both under one hash tag (a Redis Cluster keeps them on one shard) and both expiring
 * together. Each operation is one script, so a reader never sees half an append or trim.
 */
import type { Redis } from 'ioredis';
import type { OutboxEntry, OutboxStore } from '../types.js';
import { guard, LuaScript } from './connection.js';

/**
 * KEYS: entries, head. ARGV: seq, json, limit, ttlMs. The member is "seq:json", unique whatever
 * the JSON says.
 */
const APPEND = new LuaScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[2])
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > head then redis.call('SET', KEYS[2], ARGV[1]) end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`);

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

  async append(
    sessionID: string,
    entry: OutboxEntry,
    options: { limit: number; ttlMs: number },
  ): Promise<void> {
    await guard('outbox append', () =>
      APPEND.run(this.#client, this.#keys(sessionID), [
        entry.seq,
        entry.json,
        Math.max(1, Math.floor(options.limit)),
        Math.max(1, Math.round(options.ttlMs)),
      ]),
    );
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
      EXPIRE.run(this.#client, this.#keys(sessionID), [Math.max(1, Math.round(ttlMs))]),
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
