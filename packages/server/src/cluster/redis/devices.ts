/**
 * Users' devices in Redis (`--multi-device ring-all`): one hash per user, P:devices:<user>, with
 * a field `s:<sessionID>` per device (its value orders devices oldest first), `n` (the last order
 * given) and `active` (`<sessionID> <callID>`: the device in a call) and `released` (present once the user
 * left that call). Scripts keep each change
 * atomic: the device cap is checked and taken in one step.
 */
import type { Redis } from 'ioredis';
import type { DeviceStore, UserDevices } from '../types.js';
import { guard, LuaScript } from './connection.js';

/** KEYS: devices. ARGV: sessionID, max. 1 when listed (now or already), 0 when full. */
const ADD = new LuaScript(`
local field = 's:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then return 1 end
local count = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'n') - redis.call('HEXISTS', KEYS[1], 'active') - redis.call('HEXISTS', KEYS[1], 'released')
if count >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], field, redis.call('HINCRBY', KEYS[1], 'n', 1))
return 1`);

/** KEYS: devices. ARGV: sessionID. 1 when it was listed; the hash goes with its last device. */
const REMOVE = new LuaScript(`
if redis.call('HDEL', KEYS[1], 's:' .. ARGV[1]) == 0 then return 0 end
local active = redis.call('HGET', KEYS[1], 'active')
if active and string.sub(active, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('HDEL', KEYS[1], 'active', 'released') end
local left = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'n') - redis.call('HEXISTS', KEYS[1], 'active') - redis.call('HEXISTS', KEYS[1], 'released')
if left == 0 then redis.call('DEL', KEYS[1]) end
return 1`);

/** KEYS: devices. ARGV: sessionID, callID. 1 when the device is listed (and now active). */
const SET_ACTIVE = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'active', ARGV[1] .. ' ' .. ARGV[2])
redis.call('HDEL', KEYS[1], 'released')
return 1`);

/** KEYS: devices. ARGV: callID. */
const CLEAR_ACTIVE = new LuaScript(`
local active = redis.call('HGET', KEYS[1], 'active')
if active and string.sub(active, -#ARGV[1] - 1) == ' ' .. ARGV[1] then redis.call('HSET', KEYS[1], 'released', 1) end
return 1`);

export class RedisDeviceStore implements DeviceStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async add(userID: string, sessionID: string, max: number): Promise<boolean> {
    const n = await guard('device add', () =>
      ADD.run(this.#client, [this.#key(userID)], [sessionID, max]),
    );
    return n === 1;
  }

  async remove(userID: string, sessionID: string): Promise<boolean> {
    const n = await guard('device remove', () =>
      REMOVE.run(this.#client, [this.#key(userID)], [sessionID]),
    );
    return n === 1;
  }

  async get(userID: string): Promise<UserDevices> {
    const h = await guard('devices get', () => this.#client.hgetall(this.#key(userID)));
    const listed: Array<[string, number]> = [];
    for (const [field, value] of Object.entries(h)) {
      if (field.startsWith('s:')) listed.push([field.slice(2), Number(value)]);
    }
    listed.sort((a, b) => a[1] - b[1]);
    const out: UserDevices = { sessionIDs: listed.map(([sid]) => sid) };
    const active = h.active;
    if (typeof active === 'string') {
      const space = active.indexOf(' ');
      out.active = { sessionID: active.slice(0, space), callID: active.slice(space + 1) };
      if (h.released !== undefined) out.active.released = true;
    }
    return out;
  }

  async setActive(userID: string, sessionID: string, callID: string): Promise<boolean> {
    const n = await guard('device set active', () =>
      SET_ACTIVE.run(this.#client, [this.#key(userID)], [sessionID, callID]),
    );
    return n === 1;
  }

  async clearActive(userID: string, callID: string): Promise<void> {
    await guard('device clear active', () =>
      CLEAR_ACTIVE.run(this.#client, [this.#key(userID)], [callID]),
    );
  }

  #key(userID: string): string {
    return `${this.#prefix}:devices:${userID}`;
  }
}
