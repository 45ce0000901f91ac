/**
 * Group calls through the WebSocket protocol, against the real groups store (SQLite in the test
 * server's data dir) and a real Janus started through `createSfu` auto mode, shared by the file.
 * The media test publishes and receives real frames with @roamhq/wrtc peers, so it runs only
 * inside the test network namespace (scripts/in-netns.sh).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CallType, MAX_CALL_MEMBERS, ServerErrorCode } from '@ringline/protocol';
import type { TestClient } from '../testing/client.js';
import {
  expectNoCallState,
  makeGroup,
  startTestServer,
  type TestServer,
} from '../testing/server.js';
import { hasJanus, useTestSfu } from '../testing/sfu.js';
import { MediaPeer } from '../testing/wrtc-peer.js';

const inNetns = process.env.RINGLINE_NETNS === '1';
const video = CallType.VIDEO;
const audio = CallType.AUDIO;

const sfu = useTestSfu();
let server: TestServer;

afterEach(async () => {
  await server?.close();
});

async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  server = await startTestServer({ ...sfu.options(), ...options });
  return server;
}

async function loginAll(...users: string[]): Promise<TestClient[]> {
  return Promise.all(users.map((u) => server.login(u)));
}

/** The inviteeListUpdate lists a client received, in order. */
const listUpdates = (c: TestClient) =>
  c.pushes.flatMap((p) => (p.type === 'inviteeListUpdate' ? [p.userIDList] : []));

describe.skipIf(!hasJanus)('group calls (real Janus, real groups store)', () => {
  describe('invite several users', () => {
    test('accept, reject, busy and timeout each reach every member, with invitee-list updates', async () => {
      await start();
      const [alice, bob, carol, dave, erin, frank] = await loginAll(
        'alice',
        'bob',
        'carol',
        'dave',
        'erin',
        'frank',
      );
      // frank is busy: already in a one-to-one call with gus.
      const gus = await server.login('gus');
      const busyCall = await gus.call('invite', { userIDList: ['frank'], callType: audio });
      await frank!.call('accept', { inviteID: busyCall.inviteID });

      const invite = await alice!.call('invite', {
        userIDList: ['bob', 'carol', 'dave', 'erin', 'frank'],
        callType: video,
        timeout: 2,
      });
      expect(invite.media).toBe('sfu');
      expect(await alice!.waitForPush('lineBusy')).toMatchObject({ userID: 'frank' });
      const invited = await bob!.waitForPush('invited');
      expect(invited).toMatchObject({
        callID: invite.callID,
        sponsor: 'alice',
        isFromGroup: false,
        userIDList: ['bob', 'carol', 'dave', 'erin', 'frank'],
      });
      await Promise.all([carol, dave, erin].map((c) => c!.waitForPush('invited')));

      const accepted = await bob!.call('accept', { inviteID: invite.inviteID });
      expect(accepted).toMatchObject({
        callID: invite.callID,
        media: 'sfu',
        members: [{ userID: 'alice' }],
        inviteeList: ['carol', 'dave', 'erin'],
      });
      expect(await alice!.waitForPush('userEnter')).toMatchObject({ userID: 'bob' });

      await carol!.call('reject', { inviteID: invite.inviteID });
      for (const c of [alice, bob]) {
        expect(await c!.waitForPush('rejected')).toMatchObject({ userID: 'carol' });
      }
      await dave!.call('reject', { inviteID: invite.inviteID, busy: true });
      for (const c of [alice, bob]) {
        expect(await c!.waitForPush('lineBusy', (p) => p.userID === 'dave')).toMatchObject({
          callID: invite.callID,
        });
      }
      // erin does not answer.
      for (const c of [alice, bob]) {
        expect(await c!.waitForPush('noResponse')).toMatchObject({
          userID: 'erin',
          userIDList: ['erin'],
        });
      }
      expect(await erin!.waitForPush('inviteEnded')).toMatchObject({ reason: 'timeout' });
      await alice!.waitForPush('inviteeListUpdate', (p) => p.userIDList.length === 0);
      await bob!.waitForPush('inviteeListUpdate', (p) => p.userIDList.length === 0);

      expect(listUpdates(alice!)).toEqual([
        ['bob', 'carol', 'dave', 'erin'],
        ['carol', 'dave', 'erin'],
        ['dave', 'erin'],
        ['erin'],
        [],
      ]);
      // bob hears of every change from his own accept on.
      expect(listUpdates(bob!)).toEqual([
        ['carol', 'dave', 'erin'],
        ['dave', 'erin'],
        ['erin'],
        [],
      ]);
      // Two members remain: the call lives on until one of them hangs up.
      await alice!.sync();
      expect(alice!.pushes.some((p) => p.type === 'callEnded')).toBe(false);
      await bob!.call('hangup', { callID: invite.callID });
      expect(await alice!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
      await gus.call('hangup', { callID: busyCall.callID });
      await frank!.waitForPush('callEnded');
      expectNoCallState(server);
    });

    test('the call ends with no_answer when every invitee declined', async () => {
      await start();
      const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
      const { inviteID, callID } = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: audio,
      });
      await bob!.call('reject', { inviteID });
      await carol!.call('reject', { inviteID, busy: true });
      expect(await alice!.waitForPush('callEnded')).toMatchObject({ callID, reason: 'no_answer' });
      expectNoCallState(server);
    });

    test(`more than ${MAX_CALL_MEMBERS} members is CALL_FULL`, async () => {
      await start();
      const alice = await server.login('alice');
      const sixteen = Array.from({ length: MAX_CALL_MEMBERS }, (_, i) => `u${i}`);
      expect((await alice.fail('invite', { userIDList: sixteen, callType: video })).code).toBe(
        ServerErrorCode.CALL_FULL,
      );
      // 15 invitees fill the call; one more, into it, does not fit.
      const { callID } = await alice.call('invite', {
        userIDList: sixteen.slice(0, 15),
        callType: video,
        timeout: 0,
      });
      const err = await alice.fail('invite', { userIDList: ['u15'], callType: video, callID });
      expect(err).toMatchObject({ code: ServerErrorCode.CALL_FULL });
      expect(err.message).toMatch(/at most 16 members/);
      await alice.call('hangup', { callID });
      expectNoCallState(server);
    });
  });

  describe('inviting into a call', () => {
    test('skips members and invitees still ringing: only the newcomers ring, nobody hears busy', async () => {
      await start();
      const [alice, bob, carol, dave] = await loginAll('alice', 'bob', 'carol', 'dave');
      const { inviteID, callID } = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: audio,
      });
      await bob!.call('accept', { inviteID });
      await carol!.waitForPush('invited');
      // bob is in, carol rings: only dave gets an invitation.
      const second = await alice!.call('invite', {
        userIDList: ['bob', 'carol', 'dave'],
        callType: audio,
        callID,
      });
      expect(await dave!.waitForPush('invited')).toMatchObject({
        inviteID: second.inviteID,
        userIDList: ['dave'],
      });
      await Promise.all([alice, bob, carol].map((c) => c!.sync()));
      for (const c of [alice, bob, carol]) {
        expect(c!.pushes.filter((p) => p.type === 'lineBusy')).toEqual([]);
      }
      expect(carol!.pushes.filter((p) => p.type === 'invited')).toHaveLength(1);
      // alice's hangup cancels both her invitations, which leaves bob alone.
      await alice!.call('hangup', { callID });
      expect(await bob!.waitForPush('callEnded')).toMatchObject({ callID });
      expectNoCallState(server);
    });
  });

  describe('calls into a group', () => {
    test('members call through the group; invitees see isFromGroup and the groupID', async () => {
      await start();
      await makeGroup(server, 'team', ['alice', 'bob', 'carol']);
      const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
      const invite = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: video,
        groupID: 'team',
      });
      expect(invite.media).toBe('sfu');
      for (const c of [bob, carol]) {
        expect(await c!.waitForPush('invited')).toMatchObject({
          isFromGroup: true,
          groupID: 'team',
        });
      }
      const accepted = await carol!.call('accept', { inviteID: invite.inviteID });
      expect(accepted).toMatchObject({ groupID: 'team', media: 'sfu', inviteeList: ['bob'] });
      await bob!.call('accept', { inviteID: invite.inviteID });
      await alice!.call('hangup', { callID: invite.callID });
      await carol!.call('hangup', { callID: invite.callID });
      expect(await bob!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
      expectNoCallState(server);
    });

    test('a non-member invitee or caller is NOT_GROUP_MEMBER; an unknown group GROUP_NOT_FOUND', async () => {
      await start();
      await makeGroup(server, 'team', ['alice', 'bob']);
      const [alice, mallory] = await loginAll('alice', 'mallory');
      await server.login('bob');
      const outsider = await alice!.fail('invite', {
        userIDList: ['bob', 'mallory'],
        callType: video,
        groupID: 'team',
      });
      expect(outsider).toMatchObject({ code: ServerErrorCode.NOT_GROUP_MEMBER });
      expect(outsider.message).toMatch(/mallory is not a member of group team/);
      const caller = await mallory!.fail('invite', {
        userIDList: ['bob'],
        callType: video,
        groupID: 'team',
      });
      expect(caller).toMatchObject({ code: ServerErrorCode.NOT_GROUP_MEMBER });
      expect(caller.message).toMatch(/you are not a member/);
      expect(
        (await alice!.fail('invite', { userIDList: ['bob'], callType: video, groupID: 'nope' }))
          .code,
      ).toBe(ServerErrorCode.GROUP_NOT_FOUND);
      // Nobody was left ringing or bound by the refused invitations.
      expectNoCallState(server);
    });
  });

  describe('inviting into a call in progress', () => {
    test('a one-to-one call that gains a third person moves to the SFU (mediaMode)', async () => {
      await start();
      const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
      const first = await alice!.call('invite', { userIDList: ['bob'], callType: video });
      expect(first.media).toBe('p2p');
      expect((await bob!.call('accept', { inviteID: first.inviteID })).media).toBe('p2p');
      const second = await bob!.call('invite', {
        userIDList: ['carol'],
        callType: video,
        callID: first.callID,
      });
      expect(second).toMatchObject({ callID: first.callID, media: 'sfu' });
      for (const c of [alice, bob]) {
        expect(await c!.waitForPush('mediaMode')).toEqual(
          expect.objectContaining({ callID: first.callID, media: 'sfu' }),
        );
      }
      expect(await carol!.waitForPush('invited')).toMatchObject({ sponsor: 'bob' });
      const accepted = await carol!.call('accept', { inviteID: second.inviteID });
      expect(accepted.media).toBe('sfu');
      expect(accepted.members.map((m) => m.userID).sort()).toEqual(['alice', 'bob']);
      await alice!.waitForPush('userEnter', (p) => p.userID === 'carol');
      // The whole call switches between audio and video.
      await alice!.call('switchCallType', { callID: first.callID, callType: audio });
      for (const c of [bob, carol]) {
        expect(await c!.waitForPush('callTypeChanged')).toMatchObject({
          callType: audio,
          userID: 'alice',
        });
      }
      for (const c of [alice, bob]) await c!.call('hangup', { callID: first.callID });
      expect(await carol!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
      expectNoCallState(server);
    });
  });

  describe('joining a group call in progress', () => {
    test('a member joins without an invitation; non-members and calls that do not exist are refused', async () => {
      await start();
      await makeGroup(server, 'team', ['alice', 'bob', 'carol']);
      await makeGroup(server, 'quiet', ['alice', 'carol']);
      const [alice, bob, carol, mallory] = await loginAll('alice', 'bob', 'carol', 'mallory');
      expect((await carol!.fail('join', { groupID: 'quiet', callType: video })).code).toBe(
        ServerErrorCode.CALL_NOT_FOUND,
      );
      expect((await carol!.fail('join', { groupID: 'ghost', callType: video })).code).toBe(
        ServerErrorCode.GROUP_NOT_FOUND,
      );

      const invite = await alice!.call('invite', {
        userIDList: ['bob'],
        callType: video,
        groupID: 'team',
      });
      await bob!.call('accept', { inviteID: invite.inviteID });
      const refused = await mallory!.fail('join', { groupID: 'team', callType: video });
      expect(refused.code).toBe(ServerErrorCode.NOT_GROUP_MEMBER);

      const joined = await carol!.call('join', { groupID: 'team', callType: audio });
      expect(joined).toMatchObject({
        callID: invite.callID,
        roomID: invite.roomID,
        callType: video,
        media: 'sfu',
        groupID: 'team',
        inviteeList: [],
      });
      expect(joined.members.map((m) => m.userID)).toEqual(['alice', 'bob']);
      for (const c of [alice, bob]) {
        // Joined with an audio call type: camera off.
        expect(await c!.waitForPush('userEnter', (p) => p.userID === 'carol')).toMatchObject({
          audio: true,
          video: false,
        });
      }
      expect((await carol!.fail('join', { groupID: 'team', callType: video })).code).toBe(
        ServerErrorCode.ALREADY_IN_CALL,
      );
      for (const c of [alice, bob]) await c!.call('hangup', { callID: invite.callID });
      expect(await carol!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
      // The call is over: nothing to join any more.
      expect((await alice!.fail('join', { groupID: 'team', callType: video })).code).toBe(
        ServerErrorCode.CALL_NOT_FOUND,
      );
      expectNoCallState(server);
    });

    test(`the member after ${MAX_CALL_MEMBERS} is CALL_FULL`, async () => {
      await start();
      const users = Array.from({ length: MAX_CALL_MEMBERS + 1 }, (_, i) => `m${i}`);
      await makeGroup(server, 'big', users);
      const [caller, joiner] = await loginAll(users[0]!, users[16]!);
      // 15 invitees still ringing (offline) hold their seats.
      const { callID } = await caller!.call('invite', {
        userIDList: users.slice(1, 16),
        callType: video,
        groupID: 'big',
        timeout: 0,
      });
      expect((await joiner!.fail('join', { groupID: 'big', callType: video })).code).toBe(
        ServerErrorCode.CALL_FULL,
      );
      await caller!.call('hangup', { callID });
      expectNoCallState(server);
    });
  });

  describe('leaving', () => {
    test('a member hangs up and the rest continue; the call ends when fewer than two remain', async () => {
      await start();
      const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
      const { inviteID, callID } = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: video,
      });
      await bob!.call('accept', { inviteID });
      await carol!.call('accept', { inviteID });
      await carol!.call('hangup', { callID });
      for (const c of [alice, bob]) {
        expect(await c!.waitForPush('userLeave')).toMatchObject({ callID, userID: 'carol' });
      }
      await alice!.call('media', { callID, audio: false, video: true });
      expect(await bob!.waitForPush('mediaState')).toMatchObject({ userID: 'alice', audio: false });
      // A session that ends leaves the call like a hangup.
      await bob!.call('logout', {});
      expect(await alice!.waitForPush('userLeave', (p) => p.userID === 'bob')).toBeTruthy();
      expect(await alice!.waitForPush('callEnded')).toMatchObject({
        callID,
        reason: 'disconnected',
      });
      expectNoCallState(server);
    });
  });

  describe('SFU requests', () => {
    test('sfu* from someone not in the call is NOT_CALL_MEMBER; on a p2p call INVALID_CALL_STATE', async () => {
      await start();
      const [alice, bob, carol, dave] = await loginAll('alice', 'bob', 'carol', 'dave');
      const group = await alice!.call('invite', { userIDList: ['bob', 'carol'], callType: video });
      const offer = { type: 'offer' as const, sdp: 'v=0\r\n' };
      const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' };
      /** The codes of sfuPublish, sfuTrickle and sfuLayer from `who` on the group call. */
      const codes = async (who: TestClient) => [
        (await who.fail('sfuPublish', { callID: group.callID, description: offer })).code,
        (await who.fail('sfuTrickle', { callID: group.callID, target: 'publisher', candidate }))
          .code,
        (await who.fail('sfuLayer', { callID: group.callID, userID: 'alice', substream: 0 })).code,
      ];
      // dave is not invited: he cannot get into the room.
      expect(await codes(dave!)).toEqual(Array(3).fill(ServerErrorCode.NOT_CALL_MEMBER));
      // carol rings: she may pre-connect her own connections, so her requests reach the SFU,
      // which refuses these (an unusable offer, no connection yet) as it would a member's.
      expect(await codes(carol!)).toEqual(Array(3).fill(ServerErrorCode.INVALID_CALL_STATE));
      expect(
        (await carol!.fail('sfuPublish', { callID: 'no-such-call', description: offer })).code,
      ).toBe(ServerErrorCode.CALL_NOT_FOUND);
      await alice!.call('hangup', { callID: group.callID });

      const p2p = await alice!.call('invite', { userIDList: ['bob'], callType: video });
      await bob!.waitForPush('invited', (p) => p.callID === p2p.callID);
      await bob!.call('accept', { inviteID: p2p.inviteID });
      expect((await bob!.fail('sfuPublish', { callID: p2p.callID, description: offer })).code).toBe(
        ServerErrorCode.INVALID_CALL_STATE,
      );
      await bob!.call('hangup', { callID: p2p.callID });
      expectNoCallState(server);
    });

    test.skipIf(!inNetns)(
      'two members publish through the server; the third receives frames from both',
      async () => {
        await start();
        const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
        const { inviteID, callID } = await alice!.call('invite', {
          userIDList: ['bob', 'carol'],
          callType: video,
        });
        await bob!.call('accept', { inviteID });
        await carol!.call('accept', { inviteID });

        const [pa, pb, viewer] = [alice!, bob!, carol!].map((c) => new MediaPeer(c, callID));
        const peers = [pa!, pb!, viewer!];
        try {
          for (const p of peers) p.follow();
          await Promise.all([pa!.publish(), pb!.publish()]);
          const both = await viewer!.offer(
            (o) => new Set(o.streams.map((s) => s.userID)).size === 2,
          );
          expect(both.streams.map((s) => `${s.userID}:${s.kind}`).sort()).toEqual([
            'alice:audio',
            'alice:video',
            'bob:audio',
            'bob:video',
          ]);
          await viewer!.framesFrom('alice', 10);
          await viewer!.framesFrom('bob', 10);
          // The publishers are offered each other, and receive each other too.
          const toAlice = await pa!.offer((o) => o.streams.some((s) => s.userID === 'bob'));
          expect(toAlice.streams.every((s) => s.userID === 'bob')).toBe(true);
          await pa!.framesFrom('bob', 5);
          await carol!.call('sfuLayer', { callID, userID: 'alice', substream: 0 });

          // bob leaves: carol's subscriber is offered alice only.
          await bob!.call('hangup', { callID });
          const after = await viewer!.offer(
            (o) =>
              o !== both && o.streams.length > 0 && o.streams.every((s) => s.userID === 'alice'),
          );
          expect(after.streams.map((s) => s.kind).sort()).toEqual(['audio', 'video']);
        } finally {
          for (const p of peers) p.close();
        }
        await alice!.call('hangup', { callID });
        expect(await carol!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
        expectNoCallState(server);
      },
      60_000,
    );
  });

  describe('pre-connect while ringing', () => {
    /** alice calls bob and carol (video); bob accepts, carol rings. */
    async function bobInCarolRinging() {
      await start();
      const [alice, bob, carol] = await loginAll('alice', 'bob', 'carol');
      const { inviteID, callID } = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: video,
      });
      await bob!.call('accept', { inviteID });
      return { alice: alice!, bob: bob!, carol: carol!, inviteID, callID };
    }

    /** alice and bob hang up, which ends the call for carol; nothing of it is left. */
    async function endCall(alice: TestClient, bob: TestClient, carol: TestClient, callID: string) {
      await alice.call('hangup', { callID });
      await bob.call('hangup', { callID });
      await carol.waitForPush('callEnded');
      expectNoCallState(server);
    }

    const handles = () => sfu.options().sfu!.attachedHandles();

    /** Resolves when `check()` holds, polling; rejects after `timeoutMs`. */
    async function until(
      what: string,
      check: () => boolean | Promise<boolean>,
      timeoutMs = 20_000,
      detail = () => '',
    ) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what} ${detail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    test('not with ring-all devices: a ringing invitee stays NOT_CALL_MEMBER on sfu*', async () => {
      await start({ multiDevice: 'ring-all' });
      const [alice, , carol] = await loginAll('alice', 'bob', 'carol');
      const { callID } = await alice!.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: video,
      });
      const offer = { type: 'offer' as const, sdp: 'v=0\r\n' };
      expect((await carol!.fail('sfuPublish', { callID, description: offer })).code).toBe(
        ServerErrorCode.NOT_CALL_MEMBER,
      );
      await alice!.call('hangup', { callID });
      expectNoCallState(server);
    });

    test.skipIf(!inNetns)(
      'a ringing invitee connects both ways with no media either way; at accept media flows on those connections',
      async () => {
        const { alice, bob, carol, inviteID, callID } = await bobInCarolRinging();
        const [pa, pb, pc] = [alice!, bob!, carol!].map((c) => new MediaPeer(c, callID));
        const peers = [pa!, pb!, pc!];
        try {
          for (const p of peers) p.follow();
          await Promise.all([pa!.publish(), pb!.publish()]);
          await pb!.framesFrom('alice', 5);

          // carol, still ringing, pre-connects: tracks-less publisher, subscriber held.
          await pc!.publish({ held: true });
          await pc!.offer((o) => new Set(o.streams.map((s) => s.userID)).size === 2);
          await until(
            "both of carol's connections are up",
            () => pc!.states.publisher === 'connected' && pc!.states.subscriber === 'connected',
          );
          // Media flows meanwhile (bob decodes 20 more frames of alice); none to or from carol.
          const seen = pb!.frames.get('alice') ?? 0;
          await pb!.framesFrom('alice', seen + 20);
          expect(await pc!.bytes()).toEqual({ sent: 0, received: 0 });
          // The members are not offered the streams of someone not in the call.
          for (const p of [pa!, pb!]) {
            expect(p.offers.flatMap((o) => o.streams).some((s) => s.userID === 'carol')).toBe(
              false,
            );
          }
          const offersBefore = pc!.offers.length;

          await carol!.call('accept', { inviteID });
          await pc!.attach();
          await pc!.framesFrom('alice', 5);
          await pc!.framesFrom('bob', 5);
          // No renegotiation for carol: what she receives came on the connection made while ringing.
          expect(pc!.offers.length).toBe(offersBefore);
          // The members now receive her, sent on her pre-connected publisher.
          await pa!.framesFrom('carol', 5);
          await pb!.framesFrom('carol', 5);
        } finally {
          for (const p of peers) p.close();
        }
        await endCall(alice, bob, carol, callID);
      },
      60_000,
    );

    test.skipIf(!inNetns)(
      'a pre-connection the invitee gave up is dropped; at accept it connects afresh',
      async () => {
        const { alice, bob, carol, inviteID, callID } = await bobInCarolRinging();
        const pa = new MediaPeer(alice!, callID);
        const held = new MediaPeer(carol!, callID);
        let fresh: MediaPeer | undefined;
        try {
          pa.follow();
          await pa.publish();
          await held.publish({ held: true });
          // Answered by hand: a follow() loop would take the offer meant for her next connection.
          await held.receive(await carol!.waitForPush('sfuOffer', (p) => p.callID === callID));
          await until('carol pre-connected', () => held.states.subscriber === 'connected');
          const preconnected = handles();
          // Her SDK gives the pre-connection up (its connections close): Janus hangs the
          // subscriber up and the server drops it.
          held.close();
          await until('her subscriber is dropped', () => handles() === preconnected - 1);

          fresh = new MediaPeer(carol!, callID);
          fresh.follow();
          await carol!.call('accept', { inviteID });
          await fresh.publish();
          await fresh.framesFrom('alice', 5);
          await pa.framesFrom('carol', 5);
        } finally {
          pa.close();
          held.close();
          fresh?.close();
        }
        await endCall(alice, bob, carol, callID);
      },
      60_000,
    );

    test.skipIf(!inNetns)(
      "each ending of a pre-connected invitation closes its Janus handles: reject, busy, cancel, timeout, logout, the call's end",
      async () => {
        await start();
        const [alice, bob, first] = await loginAll('alice', 'bob', 'carol');
        let carol = first!;
        const endings: Array<[string, (inviteID: string, callID: string) => Promise<unknown>]> = [
          ['reject', (inviteID) => carol.call('reject', { inviteID })],
          ['busy', (inviteID) => carol.call('reject', { inviteID, busy: true })],
          ['cancel', (inviteID) => alice!.call('cancel', { inviteID })],
          ['timeout', () => carol.waitForPush('inviteEnded', undefined, 10_000)],
          ['logout', () => carol.call('logout', {})],
          ['call end', (_, callID) => alice!.call('hangup', { callID })],
        ];
        for (const [ending, end] of endings) {
          const before = handles();
          // bob is in the call (so that it goes on after carol's ending), alice publishes.
          const { inviteID, callID } = await alice!.call('invite', {
            userIDList: ['bob', 'carol'],
            callType: video,
            ...(ending === 'timeout' && { timeout: 2 }),
          });
          await bob!.call('accept', { inviteID });
          const pa = new MediaPeer(alice!, callID);
          const pc = new MediaPeer(carol, callID);
          try {
            pa.follow();
            pc.follow();
            await pa.publish();
            // bob's subscriber (he answers no offer here) receives alice.
            await bob!.waitForPush('sfuOffer', (p) => p.callID === callID);
            await until(
              `alice publishes (${ending})`,
              () => handles() === before + 2,
              20_000,
              () => `(${handles()} handles)`,
            );
            await pc.publish({ held: true });
            await pc.offer((o) => o.streams.some((s) => s.userID === 'alice'));
            // carol's publisher and subscriber.
            await until(
              `carol pre-connected (${ending})`,
              () => handles() === before + 4,
              20_000,
              () => `(${handles()} handles)`,
            );
            await end(inviteID, callID);
            const left = ending === 'call end' ? before : before + 2;
            await until(
              `carol's handles closed (${ending})`,
              () => handles() === left,
              20_000,
              () => `(${handles()} handles)`,
            );
          } finally {
            pa.close();
            pc.close();
          }
          // alice leaving ends it (bob would be alone).
          if (ending !== 'call end') await alice!.call('hangup', { callID });
          await until(
            `the room closed (${ending})`,
            () => handles() === before,
            20_000,
            () => `(${handles()} handles)`,
          );
          if (ending === 'logout') carol = await server.login('carol');
        }
        expectNoCallState(server);
      },
      120_000,
    );
  });

  describe('--p2p off', () => {
    test('one-to-one calls go through the SFU too', async () => {
      await start({ p2p: false });
      const [alice, bob] = await loginAll('alice', 'bob');
      const invite = await alice!.call('invite', { userIDList: ['bob'], callType: video });
      expect(invite.media).toBe('sfu');
      expect((await bob!.call('accept', { inviteID: invite.inviteID })).media).toBe('sfu');
      await bob!.call('hangup', { callID: invite.callID });
      expectNoCallState(server);
    });
  });
});

describe('without an SFU', () => {
  test('group calls fail with SFU_UNAVAILABLE saying how to enable one; 1:1 calls still work', async () => {
    server = await startTestServer({ janus: 'off' });
    const [alice, bob] = await loginAll('alice', 'bob');
    const err = await alice!.fail('invite', { userIDList: ['bob', 'carol'], callType: video });
    expect(err.code).toBe(ServerErrorCode.SFU_UNAVAILABLE);
    expect(err.message).toMatch(/apt-get install janus.*--janus auto/);
    const invite = await alice!.call('invite', { userIDList: ['bob'], callType: video });
    expect(invite.media).toBe('p2p');
    await bob!.call('accept', { inviteID: invite.inviteID });
    // Growing the call would need the SFU: refused, and the call goes on as it was.
    const grow = await bob!.fail('invite', {
      userIDList: ['carol'],
      callType: video,
      callID: invite.callID,
    });
    expect(grow.code).toBe(ServerErrorCode.SFU_UNAVAILABLE);
    await alice!.call('hangup', { callID: invite.callID });
    expect(await bob!.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
    expectNoCallState(server);
  });

  test('with --p2p off even one-to-one calls need it', async () => {
    server = await startTestServer({ janus: 'off', p2p: false });
    const alice = await server.login('alice');
    expect((await alice.fail('invite', { userIDList: ['bob'], callType: video })).code).toBe(
      ServerErrorCode.SFU_UNAVAILABLE,
    );
    expectNoCallState(server);
  });
});
