/**
 * Calls and invitations in Redis. A call and its invitations are one hash — field `call` holds the
 * call record, field `inv:<inviteID>` each invitation — so `load` is one HGETALL and a commit is
 * one script that rewrites the hash and the invitation index together. The claims (user → call,
 * group → call) are single keys set with a compare-and-set script.
 *
 * Each call whose SFU room a node drives is in that node's set (`sfu-node:<nodeID>`, kept by the
 * commit script, with the owner also in the hash's `sfuNode` field), so a node taking over a dead
 * one finds its calls without a scan.
 *
 * The scripts touch keys they derive from the prefix (a deleted call's invitation index entries,
 * the owner sets), so the store needs one Redis primary, not a sharded Redis Cluster.
 */
import type { Redis } from 'ioredis';
import { checkChanges } from '../changes.js';
import type { CallChanges, CallRecord, CallStore, InvitationRecord, LoadedCall } from '../types.js';
import { guard, LuaScript } from './connection.js';

const CALL_FIELD = 'call';
const INVITE_FIELD = 'inv:';

/**
 * KEYS: the call's hash. ARGV: invite index prefix, SFU owner set prefix, callID, then `delete`,
 * or `write` with the call JSON ('' to keep it), its SFU owner node ('' for none; ignored when the
 * JSON is ''), the number of written invitations, their (id, JSON) pairs, then deleted IDs.
 * Returns 1, or an error reply when invitations are written for a call that is not stored.
 */
const COMMIT = new LuaScript(`
local call = KEYS[1]
local index = ARGV[1]
local owners = ARGV[2]
local callID = ARGV[3]
local oldOwner = redis.call('HGET', call, 'sfuNode')
if ARGV[4] == 'delete' then
  if oldOwner then redis.call('SREM', owners .. oldOwner, callID) end
  local fields = redis.call('HKEYS', call)
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 4) == 'inv:' then redis.call('DEL', index .. string.sub(f, 5)) end
  end
  redis.call('DEL', call)
  return 1
end
local record = ARGV[5]
local written = tonumber(ARGV[7])
if record == '' and redis.call('HEXISTS', call, 'call') == 0 then
  if written > 0 then return redis.error_reply('invitations written for a call that is not stored') end
  return 1
end
if record ~= '' then
  redis.call('HSET', call, 'call', record)
  local owner = ARGV[6]
  if oldOwner and oldOwner ~= owner then redis.call('SREM', owners .. oldOwner, callID) end
  if owner == '' then
    redis.call('HDEL', call, 'sfuNode')
  elseif oldOwner ~= owner then
    redis.call('HSET', call, 'sfuNode', owner)
    redis.call('SADD', owners .. owner, callID)
  end
end
for i = 0, written - 1 do
  local id = ARGV[8 + 2 * i]
  redis.call('HSET', call, 'inv:' .. id, ARGV[9 + 2 * i])
  redis.call('SET', index .. id, callID)
end
for i = 8 + 2 * written, #ARGV do
  if redis.call('HDEL', call, 'inv:' .. ARGV[i]) == 1 then redis.call('DEL', index .. ARGV[i]) end
end
return 1`);

/** KEYS: the claim. ARGV: callID. 1 when the key is (now) the call's. */
const CLAIM = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
if not current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`);

/** KEYS: the claim. ARGV: callID. Deletes it only while it names the call. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

export class RedisCallStore implements CallStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async load(callID: string): Promise<LoadedCall | undefined> {
    const fields = await guard('call load', () => this.#client.hgetall(this.#call(callID)));
    const record = fields[CALL_FIELD];
    if (record === undefined) return undefined;
    const invitations: InvitationRecord[] = [];
    for (const [field, json] of Object.entries(fields)) {
      if (field.startsWith(INVITE_FIELD)) invitations.push(JSON.parse(json) as InvitationRecord);
    }
    return { call: JSON.parse(record) as CallRecord, invitations };
  }

  async invitationCall(inviteID: string): Promise<string | undefined> {
    const callID = await guard('invitation lookup', () => this.#client.get(this.#invite(inviteID)));
    return callID ?? undefined;
  }

  async commit(callID: string, changes: CallChanges): Promise<void> {
    // What can be checked without the store is checked here; "is the call stored" by the script.
    checkChanges(callID, changes, true);
    const head = [this.#invite(''), this.#owners(''), callID];
    const args =
      changes.call === null
        ? [...head, 'delete']
        : [
            ...head,
            'write',
            changes.call ? JSON.stringify(changes.call) : '',
            changes.call?.sfu?.node ?? '',
            String(changes.invitations?.length ?? 0),
            ...(changes.invitations ?? []).flatMap((inv) => [inv.inviteID, JSON.stringify(inv)]),
            ...(changes.deletedInvitations ?? []),
          ];
    await guard('call commit', () => COMMIT.run(this.#client, [this.#call(callID)], args));
  }

  async sfuCalls(nodeID: string): Promise<string[]> {
    return guard('sfu calls', () => this.#client.smembers(this.#owners(nodeID)));
  }

  async callMembers(callID: string): Promise<string[] | undefined> {
    const record = await guard('call members', () =>
      this.#client.hget(this.#call(callID), CALL_FIELD),
    );
    if (record === null) return undefined;
    return (JSON.parse(record) as CallRecord).members.map((m) => m.userID);
  }

  async claimUser(userID: string, callID: string): Promise<boolean> {
    return this.#claim(this.#user(userID), callID);
  }
  async userCall(userID: string): Promise<string | undefined> {
    return (await guard('user call', () => this.#client.get(this.#user(userID)))) ?? undefined;
  }
  async releaseUser(userID: string, callID: string): Promise<void> {
    await this.#release(this.#user(userID), callID);
  }
  async claimGroup(groupID: string, callID: string): Promise<boolean> {
    return this.#claim(this.#group(groupID), callID);
  }
  async groupCall(groupID: string): Promise<string | undefined> {
    return (await guard('group call', () => this.#client.get(this.#group(groupID)))) ?? undefined;
  }
  async releaseGroup(groupID: string, callID: string): Promise<void> {
    await this.#release(this.#group(groupID), callID);
  }

  async #claim(key: string, callID: string): Promise<boolean> {
    const won = await guard('claim', () => CLAIM.run(this.#client, [key], [callID]));
    return won === 1;
  }
  async #release(key: string, callID: string): Promise<void> {
    await guard('release', () => RELEASE.run(this.#client, [key], [callID]));
  }

  #call(callID: string): string {
    return `${this.#prefix}:call:${callID}`;
  }
  #owners(nodeID: string): string {
    return `${this.#prefix}:sfu-node:${nodeID}`;
  }
  #invite(inviteID: string): string {
    return `${this.#prefix}:invite:${inviteID}`;
  }
  #user(userID: string): string {
    return `${this.#prefix}:user-call:${userID}`;
  }
  #group(groupID: string): string {
    return `${this.#prefix}:group-call:${groupID}`;
  }
}
