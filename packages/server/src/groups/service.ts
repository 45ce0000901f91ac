/**
 * Groups, IM-style: a group ID, a name and a set of member user IDs, kept in the store. The call
 * layer only asks "is this user a member" and "who is in it" (GroupDirectory); the admin API and
 * CLI create, delete and change groups through the rest of GroupService.
 */
import { USER_ID_PATTERN } from '@ringline/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { GroupErrors } from './errors.js';
import { ServerError } from '../errors.js';

/** Group IDs: 1-64 letters, digits, `_`, `-`, `@`, `#` or `.` (as Tencent IM allows). */
export const GROUP_ID_PATTERN = '^[A-Za-z0-9_@#.-]{1,64}$';
/** The most members one group may hold. */
export const MAX_GROUP_MEMBERS = 10_000;
/** The longest group name, in characters. */
export const MAX_GROUP_NAME_LENGTH = 100;
/** The most groups one `list` page returns. */
export const MAX_LIST_LIMIT = 1000;

const groupIdRe = new RegExp(GROUP_ID_PATTERN);
const userIdRe = new RegExp(USER_ID_PATTERN);
/** Rows per INSERT / IN list, well under SQLite's and Postgres's bound-parameter limits. */
const CHUNK = 1000;

/** What the call layer needs from groups. */
export interface GroupDirectory {
  /** True if `userID` is a member of group `groupID` (false for an unknown group). */
  isMember(groupID: string, userID: string): Promise<boolean>;
  /**
   * Which of `userIDs` are members of the group (undefined for an unknown group). Reads only those
   * users' rows, so that asking costs the same whatever the group's size.
   */
  membersAmong(groupID: string, userIDs: string[]): Promise<string[] | undefined>;
  /** The group and its member user IDs, or undefined if there is no such group. */
  getGroup(groupID: string): Promise<{ groupID: string; members: string[] } | undefined>;
}

/** A group in a list. */
export interface GroupSummary {
  groupID: string;
  name: string;
  /** Unix ms. */
  createdAt: number;
  memberCount: number;
}

/** A group with its members. */
export interface GroupDetails {
  groupID: string;
  name: string;
  /** Unix ms. */
  createdAt: number;
  /** Ordered by user ID. */
  members: { userID: string; joinedAt: number }[];
}

export interface CreateGroup {
  groupID: string;
  name?: string | undefined;
  members?: string[] | undefined;
}

export interface GroupServiceOptions {
  /** Clock, Unix ms. */
  now?: () => number;
}

/** True for a group ID that GroupService accepts. */
export function isValidGroupID(value: unknown): value is string {
  return typeof value === 'string' && groupIdRe.test(value);
}

export class GroupService implements GroupDirectory {
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    options: GroupServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async isMember(groupID: string, userID: string): Promise<boolean> {
    if (!isValidGroupID(groupID) || typeof userID !== 'string') return false;
    const row = await this.db
      .selectFrom('group_members')
      .select('user_id')
      .where('group_id', '=', groupID)
      .where('user_id', '=', userID)
      .executeTakeFirst();
    return row !== undefined;
  }

  async membersAmong(groupID: string, userIDs: string[]): Promise<string[] | undefined> {
    if (!isValidGroupID(groupID)) return undefined;
    const users = userIDs.filter((u) => typeof u === 'string' && userIdRe.test(u));
    const found = users.length ? await membersAmong(this.db, groupID, users) : [];
    // Only a short answer needs to know whether the group exists at all.
    if (found.length < userIDs.length && !(await groupExists(this.db, groupID))) return undefined;
    return found;
  }

  async getGroup(groupID: string): Promise<{ groupID: string; members: string[] } | undefined> {
    const details = await this.find(groupID);
    return details && { groupID, members: details.members.map((m) => m.userID) };
  }

  /** The group with its members; rejects with GROUP_NOT_FOUND. */
  async show(groupID: string): Promise<GroupDetails> {
    checkGroupID('/groupID', groupID);
    const details = await this.find(groupID);
    if (!details) throw GroupErrors.notFound(groupID);
    return details;
  }

  /**
   * Creates a group, optionally with members (duplicates ignored). Rejects with GROUP_EXISTS,
   * INVALID_FIELD or INVALID_USER_ID; nothing is written on failure.
   */
  async create(input: CreateGroup): Promise<GroupDetails> {
    const { groupID } = input;
    checkGroupID('/groupID', groupID);
    const name = input.name ?? '';
    if (typeof name !== 'string' || name.length > MAX_GROUP_NAME_LENGTH) {
      throw GroupErrors.invalidName('/name', MAX_GROUP_NAME_LENGTH);
    }
    const members = uniqueUserIDs('/members', input.members ?? [], true);
    if (members.length > MAX_GROUP_MEMBERS) {
      throw GroupErrors.tooManyMembers('/members', groupID, members.length, MAX_GROUP_MEMBERS);
    }
    const createdAt = this.now();
    try {
      await this.db.transaction().execute(async (tx) => {
        if (await groupExists(tx, groupID)) throw GroupErrors.exists(groupID);
        await tx
          .insertInto('groups')
          .values({ group_id: groupID, name, created_at: createdAt })
          .execute();
        await insertMembers(tx, groupID, members, createdAt);
      });
    } catch (err) {
      // Another process inserted the same ID between our check and our insert.
      if (isUniqueViolation(err)) throw GroupErrors.exists(groupID);
      throw err;
    }
    return {
      groupID,
      name,
      createdAt,
      members: [...members].sort().map((userID) => ({ userID, joinedAt: createdAt })),
    };
  }

  /** Deletes a group and its memberships; rejects with GROUP_NOT_FOUND. */
  async delete(groupID: string): Promise<void> {
    checkGroupID('/groupID', groupID);
    await this.db.transaction().execute(async (tx) => {
      // Members first, so the delete does not depend on the database enforcing the foreign key.
      await tx.deleteFrom('group_members').where('group_id', '=', groupID).execute();
      const res = await tx.deleteFrom('groups').where('group_id', '=', groupID).executeTakeFirst();
      if (res.numDeletedRows === 0n) throw GroupErrors.notFound(groupID);
    });
  }

  /**
   * Adds users to a group; those already in it are reported, not an error. Rejects with
   * GROUP_NOT_FOUND, INVALID_USER_ID, or INVALID_FIELD when the group would exceed
   * MAX_GROUP_MEMBERS (then nobody is added).
   */
  async addMembers(
    groupID: string,
    userIDList: string[],
  ): Promise<{ added: string[]; alreadyMembers: string[] }> {
    checkGroupID('/groupID', groupID);
    const users = uniqueUserIDs('/userIDList', userIDList, false);
    if (users.length > MAX_GROUP_MEMBERS) {
      throw GroupErrors.tooManyMembers('/userIDList', groupID, users.length, MAX_GROUP_MEMBERS);
    }
    return this.db.transaction().execute(async (tx) => {
      if (!(await groupExists(tx, groupID))) throw GroupErrors.notFound(groupID);
      const already = new Set(await membersAmong(tx, groupID, users));
      const added = users.filter((u) => !already.has(u));
      if (added.length > 0) {
        const count = await memberCount(tx, groupID);
        if (count + added.length > MAX_GROUP_MEMBERS) {
          throw GroupErrors.tooManyMembers(
            '/userIDList',
            groupID,
            count + added.length,
            MAX_GROUP_MEMBERS,
          );
        }
        await insertMembers(tx, groupID, added, this.now());
      }
      return { added, alreadyMembers: users.filter((u) => already.has(u)) };
    });
  }

  /** Removes users from a group; those not in it are reported, not an error. GROUP_NOT_FOUND. */
  async removeMembers(
    groupID: string,
    userIDList: string[],
  ): Promise<{ removed: string[]; notMembers: string[] }> {
    checkGroupID('/groupID', groupID);
    const users = uniqueUserIDs('/userIDList', userIDList, false);
    return this.db.transaction().execute(async (tx) => {
      if (!(await groupExists(tx, groupID))) throw GroupErrors.notFound(groupID);
      const present = new Set(await membersAmong(tx, groupID, users));
      const removed = users.filter((u) => present.has(u));
      for (let i = 0; i < removed.length; i += CHUNK) {
        await tx
          .deleteFrom('group_members')
          .where('group_id', '=', groupID)
          .where('user_id', 'in', removed.slice(i, i + CHUNK))
          .execute();
      }
      return { removed, notMembers: users.filter((u) => !present.has(u)) };
    });
  }

  /**
   * Groups ordered by ID, a page at a time: pass the previous page's `next` as `after`.
   * `limit` 1..MAX_LIST_LIMIT, default 100.
   */
  async list(
    options: { after?: string | undefined; limit?: number | undefined } = {},
  ): Promise<{ groups: GroupSummary[]; next?: string }> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw ServerError.invalidField('/limit', `must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (options.after !== undefined) checkGroupID('/after', options.after);
    let query = this.db
      .selectFrom('groups as g')
      .leftJoin('group_members as m', 'm.group_id', 'g.group_id')
      .select(['g.group_id', 'g.name', 'g.created_at'])
      .select((eb) => eb.fn.count<number>('m.user_id').as('member_count'))
      .groupBy(['g.group_id', 'g.name', 'g.created_at'])
      .orderBy('g.group_id')
      // One extra row says whether there is another page.
      .limit(limit + 1);
    if (options.after !== undefined) query = query.where('g.group_id', '>', options.after);
    const rows = await query.execute();
    const groups = rows.slice(0, limit).map((r) => ({
      groupID: r.group_id,
      name: r.name,
      createdAt: Number(r.created_at),
      memberCount: Number(r.member_count),
    }));
    const last = groups[groups.length - 1];
    return rows.length > limit && last ? { groups, next: last.groupID } : { groups };
  }

  private async find(groupID: string): Promise<GroupDetails | undefined> {
    if (!isValidGroupID(groupID)) return undefined;
    // One read transaction, so the group and its member list are from the same moment.
    return this.db.transaction().execute(async (tx) => {
      const group = await tx
        .selectFrom('groups')
        .selectAll()
        .where('group_id', '=', groupID)
        .executeTakeFirst();
      if (!group) return undefined;
      const members = await tx
        .selectFrom('group_members')
        .select(['user_id', 'joined_at'])
        .where('group_id', '=', groupID)
        .orderBy('user_id')
        .execute();
      return {
        groupID,
        name: group.name,
        createdAt: Number(group.created_at),
        members: members.map((m) => ({ userID: m.user_id, joinedAt: Number(m.joined_at) })),
      };
    });
  }
}

function checkGroupID(path: string, value: unknown): asserts value is string {
  if (!isValidGroupID(value)) throw GroupErrors.invalidGroupID(path, value);
}

/** Validates a user ID list and drops duplicates, keeping first-seen order. */
function uniqueUserIDs(path: string, list: unknown, mayBeEmpty: boolean): string[] {
  if (!Array.isArray(list)) throw ServerError.invalidField(path, 'must be an array of user IDs');
  if (!mayBeEmpty && list.length === 0) throw GroupErrors.emptyList(path);
  list.forEach((u: unknown, i) => {
    if (typeof u !== 'string' || !userIdRe.test(u)) {
      throw ServerError.invalidUserID(`${path}/${i}`, u);
    }
  });
  return [...new Set(list as string[])];
}

type Db = Kysely<Database> | Transaction<Database>;

async function groupExists(db: Db, groupID: string): Promise<boolean> {
  const row = await db
    .selectFrom('groups')
    .select('group_id')
    .where('group_id', '=', groupID)
    .executeTakeFirst();
  return row !== undefined;
}

async function memberCount(db: Db, groupID: string): Promise<number> {
  const row = await db
    .selectFrom('group_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('group_id', '=', groupID)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Which of `users` are members of the group. */
async function membersAmong(db: Db, groupID: string, users: string[]): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < users.length; i += CHUNK) {
    const rows = await db
      .selectFrom('group_members')
      .select('user_id')
      .where('group_id', '=', groupID)
      .where('user_id', 'in', users.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) found.push(r.user_id);
  }
  return found;
}

async function insertMembers(
  db: Db,
  groupID: string,
  users: string[],
  joinedAt: number,
): Promise<void> {
  for (let i = 0; i < users.length; i += CHUNK) {
    await db
      .insertInto('group_members')
      .values(
        users
          .slice(i, i + CHUNK)
          .map((user_id) => ({ group_id: groupID, user_id, joined_at: joinedAt })),
      )
      .execute();
  }
}

/** A primary-key/unique violation, from SQLite (better-sqlite3) or Postgres (pg). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === '23505'
  );
}
