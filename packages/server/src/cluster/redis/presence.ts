/** Presence in Redis: one hash per user, `{sessionID, nodeID}`. */
import type { Redis } from 'ioredis';
import type { Presence, PresenceStore } from '../types.js';
import { guard, LuaScript } from './connection.js';

/** Deletes the entry only while it still names the session being removed. */
const REMOVE_IF_SESSION = new LuaScript(`
if redis.call('HGET', KEYS[1], 'sessionID') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

export class RedisPresenceStore implements PresenceStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async get(userID: string): Promise<Presence | undefined> {
    const h = await guard('presence get', () => this.#client.hgetall(this.#key(userID)));
    if (typeof h.sessionID !== 'string' || typeof h.nodeID !== 'string') return undefined;
    return { userID, sessionID: h.sessionID, nodeID: h.nodeID };
  }

  async set(presence: Presence): Promise<void> {
    // One HSET writes both fields at once: no reader sees one session's id with another's node.
    await guard('presence set', () =>
      this.#client.hset(this.#key(presence.userID), {
        sessionID: presence.sessionID,
        nodeID: presence.nodeID,
      }),
    );
  }

  async remove(userID: string, sessionID: string): Promise<boolean> {
    const n = await guard('presence remove', () =>
      REMOVE_IF_SESSION.run(this.#client, [this.#key(userID)], [sessionID]),
    );
    return n === 1;
  }

  #key(userID: string): string {
    return `${this.#prefix}:presence:${userID}`;
  }
}
