/**
 * A single node keeps its live state in DATA_DIR/state.db (the default): a restart — the server
 * closed, a new one started on the same data dir and port — keeps invitations ringing with the
 * time they have left and calls going, and clients resume their sessions with what they missed.
 * Real servers, real SQLite files, real WebSocket clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startServer, type RinglineServer, type ServerOptions } from '../../server.js';
import { TestClient } from '../../testing/client.js';
import { waitFor } from '../conformance/support.js';
import { createSqliteCluster, STATE_FILE } from './index.js';

const audio = CallType.AUDIO;

/** One data dir, restarted servers on it, and every client made; all closed after each test. */
function node(options: ServerOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringline-restart-'));
  const clients: TestClient[] = [];
  let server: RinglineServer | undefined;
  const start = async (port = 0) =>
    (server = await startServer({ port, host: '127.0.0.1', dev: true, dataDir, ...options }));
  return {
    dataDir,
    get server() {
      return server!;
    },
    start,
    /** Stops the server and starts a new one on the same data dir and port. */
    async restart() {
      const port = server!.port;
      await server!.close();
      server = undefined;
      return start(port);
    },
    async login(userID: string) {
      const c = await TestClient.login(server!, userID);
      clients.push(c);
      return c;
    },
    /** Alice calls Bob, who accepts: both are in a call. */
    async inCall() {
      const alice = await this.login('alice');
      const bob = await this.login('bob');
      const { inviteID, callID } = await alice.call('invite', {
        userIDList: ['bob'],
        callType: audio,
      });
      await bob.waitForPush('invited');
      await bob.call('accept', { inviteID });
      await alice.waitForPush('userEnter');
      return { alice, bob, callID };
    },
    /** A new connection of `old`'s client that resumes its session, as the SDK does. */
    async resume(old: TestClient) {
      await old.closed();
      const c = await TestClient.connect(server!.url);
      clients.push(c);
      const result = await c.login(server!, old.userID!, {
        resume: { sessionID: old.sessionID!, lastSeq: old.lastSeq },
      });
      return { client: c, result };
    },
    /** What the state file holds of calls and invitation timers, with the server stopped. */
    async leftovers() {
      await server?.close();
      server = undefined;
      const state = createSqliteCluster({ file: join(dataDir, STATE_FILE) });
      try {
        return state.callState();
      } finally {
        await state.close();
      }
    },
    async close() {
      await server?.close();
      await Promise.all(clients.map((c) => c.close()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const nothingLeft = { calls: 0, invitations: 0, users: 0, groups: 0, timers: 0 };

describe('a single node restarted on its data dir', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });
  const make = (options?: ServerOptions) => {
    const n = node(options);
    opened.push(n);
    return n;
  };

  it('keeps ringing an offline callee, who logs in after the restart with the time left and accepts', async () => {
    const n = make();
    await n.start();
    const alice = await n.login('alice');
    const invitedAt = Date.now();
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 10,
    });
    await n.restart();
    // The server went away: the client's connection closed with 1001, as the SDK sees it.
    expect((await alice.closed()).code).toBe(1001);
    const { client: alice2, result } = await n.resume(alice);
    expect(result).toMatchObject({ resumed: true, sessionID: alice.sessionID });
    // Some of its 10 s have gone by: bob hears only what is left.
    await waitFor(() => Date.now() > invitedAt + 2500, '2.5 s of ringing');
    const bob = await n.login('bob');
    const invited = await bob.waitForPush('invited');
    expect(invited).toMatchObject({ inviteID, callID, sponsor: 'alice' });
    expect(invited.timeout).toBeGreaterThanOrEqual(1);
    expect(invited.timeout).toBeLessThanOrEqual(8);
    await bob.call('accept', { inviteID });
    expect(await alice2.waitForPush('userEnter')).toMatchObject({ callID, userID: 'bob' });
    await bob.call('hangup', { callID });
    expect(await alice2.waitForPush('callEnded')).toMatchObject({ callID });
    expect(await n.leftovers()).toEqual(nothingLeft);
  });

  it('times out once an invitation whose time ran out while the server was down', async () => {
    const n = make();
    await n.start();
    const alice = await n.login('alice');
    const bob = await n.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: audio,
      timeout: 1,
    });
    const due = Date.now() + 1000;
    await bob.waitForPush('invited');
    const port = n.server.port;
    await n.server.close();
    await waitFor(() => Date.now() > due + 200, 'the ring time to run out');
    await n.start(port);
    const { client: alice2 } = await n.resume(alice);
    const { client: bob2 } = await n.resume(bob);
    expect(await alice2.waitForPush('noResponse')).toMatchObject({ inviteID, userID: 'bob' });
    expect(await alice2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'no_answer' });
    expect(await bob2.waitForPush('inviteEnded')).toMatchObject({ inviteID, reason: 'timeout' });
    await alice2.sync();
    await bob2.sync();
    const once = (c: TestClient, type: string) => c.pushes.filter((p) => p.type === type).length;
    expect(once(alice2, 'noResponse')).toBe(1);
    expect(once(bob2, 'inviteEnded')).toBe(1);
    expect(await n.leftovers()).toEqual(nothingLeft);
  });

  it('keeps a call going: both resume, nobody leaves, the relay works, the call ends cleanly', async () => {
    const n = make();
    await n.start();
    const { alice, bob, callID } = await n.inCall();
    await n.restart();
    const a = await n.resume(alice);
    const b = await n.resume(bob);
    // Told before the stop that the node drains: come back (here, once it is restarted).
    expect([...alice.drainings, ...bob.drainings].map((d) => d.type)).toEqual([
      'draining',
      'draining',
    ]);
    expect(a.result).toMatchObject({ resumed: true, sessionID: alice.sessionID });
    expect(b.result).toMatchObject({ resumed: true, sessionID: bob.sessionID });
    await a.client.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'a' } } });
    expect(await b.client.waitForPush('signal')).toMatchObject({ callID, from: 'alice' });
    await b.client.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'b' } } });
    expect(await a.client.waitForPush('signal')).toMatchObject({ callID, from: 'bob' });
    await a.client.sync();
    await b.client.sync();
    const left = (c: TestClient) =>
      c.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded');
    expect([...left(alice), ...left(a.client), ...left(bob), ...left(b.client)]).toEqual([]);
    await a.client.call('hangup', { callID });
    expect(await b.client.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    expect(await n.leftovers()).toEqual(nothingLeft);
  });

  it('ends the call of a client that does not come back within the resume window', async () => {
    const n = make({ resumeWindow: 1 });
    await n.start();
    const { alice, bob, callID } = await n.inCall();
    await n.restart();
    const a = await n.resume(alice);
    expect(a.result.resumed).toBe(true);
    // Bob never comes back: his session ends after the window, and with it his part in the call.
    expect(await a.client.waitForPush('userLeave', undefined, 10_000)).toMatchObject({
      callID,
      userID: 'bob',
    });
    expect(await a.client.waitForPush('callEnded')).toMatchObject({ callID });
    // Too late to resume: a fresh session.
    const late = await TestClient.connect(n.server.url);
    opened.push(late);
    const again = await late.login(n.server, 'bob', {
      resume: { sessionID: bob.sessionID!, lastSeq: bob.lastSeq },
    });
    expect(again.resumed).toBe(false);
    expect(await n.leftovers()).toEqual(nothingLeft);
  });

  it('with --state memory, a stop ends the calls as before', async () => {
    // No drain: it would wait for the call to end (up to drainTimeoutMs) before ending it.
    const n = make({ state: 'memory', drainTimeoutMs: 0 });
    await n.start();
    const { alice } = await n.inCall();
    await n.restart();
    const a = await n.resume(alice);
    expect(a.result.resumed).toBe(false);
  });
});
