/**
 * Fault: the server process is killed (SIGKILL) in the middle of a call and started again on the
 * same data dir. With its live state in DATA_DIR/state.db (the default), the call goes on: both
 * clients resume their sessions on the new process and the call ends when they hang up. With
 * `--state memory` the call is lost, and its record must not stay open forever: the new server
 * closes it with `server_restart`, and what the dead server had acknowledged (the answer) is in
 * the history.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { openStore } from '../../packages/server/src/store/index.js';
import { TestClient } from '../../packages/server/src/testing/client.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const servers: ServerProcess[] = [];
const clients: TestClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.drop()));
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A server on a fresh data dir with Alice and Bob in a call (the accept answered), then killed:
 * resolves once both clients saw their connections close.
 */
async function killedMidCall(flags: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringline-crash-'));
  dirs.push(dataDir);
  const first = await startServerProcess({ dataDir, flags });
  servers.push(first);
  const alice = await TestClient.login(first, 'alice');
  const bob = await TestClient.login(first, 'bob');
  clients.push(alice, bob);
  const { callID, inviteID } = await alice.call('invite', {
    userIDList: ['bob'],
    callType: CallType.AUDIO,
  });
  await bob.call('accept', { inviteID });
  // One more round trip: the server has finished the event-loop turn that answered the accept
  // (its history commit and its live state's group commit run at the end of that turn).
  await alice.sync();
  const answeredBy = Date.now();
  expect(await first.stop('SIGKILL')).toBe('SIGKILL');
  await Promise.all([alice.closed(), bob.closed()]);
  return { dataDir, alice, bob, callID, answeredBy };
}

describe('a server killed mid-call', () => {
  it('keeps the call: both clients resume on the restarted server, and it ends when they hang up', async () => {
    const { dataDir, alice, bob, callID } = await killedMidCall();

    const second = await startServerProcess({ dataDir });
    servers.push(second);
    // As the SDK does: a new connection that resumes the session with the last seq it saw.
    const resume = async (old: TestClient) => {
      const c = await TestClient.connect(second.url);
      clients.push(c);
      const result = await c.login(second, old.userID!, {
        resume: { sessionID: old.sessionID!, lastSeq: old.lastSeq },
      });
      expect(result).toMatchObject({ resumed: true, sessionID: old.sessionID });
      return c;
    };
    const alice2 = await resume(alice);
    const bob2 = await resume(bob);
    await alice2.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'x' } } });
    expect(await bob2.waitForPush('signal')).toMatchObject({ callID, from: 'alice' });
    await bob2.sync();
    expect(
      [...alice2.pushes, ...bob2.pushes].filter(
        (p) => p.type === 'userLeave' || p.type === 'callEnded',
      ),
    ).toEqual([]);
    expect(second.log()).not.toMatch(/closed call records left open/);
    await bob2.call('hangup', { callID });
    expect(await alice2.waitForPush('callEnded')).toMatchObject({ callID, reason: 'hangup' });
    await alice2.sync();
    await second.stop();

    const store = await openStore({ dataDir });
    try {
      const record = await store.callRecords.get(callID);
      expect(record).toMatchObject({ callID, sponsor: 'alice', endReason: 'hangup' });
      expect(record?.connectedAt).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('with --state memory, closes the open call record with server_restart when started again', async () => {
    const flags = ['--state', 'memory'];
    const { dataDir, callID, answeredBy } = await killedMidCall(flags);

    const second = await startServerProcess({ dataDir, flags });
    servers.push(second);
    // Its log is JSON lines: the fields, then the message.
    expect(second.log()).toMatch(
      /"recovered":1,.*"msg":"closed call records left open by a stopped server"/,
    );
    // The restarted server serves calls again.
    const carol = await TestClient.login(second, 'carol');
    clients.push(carol);
    await carol.sync();
    await second.stop();

    const store = await openStore({ dataDir });
    try {
      const record = await store.callRecords.get(callID);
      expect(record).toMatchObject({
        callID,
        sponsor: 'alice',
        members: expect.arrayContaining(['alice']),
        endReason: 'server_restart',
      });
      // Answered before the kill, and the answer was not lost with it.
      expect(record?.connectedAt).toBeGreaterThan(0);
      expect(record?.connectedAt).toBeLessThanOrEqual(answeredBy);
      // Ended at the last moment the dead server was known alive: not before the answer, and
      // not at the restart.
      expect(record?.endedAt).toBeGreaterThanOrEqual(record!.connectedAt!);
      expect(record?.endedAt).toBeLessThanOrEqual(answeredBy + 1000);
    } finally {
      await store.close();
    }
  });
});
