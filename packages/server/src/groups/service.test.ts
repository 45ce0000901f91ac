/** GroupService on each database the store runs on (SQLite, and a real Postgres). */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ServerErrorCode } from '@ringline/protocol';
import { ServerError } from '../errors.js';
import { openStore, type Store } from '../store/store.js';
import { postgresBackend, sqliteBackend } from '../testing/store-backends.js';
import { GroupService, MAX_GROUP_MEMBERS, type GroupDirectory } from './index.js';

const backends = [sqliteBackend(), postgresBackend()];

/** Resolves with the ServerError a promise rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServerError);
  return err as ServerError;
}

const users = (n: number, prefix = 'u'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe.each(backends)('GroupService on $name', (backend) => {
  let store: Store;
  let groups: GroupService;
  let clock: number;
  beforeEach(async () => {
    store = await openStore(await backend.fresh());
    clock = 1_700_000_000_000;
    groups = new GroupService(store.db, { now: () => clock });
  });
  afterEach(async () => {
    await store.close();
  });

  describe('GroupService as the GroupDirectory', () => {
    test('answers membership and member lists', async () => {
      const dir: GroupDirectory = groups;
      await groups.create({ groupID: 'team', members: ['bob', 'alice'] });
      expect(await dir.isMember('team', 'alice')).toBe(true);
      expect(await dir.isMember('team', 'carol')).toBe(false);
      expect(await dir.getGroup('team')).toEqual({ groupID: 'team', members: ['alice', 'bob'] });
    });

    test('says which of the named users are members; an empty group is a group', async () => {
      await groups.create({ groupID: 'team', members: ['bob', 'alice'] });
      await groups.create({ groupID: 'empty' });
      expect((await groups.membersAmong('team', ['alice', 'carol', 'bob']))?.sort()).toEqual([
        'alice',
        'bob',
      ]);
      expect(await groups.membersAmong('team', ['carol', '__proto__', 'not valid!'])).toEqual([]);
      expect(await groups.membersAmong('empty', ['alice'])).toEqual([]);
      expect(await groups.membersAmong('nope', ['alice'])).toBeUndefined();
      expect(await groups.membersAmong('bad id!', ['alice'])).toBeUndefined();
    });

    test('an unknown or malformed group is no group, without throwing', async () => {
      expect(await groups.isMember('nope', 'alice')).toBe(false);
      expect(await groups.getGroup('nope')).toBeUndefined();
      expect(await groups.isMember('bad id!', 'alice')).toBe(false);
      expect(await groups.getGroup('x'.repeat(65))).toBeUndefined();
    });
  });

  describe('create', () => {
    test('creates a group with a name, members and their join time', async () => {
      const made = await groups.create({
        groupID: 'Team-1@corp#x.y_z',
        name: 'Team one',
        members: ['a', 'b', 'a'],
      });
      expect(made).toEqual({
        groupID: 'Team-1@corp#x.y_z',
        name: 'Team one',
        createdAt: clock,
        members: [
          { userID: 'a', joinedAt: clock },
          { userID: 'b', joinedAt: clock },
        ],
      });
      expect(await groups.show('Team-1@corp#x.y_z')).toEqual(made);
    });

    test('an empty group with no name is allowed', async () => {
      expect(await groups.create({ groupID: 'g' })).toMatchObject({ name: '', members: [] });
    });

    test('an existing ID is GROUP_EXISTS and leaves the group as it was', async () => {
      await groups.create({ groupID: 'g', name: 'first', members: ['a'] });
      const err = await rejection(groups.create({ groupID: 'g', name: 'second', members: ['b'] }));
      expect(err.code).toBe(ServerErrorCode.GROUP_EXISTS);
      expect(err.message).toBe('group "g" already exists');
      expect(await groups.show('g')).toMatchObject({ name: 'first', members: [{ userID: 'a' }] });
    });

    test('two creates of one ID at once: one wins, the other is GROUP_EXISTS', async () => {
      const results = await Promise.allSettled([
        groups.create({ groupID: 'race', members: ['a'] }),
        groups.create({ groupID: 'race', members: ['b'] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((failed.reason as ServerError).name).toBe('GROUP_EXISTS');
    });

    test.each([
      ['', '/groupID'],
      ['x'.repeat(65), '/groupID'],
      ['has space', '/groupID'],
      ['slash/no', '/groupID'],
      ['ünïcode', '/groupID'],
    ])('group ID %j is INVALID_FIELD at %s', async (groupID, path) => {
      const err = await rejection(groups.create({ groupID }));
      expect(err.name).toBe('INVALID_FIELD');
      expect(err.message).toMatch(new RegExp(`^${path}: .*not a valid group ID`));
    });

    test('a 64-character group ID is fine', async () => {
      await groups.create({ groupID: 'g'.repeat(64) });
      expect(await groups.getGroup('g'.repeat(64))).toBeDefined();
    });

    test('a name over 100 characters is INVALID_FIELD /name', async () => {
      const err = await rejection(groups.create({ groupID: 'g', name: 'n'.repeat(101) }));
      expect(err.message).toMatch(/^\/name: must be a string of at most 100 characters/);
      expect(await groups.getGroup('g')).toBeUndefined();
    });

    test('a bad member ID is INVALID_USER_ID naming its index, and nothing is created', async () => {
      const err = await rejection(groups.create({ groupID: 'g', members: ['ok', 'not ok'] }));
      expect(err.code).toBe(ServerErrorCode.INVALID_USER_ID);
      expect(err.message).toMatch(/^\/members\/1: "not ok" is not a valid user ID/);
      expect(await groups.getGroup('g')).toBeUndefined();
    });
  });

  describe('delete', () => {
    test('removes the group and its memberships', async () => {
      await groups.create({ groupID: 'g', members: ['a'] });
      await groups.delete('g');
      expect(await groups.getGroup('g')).toBeUndefined();
      expect(await groups.isMember('g', 'a')).toBe(false);
      // The ID is free again, and the old members are not resurrected.
      expect((await groups.create({ groupID: 'g' })).members).toEqual([]);
    });

    test('an unknown group is GROUP_NOT_FOUND', async () => {
      const err = await rejection(groups.delete('nope'));
      expect(err.code).toBe(ServerErrorCode.GROUP_NOT_FOUND);
      expect(err.message).toBe('no group "nope"');
    });
  });

  describe('addMembers / removeMembers', () => {
    beforeEach(async () => {
      await groups.create({ groupID: 'g', members: ['a'] });
    });

    test('add reports who was added and who already was a member', async () => {
      clock += 5000;
      expect(await groups.addMembers('g', ['b', 'a', 'c', 'b'])).toEqual({
        added: ['b', 'c'],
        alreadyMembers: ['a'],
      });
      const shown = await groups.show('g');
      expect(shown.members).toEqual([
        { userID: 'a', joinedAt: clock - 5000 },
        { userID: 'b', joinedAt: clock },
        { userID: 'c', joinedAt: clock },
      ]);
    });

    test('remove reports who was removed and who was not a member', async () => {
      await groups.addMembers('g', ['b']);
      expect(await groups.removeMembers('g', ['a', 'zed'])).toEqual({
        removed: ['a'],
        notMembers: ['zed'],
      });
      expect(await groups.getGroup('g')).toEqual({ groupID: 'g', members: ['b'] });
    });

    test('removing every member keeps an empty group', async () => {
      await groups.removeMembers('g', ['a']);
      expect(await groups.getGroup('g')).toEqual({ groupID: 'g', members: [] });
    });

    test.each(['addMembers', 'removeMembers'] as const)(
      '%s on an unknown group is GROUP_NOT_FOUND',
      async (method) => {
        expect((await rejection(groups[method]('nope', ['a']))).name).toBe('GROUP_NOT_FOUND');
      },
    );

    test.each(['addMembers', 'removeMembers'] as const)(
      '%s with an empty list is INVALID_FIELD and a bad ID is INVALID_USER_ID',
      async (method) => {
        const empty = await rejection(groups[method]('g', []));
        expect(empty.message).toBe('/userIDList: must list at least one user ID');
        const bad = await rejection(groups[method]('g', ['b', 'x'.repeat(33)]));
        expect(bad.name).toBe('INVALID_USER_ID');
        expect(bad.message).toMatch(/^\/userIDList\/1: /);
        expect(await groups.getGroup('g')).toEqual({ groupID: 'g', members: ['a'] });
      },
    );
  });

  describe(`the ${MAX_GROUP_MEMBERS}-member limit`, () => {
    test('a group can be made full; one more member is refused and nobody is added', async () => {
      await groups.create({ groupID: 'big', members: users(MAX_GROUP_MEMBERS - 1) });
      expect(await groups.addMembers('big', ['last', 'u0'])).toEqual({
        added: ['last'],
        alreadyMembers: ['u0'],
      });
      const err = await rejection(groups.addMembers('big', ['extra1', 'extra2']));
      expect(err.name).toBe('INVALID_FIELD');
      expect(err.message).toBe(
        `/userIDList: group "big" would have ${MAX_GROUP_MEMBERS + 2} members; a group holds at most ${MAX_GROUP_MEMBERS}`,
      );
      expect(await groups.isMember('big', 'extra1')).toBe(false);
      // Members already in it do not count twice.
      expect(await groups.addMembers('big', ['u5'])).toEqual({ added: [], alreadyMembers: ['u5'] });
    });

    test('creating with more than the limit is refused', async () => {
      const err = await rejection(
        groups.create({ groupID: 'big', members: users(MAX_GROUP_MEMBERS + 1) }),
      );
      expect(err.message).toMatch(/^\/members: .*at most 10000/);
      expect(await groups.getGroup('big')).toBeUndefined();
    });
  });

  describe('list', () => {
    test('lists groups by ID with member counts, a page at a time', async () => {
      await groups.create({ groupID: 'b', name: 'B', members: ['x', 'y'] });
      await groups.create({ groupID: 'a' });
      await groups.create({ groupID: 'c', members: ['x'] });
      const first = await groups.list({ limit: 2 });
      expect(first).toEqual({
        groups: [
          { groupID: 'a', name: '', createdAt: clock, memberCount: 0 },
          { groupID: 'b', name: 'B', createdAt: clock, memberCount: 2 },
        ],
        next: 'b',
      });
      expect(await groups.list({ after: first.next, limit: 2 })).toEqual({
        groups: [{ groupID: 'c', name: '', createdAt: clock, memberCount: 1 }],
      });
    });

    test('no groups is an empty list', async () => {
      expect(await groups.list()).toEqual({ groups: [] });
    });

    test.each([0, 1001, 1.5])('limit %s is INVALID_FIELD /limit', async (limit) => {
      expect((await rejection(groups.list({ limit }))).message).toMatch(/^\/limit: /);
    });
  });
});
