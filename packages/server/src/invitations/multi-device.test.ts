/**
 * `--multi-device ring-all`: every login of a user is a device, an invitation rings them all, the
 * first to answer takes it and the others stop (`inviteEnded` answered_elsewhere). Run on one node
 * with the in-memory adapters, on two nodes sharing in-memory adapters with shared sessions, and on
 * two nodes sharing a Redis, with the devices of one user on both nodes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallType, InviteEndReason } from '@ringline/protocol';
import { withSharedSessions } from '../cluster/memory-sessions.js';
import { createMemoryCluster } from '../cluster/memory.js';
import type { CallEvent } from '../calls/events.js';
import { genUserSig } from '../auth/usersig.js';
import { findExecutable } from '../sfu/janus-process.js';
import type { TestClient } from '../testing/client.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { startRedisTestServers, startTestServer, type TestServer } from '../testing/server.js';
import type { ServerOptions } from '../server.js';
import { startReceiver, waitUntil } from '../testing/webhook-receiver.js';

let redis: TestRedis | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Two nodes (or one node twice): node 0 and node 1. */
type Nodes = [TestServer, TestServer];

const setups: Array<
  [string, (o: ServerOptions) => Promise<{ nodes: Nodes; close(): Promise<void> }>]
> = [
  [
    'one node, in-memory adapters',
    async (o) => {
      const s = await startTestServer(o);
      return { nodes: [s, s], close: () => s.close() };
    },
  ],
  [
    'two nodes, in-memory adapters with shared sessions',
    async (o) => {
      const cluster = withSharedSessions(createMemoryCluster());
      const shared = { ...o, sdkAppID: 1400000557, secretKey: 'devices-key', cluster };
      const a = await startTestServer(shared);
      const b = await startTestServer(shared);
      return {
        nodes: [a, b],
        close: async () => {
          await b.close();
          await a.close();
          await cluster.close();
        },
      };
    },
  ],
  [
    'two nodes sharing a Redis',
    async (o) => {
      const [a, b] = await startRedisTestServers(redis!.url, 2, o);
      return {
        nodes: [a!, b!],
        close: async () => {
          await b!.close();
          await a!.close();
        },
      };
    },
  ],
];

describe.each(setups)('ring-all: %s', (_name, setup) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function start(o: ServerOptions = {}) {
    const events: CallEvent[] = [];
    const made = await setup({
      multiDevice: 'ring-all',
      maxDevices: 3,
      callObservers: [(batch) => events.push(...batch)],
      ...o,
    });
    cleanups.push(made.close);
    return { ...made, events };
  }

  /**
   * Alice (node 0) calls bob, who has a phone and a laptop (on the nodes given); resolves once
   * both devices ring.
   */
  async function ringBoth(nodes: Nodes, phoneOn: 0 | 1, laptopOn: 0 | 1) {
    const alice = await nodes[0].login('alice');
    const phone = await nodes[phoneOn].login('bob');
    const laptop = await nodes[laptopOn].login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    for (const device of [phone, laptop]) {
      expect(await device.waitForPush('invited')).toMatchObject({ inviteID, sponsor: 'alice' });
    }
    return { alice, phone, laptop, inviteID, callID };
  }

  /** `device`'s session, resumed on `node` over a new connection after its connection dropped. */
  async function resumeOn(node: TestServer, device: TestClient, lastSeq: number) {
    const back = await node.connect();
    expect(
      await back.login(node, 'bob', { resume: { sessionID: device.sessionID!, lastSeq } }),
    ).toMatchObject({ resumed: true, sessionID: device.sessionID });
    return back;
  }

  it('rings every device; the first to accept takes the call, the others stop ringing', async () => {
    const { nodes, events } = await start();
    const { alice, phone, laptop, inviteID, callID } = await ringBoth(nodes, 0, 1);
    await laptop.call('accept', { inviteID });
    expect(await phone.waitForPush('inviteEnded')).toMatchObject({
      inviteID,
      callID,
      reason: InviteEndReason.ANSWERED_ELSEWHERE,
    });
    await alice.waitForPush('userEnter');
    // The accept names the device that took it (the call history's `answered`).
    const answered = events.find((e) => e.type === 'answered');
    expect(answered).toMatchObject({ userID: 'bob', deviceID: laptop.sessionID });

    // The call's pushes go to the device in it alone.
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'c' } } });
    expect(await laptop.waitForPush('signal')).toMatchObject({ from: 'alice' });
    await alice.call('hangup', { callID });
    expect(await laptop.waitForPush('callEnded')).toMatchObject({ callID });
    await phone.sync();
    expect(phone.unclaimedPushes()).toEqual([]);

    // Free again: the next invitation rings both devices.
    const next = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await phone.waitForPush('invited', (p) => p.inviteID === next.inviteID);
    await laptop.waitForPush('invited', (p) => p.inviteID === next.inviteID);
  });

  it('declines the call when one device rejects, and the other stops ringing', async () => {
    const { nodes } = await start();
    const { alice, phone, laptop, inviteID, callID } = await ringBoth(nodes, 1, 0);
    await phone.call('reject', { inviteID });
    expect(await alice.waitForPush('rejected')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await laptop.waitForPush('inviteEnded')).toMatchObject({
      inviteID,
      reason: InviteEndReason.ANSWERED_ELSEWHERE,
    });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID });
    // The other device cannot take what was declined.
    expect((await laptop.fail('accept', { inviteID })).name).toMatch(/NOT_FOUND|ALREADY_HANDLED/);
  });

  it('is busy only while a device is in a call, and a call from one device stays on it', async () => {
    const { nodes } = await start();
    const alice = await nodes[0].login('alice');
    const carol = await nodes[1].login('carol');
    const phone = await nodes[0].login('bob');
    const laptop = await nodes[1].login('bob');
    // Bob calls from his phone: the call is the phone's, the laptop hears nothing of it.
    const out = await phone.call('invite', { userIDList: ['alice'], callType: CallType.AUDIO });
    const ring = await alice.waitForPush('invited');
    await alice.call('accept', { inviteID: ring.inviteID });
    expect(await phone.waitForPush('userEnter')).toMatchObject({ userID: 'alice' });
    // In a call on one device: busy for everyone else, whichever device would ring.
    const second = await carol.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    expect(await carol.waitForPush('lineBusy')).toMatchObject({ inviteID: second.inviteID });
    await alice.call('hangup', { callID: out.callID });
    await phone.waitForPush('callEnded');
    await laptop.sync();
    expect(laptop.unclaimedPushes()).toEqual([]);
    const third = await carol.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await laptop.waitForPush('invited', (p) => p.inviteID === third.inviteID);
    await phone.waitForPush('invited', (p) => p.inviteID === third.inviteID);
  });

  it('keeps a device’s call when another device logs out, and ends it when that device goes', async () => {
    const { nodes } = await start();
    const { alice, phone, laptop, inviteID, callID } = await ringBoth(nodes, 1, 0);
    await phone.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    await laptop.call('logout', {});
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'x' } } });
    expect(await phone.waitForPush('signal')).toMatchObject({ from: 'alice' });
    await alice.sync();
    expect(alice.unclaimedPushes().filter((p) => p.type === 'userLeave')).toEqual([]);
    await phone.call('logout', {});
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID });
  });

  it('resumes each device on its own, keeping the call on the device in it', async () => {
    const { nodes } = await start();
    const { alice, phone, laptop, inviteID, callID } = await ringBoth(nodes, 0, 1);
    await phone.call('accept', { inviteID });
    await laptop.waitForPush('inviteEnded');
    await alice.waitForPush('userEnter');
    // Both devices lose their connections; what is pushed meanwhile waits for each one's resume.
    const phoneSeq = phone.lastSeq;
    const laptopSeq = laptop.lastSeq;
    await phone.drop();
    await laptop.drop();
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'y' } } });
    // Each resumes on the other node (one node: the same one).
    const phoneBack = await resumeOn(nodes[1], phone, phoneSeq);
    const laptopBack = await resumeOn(nodes[0], laptop, laptopSeq);
    expect(await phoneBack.waitForPush('signal')).toMatchObject({ from: 'alice' });
    await laptopBack.sync();
    expect(laptopBack.unclaimedPushes()).toEqual([]);
    await phoneBack.call('hangup', { callID });
    expect(await alice.waitForPush('callEnded')).toMatchObject({ callID });
  });

  it('refuses a login over the device cap with TOO_MANY_DEVICES, and takes one once a device leaves', async () => {
    const { nodes } = await start({ maxDevices: 2 });
    const one = await nodes[0].login('bob');
    await nodes[1].login('bob');
    const third = await nodes[0].connect();
    const err = await third.fail('login', {
      sdkAppID: nodes[0].sdkAppID,
      userID: 'bob',
      userSig: genUserSig({
        sdkAppID: nodes[0].sdkAppID,
        secretKey: nodes[0].secretKey,
        userID: 'bob',
      }),
    });
    expect(err).toMatchObject({ name: 'TOO_MANY_DEVICES', code: 40907 });
    // Nobody was kicked.
    await one.sync();
    expect(one.pushes.filter((p) => p.type === 'kicked')).toEqual([]);
    await one.call('logout', {});
    expect(await third.login(nodes[0], 'bob')).toMatchObject({ resumed: false });
  });

  it('rings a device that logs in while the invitation rings', async () => {
    const { nodes } = await start();
    const alice = await nodes[0].login('alice');
    const phone = await nodes[0].login('bob');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await phone.waitForPush('invited');
    const laptop = await nodes[1].login('bob');
    expect(await laptop.waitForPush('invited')).toMatchObject({ inviteID });
    // Redelivered to the new device alone.
    await phone.sync();
    expect(phone.unclaimedPushes()).toEqual([]);
    await laptop.call('accept', { inviteID });
    expect(await phone.waitForPush('inviteEnded')).toMatchObject({
      reason: InviteEndReason.ANSWERED_ELSEWHERE,
    });
  });
});

describe('ring-all group calls (a real Janus)', () => {
  it.skipIf(findExecutable('janus') === undefined)(
    'rings every device of each invitee; one device accepting stops the others',
    async () => {
      const server = await startTestServer({
        multiDevice: 'ring-all',
        janus: 'auto',
        janusInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      });
      try {
        const alice = await server.login('alice');
        const carol = await server.login('carol');
        const phone = await server.login('bob');
        const laptop = await server.login('bob');
        const { inviteID, callID } = await alice.call('invite', {
          userIDList: ['bob', 'carol'],
          callType: CallType.AUDIO,
        });
        for (const invitee of [phone, laptop, carol]) {
          await invitee.waitForPush('invited', (p) => p.inviteID === inviteID);
        }
        await phone.call('accept', { inviteID });
        expect(await laptop.waitForPush('inviteEnded')).toMatchObject({
          inviteID,
          reason: InviteEndReason.ANSWERED_ELSEWHERE,
        });
        // The group's pushes reach bob on the phone alone (carol leaving the ringing list).
        await carol.call('reject', { inviteID });
        expect(await phone.waitForPush('rejected')).toMatchObject({ userID: 'carol' });
        await laptop.sync();
        expect(laptop.unclaimedPushes()).toEqual([]);
        await alice.call('hangup', { callID });
        expect(await phone.waitForPush('callEnded')).toMatchObject({ callID });
      } finally {
        await server.close();
      }
    },
    60_000,
  );
});

describe('ring-all webhooks', () => {
  it('call.answered names the device that took the call', async () => {
    const r = await startReceiver();
    await r.set('ok');
    const server = await startTestServer({
      multiDevice: 'ring-all',
      webhooks: [{ url: r.url, secret: 'whsec_devices_0123456789' }],
      webhookDelivery: { pollMs: 20 },
    });
    try {
      const alice = await server.login('alice');
      await server.login('bob');
      const laptop = await server.login('bob');
      const { inviteID } = await alice.call('invite', {
        userIDList: ['bob'],
        callType: CallType.AUDIO,
      });
      await laptop.waitForPush('invited');
      await laptop.call('accept', { inviteID });
      const answered = () =>
        r.requests
          .map((q) => JSON.parse(q.body) as { type: string; data: Record<string, unknown> })
          .find((e) => e.type === 'call.answered');
      await waitUntil('call.answered delivered', () => answered() !== undefined);
      expect(answered()!.data).toMatchObject({ userID: 'bob', deviceID: laptop.sessionID });
    } finally {
      await server.close();
      await r.down();
    }
  });
});

describe('kick (the default)', () => {
  const opened: TestServer[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('ends the first session when the user logs in again, as TRTCCalling does', async () => {
    const server = await startTestServer();
    opened.push(server);
    const first = await server.login('bob');
    const second = await server.login('bob');
    expect(await first.waitForPush('kicked')).toMatchObject({ reason: 'duplicate_login' });
    expect(second.sessionID).not.toBe(first.sessionID);
    // No device index is kept in kick mode.
    expect(server.cluster.devices.size).toBe(0);
  });
});
