/**
 * Fault: mid-call, a client goes silent — no pings, nothing, its socket left open. The server
 * drops a connection silent for 3 ping intervals and keeps its session for the resume window; only
 * then does the session end, and its partner is told: `userLeave`, then `callEnded` with reason
 * `disconnected`. Real server process (with a short ping interval and resume window), real
 * WebSocket clients.
 *
 * No stopwatch: the test records, in one list, when each documented bound has passed since the
 * silent client's last frame and when each thing happened, and checks their order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClient } from '../../packages/server/src/testing/client.js';
import { startServerProcess, type ServerProcess } from './server-child.js';

const PING_INTERVAL_S = 0.2;
const RESUME_WINDOW_S = 0.6;

describe('a client that goes silent mid-call', () => {
  let server: ServerProcess;
  const clients: TestClient[] = [];
  const login = async (userID: string) => {
    const c = await TestClient.login(server, userID);
    clients.push(c);
    return c;
  };
  const timers: NodeJS.Timeout[] = [];
  let keepAlive = true;

  beforeEach(async () => {
    server = await startServerProcess({
      pingInterval: PING_INTERVAL_S,
      resumeWindow: RESUME_WINDOW_S,
    });
    keepAlive = true;
  });
  afterEach(async () => {
    keepAlive = false;
    for (const t of timers.splice(0)) clearTimeout(t);
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  /** Pings as the SDK does (twice per interval), until the test ends; bounded in count. */
  async function pingWhileAlive(client: TestClient) {
    for (let i = 0; i < 500 && keepAlive && client.ws.readyState === client.ws.OPEN; i++) {
      await client.request('ping', {}).catch(() => undefined);
      await new Promise((r) => setTimeout(r, (PING_INTERVAL_S * 1000) / 2));
    }
  }

  it('its partner is told the call ended (disconnected), not before 3 ping intervals + the resume window', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    void pingWhileAlive(alice);

    const { inviteID, callID } = await alice.call('invite', { userIDList: ['bob'], callType: 1 });
    await bob.waitForPush('invited', (p) => p.inviteID === inviteID);

    const events: string[] = [];
    const after = (what: string, seconds: number) =>
      timers.push(setTimeout(() => events.push(what), seconds * 1000));
    // bob's last frame: from here on he sends nothing. The bounds count from before it is sent,
    // so they pass no later than they do for the server, which counts from its arrival.
    after('3 ping intervals passed', 3 * PING_INTERVAL_S);
    after('3 ping intervals + resume window passed', 3 * PING_INTERVAL_S + RESUME_WINDOW_S);
    await bob.call('accept', { inviteID });

    void bob.closed().then(() => events.push('bob: connection dropped by the server'));
    const left = alice
      .waitForPush('userLeave', (p) => p.userID === 'bob', 15_000)
      .then((p) => (events.push('alice: userLeave bob'), p));
    const ended = alice
      .waitForPush('callEnded', (p) => p.callID === callID, 15_000)
      .then((p) => (events.push('alice: callEnded'), p));

    expect(await left).toMatchObject({ callID, userID: 'bob' });
    expect(await ended).toMatchObject({ callID, reason: 'disconnected' });
    await bob.closed();

    const at = (what: string) => {
      expect(events).toContain(what);
      return events.indexOf(what);
    };
    expect(at('3 ping intervals passed')).toBeLessThan(at('bob: connection dropped by the server'));
    expect(at('3 ping intervals + resume window passed')).toBeLessThan(at('alice: userLeave bob'));
    expect(at('alice: userLeave bob')).toBeLessThan(at('alice: callEnded'));

    // The session is over for good: bob cannot resume it, and alice stays logged in.
    const back = await TestClient.connect(server.url);
    clients.push(back);
    const again = await back.login(server, 'bob', {
      resume: { sessionID: bob.sessionID!, lastSeq: bob.lastSeq },
    });
    expect(again.resumed).toBe(false);
    await alice.sync();
    expect(server.crashes).toEqual([]);
  });

  it('a client that keeps pinging is not dropped, and its call goes on', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    void pingWhileAlive(alice);
    void pingWhileAlive(bob);
    const { inviteID, callID } = await alice.call('invite', { userIDList: ['bob'], callType: 1 });
    await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
    await bob.call('accept', { inviteID });

    // Well past the point where a silent client's partner is told (bounded: a fixed count).
    const passed = new Promise((r) =>
      timers.push(setTimeout(r, (3 * PING_INTERVAL_S + RESUME_WINDOW_S) * 2 * 1000)),
    );
    await passed;
    await alice.sync();
    expect(alice.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded')).toEqual(
      [],
    );
    await bob.call('media', { callID, audio: false, video: false });
    expect(await alice.waitForPush('mediaState')).toMatchObject({ userID: 'bob', audio: false });
    expect(server.crashes).toEqual([]);
  });
});
