/** The in-memory SharedSessions and NodeRegistry against the conformance suite. */
import { afterEach, describe, expect, test } from 'vitest';
import { CallType } from '@ringline/protocol';
import { startTestServer, type TestServer } from '../testing/server.js';
import { sharedSessionsConformance } from './conformance/sessions.js';
import { withSharedSessions } from './memory-sessions.js';
import { createMemoryCluster, memoryClusterNode } from './memory.js';

describe('in-memory shared sessions', () => {
  sharedSessionsConformance(async (count, o = {}) => {
    const cluster = withSharedSessions(createMemoryCluster(), {
      outboxLimit: 3,
      ...(o.heartbeatMs !== undefined && { heartbeatMs: o.heartbeatMs }),
      ...(o.nodeDeadAfterMs !== undefined && { deadAfterMs: o.nodeDeadAfterMs }),
    });
    const nodes = Array.from({ length: count }, () => {
      const node = memoryClusterNode(cluster);
      return { ...node, sessions: cluster.sessions, nodes: cluster.nodes };
    });
    return {
      nodes,
      pendingTimers: async () => cluster.scheduler.pending,
      async close() {
        for (const n of nodes) await n.close();
        await cluster.close();
      },
    };
  });
});

describe('two in-process nodes with in-memory shared sessions', () => {
  const opened: TestServer[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0).reverse()) await s.close();
  });

  test('a client whose connection dropped resumes on the other node with what it missed', async () => {
    const cluster = withSharedSessions(createMemoryCluster());
    const shared = { sdkAppID: 1400000556, secretKey: 'shared-sessions-key', cluster };
    const a = await startTestServer(shared);
    const b = await startTestServer(shared);
    opened.push(a, b);
    const alice = await a.login('alice');
    const bob = await b.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await bob.waitForPush('invited');
    await bob.call('accept', { inviteID });
    await alice.waitForPush('userEnter');
    const lastSeq = alice.lastSeq;
    await alice.drop();
    await bob.call('signal', { callID, to: 'alice', data: { candidate: { candidate: 'x' } } });

    const back = await b.connect();
    const result = await back.login(b, 'alice', {
      resume: { sessionID: alice.sessionID!, lastSeq },
    });
    expect(result).toMatchObject({ resumed: true, sessionID: alice.sessionID });
    expect(await back.waitForPush('signal')).toMatchObject({ from: 'bob', seq: lastSeq + 1 });
    await back.call('signal', { callID, to: 'bob', data: { candidate: { candidate: 'y' } } });
    expect((await bob.waitForPush('signal')).from).toBe('alice');
    await bob.sync();
    expect(bob.pushes.filter((p) => p.type === 'userLeave' || p.type === 'callEnded')).toEqual([]);
    await bob.call('hangup', { callID });
    expect(await back.waitForPush('callEnded')).toMatchObject({ callID });
  });
});
