/**
 * Sessions that survive their node, and node liveness, in Redis (types.ts: SharedSessions,
 * NodeRegistry).
 *
 * The cost of a push: `deliver` is ONE script (EVALSHA) that reads presence, appends to the
 * session's outbox and PUBLISHes to the session's node. Before, a push was two round trips
 * (HGETALL presence, then PUBLISH); now the outbox costs no round trip of its own, only the
 * script's work inside Redis (bench/outbox-push.ts measures it). Appending on the owning node
 * instead (after the bus) would add a round trip per push and lose what was in flight when the
 * node died; appending in the sender's step keeps a push for the resume even when the node it was
 * published to is dead. ioredis pipelines concurrent scripts on one connection by itself.
 *
 * The scripts name keys they read from presence (the outbox of the session presence names), so
 * they need one Redis (standalone or Sentinel), not Redis Cluster.
 *
 * Keys (P = prefix): P:presence:<user> (hash sessionID, nodeID; presence.ts), P:outbox:{sid} and
 * P:outbox:{sid}:head (outbox.ts's layout), P:bus:<node> (bus.ts's channel), P:timers
 * (scheduler.ts's set), P:nodes (sorted set: node → its last beat, Redis clock), and
 * P:node:<node>:sessions (hash: sessionID → userID, the sessions a node holds).
 */
import type { Redis } from 'ioredis';
import type { NodeRegistry, OutboxEntry, Presence, SharedSessions } from '../types.js';
import { guard, LuaScript } from './connection.js';

/** A live session's outbox is kept this long after its last push or sweep (node sweeps hourly). */
export const LIVE_OUTBOX_TTL_MS = 24 * 3600_000;

/** Milliseconds since the epoch on Redis's clock. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: presence, entries, head, node index. ARGV: sessionID, nodeID, userID, ttlMs. */
const OPEN = new LuaScript(`
redis.call('HSET', KEYS[1], 'sessionID', ARGV[1], 'nodeID', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], 0, 'PX', ARGV[4])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 1`);

/**
 * KEYS: presence. ARGV: prefix, json, limit, sessionID or '', the bus message's JSON up to its
 * sessionID (built once in JS: no JSON encoding in Lua). Returns 1 when appended and published,
 * 0 without a session (or not that session). No PEXPIRE per push: the node's hourly sweep keeps a
 * live outbox (LIVE_OUTBOX_TTL_MS), which halves the script's work; a new entries set takes the
 * head's TTL, so nothing outlives it.
 */
const DELIVER = new LuaScript(`
local sid = redis.call('HGET', KEYS[1], 'sessionID')
if not sid or (ARGV[4] ~= '' and ARGV[4] ~= sid) then return 0 end
local node = redis.call('HGET', KEYS[1], 'nodeID')
local base = ARGV[1] .. ':outbox:{' .. sid .. '}'
local seq = redis.call('INCR', base .. ':head')
if seq == 1 and redis.call('PTTL', base .. ':head') < 0 then
  -- No outbox (INCR just made the key): nobody could resume this session.
  redis.call('DEL', base .. ':head')
  return 0
end
redis.call('ZADD', base, seq, seq .. ':' .. ARGV[2])
-- A new entries set (the first push, or the first after acks emptied it) expires with the head.
if redis.call('PTTL', base) < 0 then redis.call('PEXPIRE', base, redis.call('PTTL', base .. ':head')) end
if redis.call('ZCARD', base) > tonumber(ARGV[3]) then redis.call('ZREMRANGEBYRANK', base, 0, 0) end
redis.call('PUBLISH', ARGV[1] .. ':bus:' .. node, ARGV[5] .. sid .. '","seq":' .. seq .. '}')
return 1`);

/**
 * KEYS: presence, entries, head. ARGV: prefix, sessionID, nodeID, afterSeq, userID, ttlMs.
 * Returns false, or {previousNode, head, members after afterSeq...}.
 */
const TAKE_OVER = new LuaScript(`
if redis.call('HGET', KEYS[1], 'sessionID') ~= ARGV[2] then return false end
local head = redis.call('GET', KEYS[3])
if not head then return false end
head = tonumber(head)
local after = tonumber(ARGV[4])
if after > head or after < 0 then return false end
local members = {}
if after < head then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if #first == 0 or tonumber(first[2]) > after + 1 then return false end
  members = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. after, '+inf')
end
local previous = redis.call('HGET', KEYS[1], 'nodeID')
redis.call('HSET', KEYS[1], 'nodeID', ARGV[3])
if previous ~= ARGV[3] then
  redis.call('HDEL', ARGV[1] .. ':node:' .. previous .. ':sessions', ARGV[2])
end
redis.call('HSET', ARGV[1] .. ':node:' .. ARGV[3] .. ':sessions', ARGV[2], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
local out = {previous, head}
for i = 1, #members do out[#out + 1] = members[i] end
return out`);

/**
 * KEYS: presence, entries, head, node index. ARGV: sessionID, nodeID, userID, seq, ttlMs. Lists
 * the session under the node; gives it back its presence and outbox head if they are gone (a
 * newer session of the user is left alone).
 */
const RELIST = new LuaScript(`
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'sessionID', ARGV[1], 'nodeID', ARGV[2])
end
if redis.call('HGET', KEYS[1], 'sessionID') == ARGV[1] then
  redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5])
end
return 1`);

/** KEYS: entries, head, node index. ARGV: sessionID. */
const END = new LuaScript(`
redis.call('DEL', KEYS[1], KEYS[2])
return redis.call('HDEL', KEYS[3], ARGV[1])`);

/**
 * KEYS: nodes, timers. ARGV: prefix, nodeID, deadAfterMs, resumeWindowMs, max nodes claimed.
 * Beats for nodeID; unless its own previous beat is stale (Redis, not the others, was away),
 * claims nodes silent for deadAfterMs and arms their sessions' expiry (sessionTimerKey's format).
 * Returns {1} when nodeID was not listed (new, or claimed dead while it lived), else {0, dead...}.
 */
const BEAT = new LuaScript(`${NOW}
local mine = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[2])
if not mine then return {1} end
if now - tonumber(mine) > tonumber(ARGV[3]) then return {0} end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, tonumber(ARGV[5]))
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  local index = ARGV[1] .. ':node:' .. node .. ':sessions'
  local held = redis.call('HGETALL', index)
  for i = 1, #held, 2 do
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), 'session:' .. held[i] .. ':' .. held[i + 1])
  end
  redis.call('DEL', index)
end
table.insert(dead, 1, 0)
return dead`);

/**
 * KEYS: nodes, timers. ARGV: prefix, nodeID, resumeWindowMs. A graceful stop: arms the expiry of
 * the node's sessions (NX: one already armed keeps its time) as BEAT does for a dead node, drops
 * its list, and lists it as beaten at the epoch, so that the next beat of a live node claims it.
 * Returns how many sessions were handed over.
 */
const HAND_OVER = new LuaScript(`${NOW}
local index = ARGV[1] .. ':node:' .. ARGV[2] .. ':sessions'
local held = redis.call('HGETALL', index)
for i = 1, #held, 2 do
  redis.call('ZADD', KEYS[2], 'NX', now + tonumber(ARGV[3]), 'session:' .. held[i] .. ':' .. held[i + 1])
end
redis.call('DEL', index)
redis.call('ZADD', KEYS[1], 0, ARGV[2])
return #held / 2`);

/** KEYS: nodes. ARGV: nodeID, deadAfterMs. 1 when the node beat within deadAfterMs. */
const ALIVE = new LuaScript(`${NOW}
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if at and now - tonumber(at) <= tonumber(ARGV[2]) then return 1 end
return 0`);

export class RedisSharedSessions implements SharedSessions {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #limit: number;

  /** `outboxLimit`: most pushes a session's outbox keeps (the server's outboxLimit). */
  constructor(client: Redis, options: { prefix: string; outboxLimit: number }) {
    this.#client = client;
    this.#prefix = options.prefix;
    this.#limit = Math.max(1, Math.floor(options.outboxLimit));
  }

  async open(p: Presence): Promise<void> {
    const [entries, head] = this.#outbox(p.sessionID);
    await guard('session open', () =>
      OPEN.run(
        this.#client,
        [this.#presence(p.userID), entries, head, this.#index(p.nodeID)],
        [p.sessionID, p.nodeID, p.userID, LIVE_OUTBOX_TTL_MS],
      ),
    );
  }

  async deliver(userID: string, json: string, sessionID?: string): Promise<boolean> {
    // The bus message (bus.ts checks its shape), completed in Lua with the sessionID and seq.
    const message = `{"kind":"pushed","userID":${JSON.stringify(userID)},"json":${JSON.stringify(json)},"sessionID":"`;
    const n = await guard('session push', () =>
      DELIVER.run(
        this.#client,
        [this.#presence(userID)],
        [this.#prefix, json, this.#limit, sessionID ?? '', message],
      ),
    );
    return n === 1;
  }

  async takeOver(
    userID: string,
    sessionID: string,
    nodeID: string,
    afterSeq: number,
  ): Promise<{ entries: OutboxEntry[]; head: number; previousNode: string } | undefined> {
    const [entries, head] = this.#outbox(sessionID);
    const out = await guard('session take-over', () =>
      TAKE_OVER.run(
        this.#client,
        [this.#presence(userID), entries, head],
        [this.#prefix, sessionID, nodeID, afterSeq, userID, LIVE_OUTBOX_TTL_MS],
      ),
    );
    if (!Array.isArray(out)) return undefined;
    const [previousNode, headSeq, ...members] = out as unknown[];
    return {
      previousNode: String(previousNode),
      head: Number(headSeq),
      entries: members.map((member) => {
        const text = String(member);
        const colon = text.indexOf(':');
        return { seq: Number(text.slice(0, colon)), json: text.slice(colon + 1) };
      }),
    };
  }

  async ack(sessionID: string, seq: number): Promise<void> {
    const [entries] = this.#outbox(sessionID);
    await guard('session ack', () => this.#client.zremrangebyscore(entries, '-inf', seq));
  }

  async keepAlive(sessionIDs: readonly string[]): Promise<void> {
    if (!sessionIDs.length) return;
    const pipeline = this.#client.pipeline();
    for (const sid of sessionIDs) {
      for (const key of this.#outbox(sid)) pipeline.pexpire(key, LIVE_OUTBOX_TTL_MS);
    }
    await guard('session keep-alive', () => pipeline.exec());
  }

  async relist(
    nodeID: string,
    sessions: ReadonlyArray<{ sessionID: string; userID: string; seq: number }>,
  ): Promise<void> {
    // Concurrent scripts share the connection: ioredis writes them back to back.
    await Promise.all(
      sessions.map((x) => {
        const [entries, head] = this.#outbox(x.sessionID);
        return guard('session relist', () =>
          RELIST.run(
            this.#client,
            [this.#presence(x.userID), entries, head, this.#index(nodeID)],
            [x.sessionID, nodeID, x.userID, x.seq, LIVE_OUTBOX_TTL_MS],
          ),
        );
      }),
    );
  }

  async end(sessionID: string, nodeID: string): Promise<void> {
    await guard('session end', () =>
      END.run(this.#client, [...this.#outbox(sessionID), this.#index(nodeID)], [sessionID]),
    );
  }

  #presence(userID: string): string {
    return `${this.#prefix}:presence:${userID}`;
  }
  #outbox(sessionID: string): [string, string] {
    const base = `${this.#prefix}:outbox:{${sessionID}}`;
    return [base, `${base}:head`];
  }
  #index(nodeID: string): string {
    return `${this.#prefix}:node:${nodeID}:sessions`;
  }
}

export class RedisNodeRegistry implements NodeRegistry {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;

  constructor(
    client: Redis,
    options: { prefix: string; heartbeatMs: number; deadAfterMs: number },
  ) {
    this.#client = client;
    this.#prefix = options.prefix;
    this.heartbeatMs = options.heartbeatMs;
    this.deadAfterMs = options.deadAfterMs;
  }

  async beat(
    nodeID: string,
    resumeWindowMs: number,
  ): Promise<{ dead: string[]; rejoined: boolean }> {
    const out = await guard('node heartbeat', () =>
      BEAT.run(
        this.#client,
        [`${this.#prefix}:nodes`, `${this.#prefix}:timers`],
        [this.#prefix, nodeID, this.deadAfterMs, Math.max(0, Math.round(resumeWindowMs)), 10],
      ),
    );
    const [flag, ...dead] = Array.isArray(out) ? (out as unknown[]) : [0];
    return { dead: dead.map(String), rejoined: Number(flag) === 1 };
  }

  async alive(nodeID: string): Promise<boolean> {
    const n = await guard('node alive', () =>
      ALIVE.run(this.#client, [`${this.#prefix}:nodes`], [nodeID, this.deadAfterMs]),
    );
    return n === 1;
  }

  async handOver(nodeID: string, resumeWindowMs: number): Promise<void> {
    await guard('node hand-over', () =>
      HAND_OVER.run(
        this.#client,
        [`${this.#prefix}:nodes`, `${this.#prefix}:timers`],
        [this.#prefix, nodeID, Math.max(0, Math.round(resumeWindowMs))],
      ),
    );
  }

  async leave(nodeID: string): Promise<void> {
    await guard('node leave', () =>
      this.#client
        .multi()
        .zrem(`${this.#prefix}:nodes`, nodeID)
        .del(`${this.#prefix}:node:${nodeID}:sessions`)
        .exec(),
    );
  }
}
