/**
 * One behaviour suite for every CallStore implementation (socket.io runs its adapter tests against
 * each adapter the same way): call `callStoreConformance(name, factory)` from a test file, and it
 * declares the describe/it blocks. Each test gets a fresh, empty store from `factory` and closes it
 * afterwards. The semantics it checks are CallStore's doc comment (cluster/types.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, MediaMode } from '@ringline/protocol';
import type { CallRecord, CallStore, InvitationRecord, LoadedCall } from '../types.js';

/** A store under test, and how to release it (connections, temp dirs). */
export interface CallStoreFixture {
  store: CallStore;
  close?(): Promise<void>;
}

/** A fresh, empty store. */
export type CallStoreFactory = () => Promise<CallStoreFixture>;

/** A call record with every field set; `over` changes some. */
export function sampleCall(callID: string, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callID,
    roomID: 1234,
    callType: CallType.VIDEO,
    sponsor: 'alice',
    groupID: 'team',
    group: true,
    media: MediaMode.SFU,
    state: 'connected',
    members: [
      { userID: 'alice', audio: true, video: true },
      { userID: 'bob', audio: true, video: false },
    ],
    joined: ['alice', 'bob'],
    inviteIDs: [],
    createdAt: 1_700_000_000_000,
    sfu: { node: 'node-a', janus: 'ws://10.0.0.21:8188', room: 4_242_424_242_424 },
    ...over,
  };
}

/** An invitation record of `callID` with every field set; `over` changes some. */
export function sampleInvitation(
  callID: string,
  inviteID: string,
  over: Partial<InvitationRecord> = {},
): InvitationRecord {
  return {
    inviteID,
    callID,
    inviter: 'alice',
    callType: CallType.VIDEO,
    groupID: 'team',
    offlinePushInfo: { title: 'call', description: 'from alice' },
    userIDList: ['bob', 'carol'],
    states: ['accepted', 'ringing'],
    timeout: 30,
    createdAt: 1_700_000_000_000,
    expiresAt: 1_700_000_030_000,
    ...over,
  };
}

/** A loaded call with its invitations in inviteID order, to compare with toEqual. */
const sorted = (loaded: LoadedCall | undefined) =>
  loaded && {
    call: loaded.call,
    invitations: [...loaded.invitations].sort((a, b) => a.inviteID.localeCompare(b.inviteID)),
  };

export function callStoreConformance(name: string, factory: CallStoreFactory): void {
  describe(`CallStore conformance: ${name}`, () => {
    const open: CallStoreFixture[] = [];
    afterEach(async () => {
      for (const f of open.splice(0)) await f.close?.();
    });
    const fresh = async (): Promise<CallStore> => {
      const f = await factory();
      open.push(f);
      return f.store;
    };

    /** Commits a call with two invitations; returns the records written. */
    const seed = async (store: CallStore, callID = 'c1') => {
      const invitations = [
        sampleInvitation(callID, `${callID}-i1`),
        sampleInvitation(callID, `${callID}-i2`, { userIDList: ['dave'], states: ['ringing'] }),
      ];
      const call = sampleCall(callID, { inviteIDs: invitations.map((i) => i.inviteID) });
      await store.commit(callID, { call, invitations });
      return { call, invitations };
    };

    describe('load and commit', () => {
      it('load of a call never stored is undefined', async () => {
        const store = await fresh();
        expect(await store.load('nope')).toBeUndefined();
        expect(await store.invitationCall('nope')).toBeUndefined();
        expect(await store.callMembers('nope')).toBeUndefined();
      });

      it('load returns what commit wrote: the call and all its invitations', async () => {
        const store = await fresh();
        const written = await seed(store);
        expect(sorted(await store.load('c1'))).toEqual(sorted(written));
      });

      it('a call without invitations loads with none', async () => {
        const store = await fresh();
        await store.commit('c1', { call: sampleCall('c1') });
        expect(await store.load('c1')).toEqual({ call: sampleCall('c1'), invitations: [] });
      });

      it('commit replaces the call whole: a field left out is gone', async () => {
        const store = await fresh();
        await seed(store);
        const rest = sampleCall('c1', { state: 'ringing' });
        delete rest.groupID;
        await store.commit('c1', { call: rest });
        const loaded = await store.load('c1');
        expect(loaded?.call).toEqual(rest);
        expect(loaded?.call).not.toHaveProperty('groupID');
        expect(loaded?.invitations).toHaveLength(2);
      });

      it('commit writes the invitations named and leaves the others as they were', async () => {
        const store = await fresh();
        const { invitations } = await seed(store);
        const changed = { ...invitations[1]!, states: ['timeout' as const] };
        await store.commit('c1', { invitations: [changed] });
        expect(sorted(await store.load('c1'))?.invitations).toEqual([invitations[0], changed]);
      });

      it('an invitation added later belongs to the call', async () => {
        const store = await fresh();
        const { call } = await seed(store);
        const third = sampleInvitation('c1', 'c1-i3');
        await store.commit('c1', {
          call: { ...call, inviteIDs: [...call.inviteIDs, 'c1-i3'] },
          invitations: [third],
        });
        expect((await store.load('c1'))?.invitations).toHaveLength(3);
        expect(await store.invitationCall('c1-i3')).toBe('c1');
      });

      it('deletedInvitations removes those and ignores unknown or other calls’ IDs', async () => {
        const store = await fresh();
        const { invitations } = await seed(store, 'c1');
        await seed(store, 'c2');
        await store.commit('c1', { deletedInvitations: ['c1-i2', 'nope', 'c2-i1'] });
        expect((await store.load('c1'))?.invitations).toEqual([invitations[0]]);
        expect(await store.invitationCall('c1-i2')).toBeUndefined();
        expect(await store.invitationCall('c2-i1')).toBe('c2');
        expect((await store.load('c2'))?.invitations).toHaveLength(2);
      });

      it('calls are independent of each other', async () => {
        const store = await fresh();
        const one = await seed(store, 'c1');
        const two = await seed(store, 'c2');
        expect(sorted(await store.load('c1'))).toEqual(sorted(one));
        expect(sorted(await store.load('c2'))).toEqual(sorted(two));
      });

      it('user IDs such as __proto__ and constructor stay data', async () => {
        const store = await fresh();
        const inv = sampleInvitation('c1', 'c1-i1', {
          userIDList: ['__proto__', 'constructor', 'toString'],
          states: ['ringing', 'busy', 'rejected'],
        });
        const call = sampleCall('c1', {
          members: [{ userID: '__proto__', audio: true, video: true }],
          joined: ['__proto__'],
          inviteIDs: ['c1-i1'],
        });
        await store.commit('c1', { call, invitations: [inv] });
        expect(await store.load('c1')).toEqual({ call, invitations: [inv] });
        expect(await store.callMembers('c1')).toEqual(['__proto__']);
      });
    });

    describe('records are values', () => {
      it('changing a record after commit changes nothing stored', async () => {
        const store = await fresh();
        const { call, invitations } = await seed(store);
        const before = sorted(await store.load('c1'));
        call.members.push({ userID: 'mallory', audio: true, video: true });
        call.state = 'ringing';
        invitations[0]!.states[1] = 'accepted';
        invitations[0]!.userIDList.push('mallory');
        expect(sorted(await store.load('c1'))).toEqual(before);
      });

      it('each load returns a fresh copy', async () => {
        const store = await fresh();
        await seed(store);
        const first = (await store.load('c1'))!;
        first.call.members.length = 0;
        first.call.inviteIDs.push('forged');
        first.invitations[0]!.states[0] = 'cancelled';
        first.invitations.length = 0;
        const second = (await store.load('c1'))!;
        expect(second.call.members).toHaveLength(2);
        expect(second.call.inviteIDs).not.toContain('forged');
        expect(second.invitations).toHaveLength(2);
        expect(second.invitations.map((i) => i.states[0]).sort()).toEqual(['accepted', 'ringing']);
      });

      it('callMembers lists who is in the call (not who rings), as a copy; nothing for no call', async () => {
        const store = await fresh();
        await store.commit('c1', {
          call: sampleCall('c1', { inviteIDs: ['i1'] }),
        });
        const members = await store.callMembers('c1');
        expect(members).toEqual(['alice', 'bob']);
        members!.push('mallory');
        expect(await store.callMembers('c1')).toEqual(['alice', 'bob']);
        expect(await store.callMembers('nope')).toBeUndefined();
      });
    });

    describe('deleting a call', () => {
      it('removes the call with every invitation it has', async () => {
        const store = await fresh();
        await seed(store, 'c1');
        const other = await seed(store, 'c2');
        await store.commit('c1', { call: null });
        expect(await store.load('c1')).toBeUndefined();
        expect(await store.callMembers('c1')).toBeUndefined();
        expect(await store.invitationCall('c1-i1')).toBeUndefined();
        expect(await store.invitationCall('c1-i2')).toBeUndefined();
        expect(sorted(await store.load('c2'))).toEqual(sorted(other));
      });

      it('of a call never stored is a no-op', async () => {
        const store = await fresh();
        await store.commit('nope', { call: null });
        expect(await store.load('nope')).toBeUndefined();
      });

      it('leaves the user and group claims alone (the call layer releases them)', async () => {
        const store = await fresh();
        await seed(store);
        expect(await store.claimUser('bob', 'c1')).toBe(true);
        expect(await store.claimGroup('team', 'c1')).toBe(true);
        await store.commit('c1', { call: null });
        expect(await store.userCall('bob')).toBe('c1');
        expect(await store.groupCall('team')).toBe('c1');
      });

      it('then the same callID may be stored afresh, without the old invitations', async () => {
        const store = await fresh();
        await seed(store);
        await store.commit('c1', { call: null });
        await store.commit('c1', { call: sampleCall('c1') });
        expect(await store.load('c1')).toEqual({ call: sampleCall('c1'), invitations: [] });
      });
    });

    describe('invalid changes are refused whole', () => {
      const cases: Array<[string, (s: CallStore) => Promise<void>]> = [
        ['a call record of another call', (s) => s.commit('c1', { call: sampleCall('c9') })],
        [
          'an invitation of another call',
          (s) =>
            s.commit('c1', { call: sampleCall('c1'), invitations: [sampleInvitation('c9', 'x')] }),
        ],
        [
          'invitations of a call neither stored nor written',
          (s) => s.commit('c7', { invitations: [sampleInvitation('c7', 'x')] }),
        ],
        [
          'invitations written while the call is deleted',
          (s) => s.commit('c1', { call: null, invitations: [sampleInvitation('c1', 'x')] }),
        ],
        [
          'an invitation both written and deleted',
          (s) =>
            s.commit('c1', {
              invitations: [sampleInvitation('c1', 'c1-i1', { states: ['accepted', 'timeout'] })],
              deletedInvitations: ['c1-i1'],
            }),
        ],
      ];
      for (const [what, attempt] of cases) {
        it(`${what}: rejects, and nothing of the commit is written`, async () => {
          const store = await fresh();
          const written = await seed(store);
          await expect(attempt(store)).rejects.toThrow();
          expect(sorted(await store.load('c1'))).toEqual(sorted(written));
          expect(await store.load('c7')).toBeUndefined();
          expect(await store.load('c9')).toBeUndefined();
          expect(await store.invitationCall('x')).toBeUndefined();
        });
      }
    });

    describe('atomic commits', () => {
      it('a load running beside commits sees one commit whole, never a mix', async () => {
        const store = await fresh();
        // Every commit writes one version into the call and both invitations.
        const version = (v: number) => {
          const invitations = [
            sampleInvitation('c1', 'c1-i1', { timeout: v }),
            sampleInvitation('c1', 'c1-i2', { timeout: v }),
          ];
          return {
            call: sampleCall('c1', { roomID: v, inviteIDs: ['c1-i1', 'c1-i2'] }),
            invitations,
          };
        };
        await store.commit('c1', version(0));
        const seen: number[][] = [];
        const writes: Promise<void>[] = [];
        const reads: Promise<void>[] = [];
        for (let v = 1; v <= 50; v++) {
          writes.push(store.commit('c1', version(v)));
          reads.push(
            store.load('c1').then((l) => {
              seen.push([l!.call.roomID, ...l!.invitations.map((i) => i.timeout)]);
            }),
          );
        }
        await Promise.all([...writes, ...reads]);
        expect(seen).toHaveLength(50);
        for (const [room, ...timeouts] of seen) expect(timeouts).toEqual([room, room]);
        // Concurrent commits have no order (callers serialise them with the call's lock), but the
        // state they leave is one of them, whole.
        const last = (await store.load('c1'))!;
        expect(last.invitations.map((i) => i.timeout)).toEqual([
          last.call.roomID,
          last.call.roomID,
        ]);
      });
    });

    describe('calls by SFU owner node', () => {
      it('sfuCalls lists the calls whose room a node drives, following each commit', async () => {
        const store = await fresh();
        const onA = (id: string) => sampleCall(id);
        const onB = (id: string) =>
          sampleCall(id, { sfu: { ...sampleCall(id).sfu!, node: 'node-b' } });
        await store.commit('c1', { call: onA('c1') });
        await store.commit('c2', { call: onA('c2') });
        await store.commit('c3', { call: onB('c3') });
        await store.commit('p2p', {
          call: sampleCall('p2p', { media: MediaMode.P2P, sfu: undefined }),
        });
        expect((await store.sfuCalls('node-a')).sort()).toEqual(['c1', 'c2']);
        expect(await store.sfuCalls('node-b')).toEqual(['c3']);
        expect(await store.sfuCalls('node-c')).toEqual([]);
        // Handed over: c2 now belongs to node-b.
        await store.commit('c2', { call: onB('c2') });
        expect(await store.sfuCalls('node-a')).toEqual(['c1']);
        expect((await store.sfuCalls('node-b')).sort()).toEqual(['c2', 'c3']);
        // An invitation-only commit keeps the owner; ending the call removes it.
        await store.commit('c1', { invitations: [sampleInvitation('c1', 'i1')] });
        expect(await store.sfuCalls('node-a')).toEqual(['c1']);
        await store.commit('c1', { call: null });
        expect(await store.sfuCalls('node-a')).toEqual([]);
        // A call whose room is gone (no placement) belongs to nobody.
        await store.commit('c3', { call: sampleCall('c3', { sfu: undefined }) });
        expect(await store.sfuCalls('node-b')).toEqual(['c2']);
      });
    });

    describe('claims', () => {
      it('claimUser binds a free user, again for the same call, never for another', async () => {
        const store = await fresh();
        expect(await store.userCall('bob')).toBeUndefined();
        expect(await store.claimUser('bob', 'c1')).toBe(true);
        expect(await store.claimUser('bob', 'c1')).toBe(true);
        expect(await store.claimUser('bob', 'c2')).toBe(false);
        expect(await store.userCall('bob')).toBe('c1');
        expect(await store.claimUser('carol', 'c2')).toBe(true);
        expect(await store.userCall('carol')).toBe('c2');
      });

      it('of concurrent claims on one user exactly one wins', async () => {
        const store = await fresh();
        const calls = Array.from({ length: 20 }, (_, i) => `c${i}`);
        const won = await Promise.all(calls.map((c) => store.claimUser('bob', c)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect(await store.userCall('bob')).toBe(calls[won.indexOf(true)]);
      });

      it('releaseUser releases only a binding to the call named', async () => {
        const store = await fresh();
        await store.claimUser('bob', 'c1');
        await store.releaseUser('bob', 'c2');
        expect(await store.userCall('bob')).toBe('c1');
        await store.releaseUser('bob', 'c1');
        expect(await store.userCall('bob')).toBeUndefined();
        expect(await store.claimUser('bob', 'c2')).toBe(true);
        await store.releaseUser('nobody', 'c1');
        expect(await store.userCall('nobody')).toBeUndefined();
      });

      it('claimGroup makes one ongoing call per group, again for the same call', async () => {
        const store = await fresh();
        expect(await store.groupCall('team')).toBeUndefined();
        expect(await store.claimGroup('team', 'c1')).toBe(true);
        expect(await store.claimGroup('team', 'c1')).toBe(true);
        expect(await store.claimGroup('team', 'c2')).toBe(false);
        expect(await store.groupCall('team')).toBe('c1');
        expect(await store.claimGroup('other', 'c2')).toBe(true);
      });

      it('of concurrent claims on one group exactly one wins', async () => {
        const store = await fresh();
        const calls = Array.from({ length: 20 }, (_, i) => `c${i}`);
        const won = await Promise.all(calls.map((c) => store.claimGroup('team', c)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect(await store.groupCall('team')).toBe(calls[won.indexOf(true)]);
      });

      it('releaseGroup releases only the call named', async () => {
        const store = await fresh();
        await store.claimGroup('team', 'c1');
        await store.releaseGroup('team', 'c2');
        expect(await store.groupCall('team')).toBe('c1');
        await store.releaseGroup('team', 'c1');
        expect(await store.groupCall('team')).toBeUndefined();
        expect(await store.claimGroup('team', 'c2')).toBe(true);
      });

      it('user and group claims are separate namespaces', async () => {
        const store = await fresh();
        expect(await store.claimUser('same', 'c1')).toBe(true);
        expect(await store.claimGroup('same', 'c2')).toBe(true);
        expect(await store.userCall('same')).toBe('c1');
        expect(await store.groupCall('same')).toBe('c2');
      });
    });
  });
}
