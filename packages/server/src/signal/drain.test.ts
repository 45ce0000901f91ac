/**
 * Graceful shutdown: `close()` drains first. Clients are told `draining` and resume elsewhere
 * (Redis: on another node, with their calls and ringing going on there); new connections and
 * logins are refused; `/readyz` says 503; calls this node's own Janus carries end at the deadline
 * with `server_shutdown`; a node restarted with the same --node-id leaves the history of calls
 * still live in Redis open. Real servers, a real redis-server, real WebSocket clients.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CallType, PROTOCOL_VERSION } from '@ringline/protocol';
import { genUserSig } from '../auth/usersig.js';
import type { ServerOptions } from '../server.js';
import { openStore } from '../store/index.js';
import { TestClient } from '../testing/client.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { redisTestAdapters, startTestServer, type TestServer } from '../testing/server.js';
import { hasJanus, useTestSfu } from '../testing/sfu.js';
import { waitFor } from '../cluster/conformance/index.js';
import { CloseCode } from './gateway.js';

const app = { sdkAppID: 1400000777, secretKey: 'drain-test-secret' };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

/** What a test opened, closed after it in reverse order (clients, then nodes, then dirs). */
const opened: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close().catch(() => undefined);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-drain-'));
  opened.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A node of the app whose shared state is under `prefix` in the test Redis. */
async function redisNode(prefix: string, options: ServerOptions = {}): Promise<TestServer> {
  const adapters = await redisTestAdapters(redis.url, prefix);
  let server: TestServer;
  try {
    server = await startTestServer({ ...app, ...options, cluster: adapters });
  } catch (err) {
    await adapters.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const node = {
    ...server,
    close: (closeOptions?: { drain?: boolean }) => {
      // A second call may cut short the drain of the first (a second SIGTERM).
      if (closing) return closeOptions ? server.close(closeOptions).then(() => closing) : closing;
      return (closing = (async () => {
        await server.close(closeOptions);
        await adapters.close();
      })());
    },
  };
  opened.push(() => node.close());
  return node;
}

async function login(server: { url: string }, userID: string): Promise<TestClient> {
  const client = await TestClient.connect(server.url);
  opened.push(() => client.close());
  await client.login(app, userID);
  return client;
}

/** A new connection to `server` resuming `old`'s session. */
async function resumeOn(server: { url: string }, old: TestClient) {
  const client = await TestClient.connect(server.url);
  opened.push(() => client.close());
  const result = await client.login(app, old.userID!, {
    resume: { sessionID: old.sessionID!, lastSeq: old.lastSeq },
  });
  return { client, result };
}

/** Alice calls Bob; the call is connected. */
async function connectedCall(alice: TestClient, bob: TestClient): Promise<string> {
  const { inviteID, callID } = await alice.call('invite', {
    userIDList: [bob.userID!],
    callType: CallType.AUDIO,
  });
  await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
  await bob.call('accept', { inviteID });
  await alice.waitForPush('userEnter', (p) => p.userID === bob.userID);
  return callID;
}

async function callRecord(dataDir: string, callID: string) {
  const store = await openStore({ dataDir });
  try {
    return await store.callRecords.get(callID);
  } finally {
    await store.close();
  }
}

describe('a Redis node drained mid-call', () => {
  test('both users are told, resume on the other node, and the call goes on and ends by hangup', async () => {
    const prefix = `app:${randomUUID()}`;
    // One store for both nodes, as nodes share Postgres in production: one history.
    const dataDir = tempDir();
    const a = await redisNode(prefix, { dataDir, nodeID: 'node-a', drainTimeoutMs: 20_000 });
    const b = await redisNode(prefix, { dataDir, nodeID: 'node-b' });
    const alice = await login(a, 'alice');
    const bob = await login(a, 'bob');
    const callID = await connectedCall(alice, bob);

    const stopped = a.close();
    const [told] = await Promise.all([alice.waitForDraining(), bob.waitForDraining()]);
    expect(told.timeLeftMs).toBeGreaterThan(0);
    expect(told.timeLeftMs).toBeLessThanOrEqual(20_000);

    const { client: alice2, result } = await resumeOn(b, alice);
    expect(result).toMatchObject({ resumed: true, sessionID: alice.sessionID });
    const { client: bob2 } = await resumeOn(b, bob);
    // The old connections are closed as replaced, and the node stops as soon as they are gone.
    expect(await alice.closed()).toMatchObject({ code: CloseCode.REPLACED });
    expect(await bob.closed()).toMatchObject({ code: CloseCode.REPLACED });
    await stopped;

    // The call goes on through node B, both ways, and nobody left it.
    await bob2.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'c1' } } });
    expect((await alice2.waitForPush('signal')).data).toEqual({ candidate: { candidate: 'c1' } });
    await alice2.call('media', { callID, audio: false, video: false });
    expect(await bob2.waitForPush('mediaState')).toMatchObject({ userID: 'alice' });
    await Promise.all([alice2.sync(), bob2.sync()]);
    for (const c of [alice, bob, alice2, bob2]) {
      expect(c.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded')).toEqual([]);
    }
    await alice2.call('hangup', { callID });
    expect(await bob2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    await bob2.sync();
    expect(bob2.pushes.filter((p) => p.type === 'callEnded')).toHaveLength(1);

    await waitFor(
      async () => (await callRecord(dataDir, callID))?.endedAt !== undefined,
      'the call record to be closed',
    );
    expect(await callRecord(dataDir, callID)).toMatchObject({
      callID,
      endReason: 'hangup',
      nodeID: 'node-a',
    });
  }, 30_000);

  /**
   * Alice (on node A) rings Bob (on A) for `timeout` s; A drains and both resume on node B. The
   * clients on B, and the invitation.
   */
  async function ringingWhileDrained(timeout: number) {
    const prefix = `app:${randomUUID()}`;
    const a = await redisNode(prefix, { drainTimeoutMs: 20_000 });
    const b = await redisNode(prefix);
    const alice = await login(a, 'alice');
    const bob = await login(a, 'bob');
    const invite = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
      timeout,
    });
    await bob.waitForPush('invited', (p) => p.inviteID === invite.inviteID);

    const stopped = a.close();
    await Promise.all([alice.waitForDraining(), bob.waitForDraining()]);
    const { client: alice2 } = await resumeOn(b, alice);
    const { client: bob2 } = await resumeOn(b, bob);
    await stopped;
    return { alice, alice2, bob2, ...invite };
  }

  test('an invitation ringing on the drained node rings on after the resume, and is accepted there', async () => {
    const { alice2, bob2, inviteID, callID } = await ringingWhileDrained(20);
    await bob2.call('accept', { inviteID });
    expect(await alice2.waitForPush('userEnter')).toMatchObject({ callID, userID: 'bob' });
    await alice2.call('hangup', { callID });
    expect(await bob2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
  }, 30_000);

  test('an invitation ringing on the drained node times out on the other node, once', async () => {
    const { alice, alice2, bob2, inviteID } = await ringingWhileDrained(2);
    expect(await alice2.waitForPush('noResponse')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await bob2.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'timeout' });
    await Promise.all([alice2.sync(), bob2.sync()]);
    const all = [...alice.pushes, ...alice2.pushes];
    expect(all.filter((p) => p.type === 'noResponse')).toHaveLength(1);
  }, 30_000);

  test('sessions whose clients do not move are handed over: they resume on another node after the stop', async () => {
    const prefix = `app:${randomUUID()}`;
    const a = await redisNode(prefix, { drainTimeoutMs: 200 });
    const b = await redisNode(prefix);
    const alice = await login(a, 'alice');
    const bob = await login(b, 'bob');
    const callID = await connectedCall(alice, bob);
    // Alice ignores the notice; at the deadline her connection closes, her session is kept.
    await a.close();
    expect(await alice.closed()).toMatchObject({ code: CloseCode.SHUTDOWN });
    const { client: alice2, result } = await resumeOn(b, alice);
    expect(result.resumed).toBe(true);
    await bob.call('hangup', { callID });
    expect(await alice2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
  }, 30_000);
});

describe.skipIf(!hasJanus)('a Redis node drained with a group call on an external Janus', () => {
  const sfu = useTestSfu();

  test('does not wait for it: once its clients have moved it stops, and the other node takes the room over', async () => {
    const prefix = `app:${randomUUID()}`;
    const a = await redisNode(prefix, { ...sfu.options(), drainTimeoutMs: 20_000 });
    const b = await redisNode(prefix, sfu.options());
    const [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((u) => login(a, u)),
    );
    const invite = await alice!.call('invite', {
      userIDList: ['bob', 'carol'],
      callType: CallType.VIDEO,
    });
    expect(invite.media).toBe('sfu');
    await bob!.waitForPush('invited');
    await bob!.call('accept', { inviteID: invite.inviteID });
    await alice!.waitForPush('userEnter', (p) => p.userID === 'bob');
    await carol!.call('reject', { inviteID: invite.inviteID });
    await carol!.close();

    const stopped = a.close();
    await Promise.all([alice!.waitForDraining(), bob!.waitForDraining()]);
    const { client: alice2 } = await resumeOn(b, alice!);
    const { client: bob2 } = await resumeOn(b, bob!);
    await stopped;
    // Node B takes the room over at its next heartbeat: the members publish again.
    expect(await alice2.waitForPush('sfuReset')).toMatchObject({ callID: invite.callID });
    expect(await bob2.waitForPush('sfuReset')).toMatchObject({ callID: invite.callID });
    await alice2.call('hangup', { callID: invite.callID });
    expect(await bob2.waitForPush('callEnded')).toMatchObject({ reason: 'hangup' });
  }, 30_000);
});

describe('a Redis node restarted with the same --node-id', () => {
  test('leaves the history of its calls still live in Redis open; their end closes it', async () => {
    const prefix = `app:${randomUUID()}`;
    const dataDir = tempDir();
    const a = await redisNode(prefix, { dataDir, nodeID: 'node-a' });
    // One store, as nodes share Postgres in production; node-b ends the call node-a recorded.
    const b = await redisNode(prefix, { dataDir, nodeID: 'node-b' });
    const alice = await login(a, 'alice');
    const bob = await login(b, 'bob');
    const callID = await connectedCall(alice, bob);
    await a.close();
    const a2 = await redisNode(prefix, { dataDir, nodeID: 'node-a' });
    expect((await callRecord(dataDir, callID))?.endedAt).toBeUndefined();

    const { client: alice2 } = await resumeOn(a2, alice);
    await bob.call('hangup', { callID });
    expect(await alice2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    await waitFor(
      async () => (await callRecord(dataDir, callID))?.endedAt !== undefined,
      'the call record to be closed',
    );
    expect(await callRecord(dataDir, callID)).toMatchObject({ endReason: 'hangup' });
  }, 30_000);
});

describe('draining a single node (memory state)', () => {
  test('refuses new connections and logins, says 503 on /readyz, and stops once its calls end', async () => {
    const server = await startTestServer({ ...app, drainTimeoutMs: 20_000 });
    opened.push(() => server.close());
    const alice = await login(server, 'alice');
    const bob = await login(server, 'bob');
    const idle = await TestClient.connect(server.url);
    opened.push(() => idle.close());
    const callID = await connectedCall(alice, bob);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    let stopped = false;
    const stopping = server.close().then(() => (stopped = true));
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, '/readyz 503');
    await expect(TestClient.connect(server.url)).rejects.toThrow(/503/);
    const refused = await idle.fail('login', {
      sdkAppID: app.sdkAppID,
      userID: 'carol',
      userSig: genUserSig({ ...app, userID: 'carol' }),
      protocol: PROTOCOL_VERSION,
    });
    expect(refused).toMatchObject({ name: 'SERVER_DRAINING', code: 50304 });
    // Sessions end with a memory node: nobody is told to go elsewhere; the call may finish.
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'x' } } });
    await bob.waitForPush('signal');
    expect(stopped).toBe(false);
    expect(alice.drainings).toEqual([]);

    await alice.call('hangup', { callID });
    await stopping;
    expect(await bob.closed()).toMatchObject({ code: CloseCode.SHUTDOWN });
  }, 30_000);

  test.skipIf(!hasJanus)(
    'a group call on its own Janus ends with server_shutdown at the deadline',
    async () => {
      const server = await startTestServer({
        ...app,
        janus: 'auto',
        janusInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
        drainTimeoutMs: 300,
      });
      opened.push(() => server.close());
      const [alice, bob] = await Promise.all([login(server, 'alice'), login(server, 'bob')]);
      const carol = await login(server, 'carol');
      const invite = await alice.call('invite', {
        userIDList: ['bob', 'carol'],
        callType: CallType.VIDEO,
      });
      expect(invite.media).toBe('sfu');
      await bob.waitForPush('invited');
      await bob.call('accept', { inviteID: invite.inviteID });
      await alice.waitForPush('userEnter', (p) => p.userID === 'bob');

      await server.close();
      expect(await alice.waitForPush('callEnded')).toMatchObject({
        callID: invite.callID,
        reason: 'server_shutdown',
      });
      expect(await bob.waitForPush('callEnded')).toMatchObject({ reason: 'server_shutdown' });
      expect(await carol.waitForPush('inviteEnded')).toMatchObject({ inviteID: invite.inviteID });
    },
    30_000,
  );
});
