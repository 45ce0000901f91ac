/**
 * SharedSessions and NodeRegistry (sessions that survive their node): a push is appended to the
 * session's outbox and handed to its node in one step, even when that node is gone; a resume
 * elsewhere takes presence over with exactly the pushes after the client's seq; a dead node is
 * claimed once, and its sessions' expiry timers are armed. Run against the in-memory adapters
 * (cluster/memory-sessions.test.ts) and Redis (cluster/redis/sessions.test.ts).
 */
import { describe, expect, it, afterEach } from 'vitest';
import type { BusMessage, NodeRegistry, SharedSessions } from '../types.js';
import type { ClusterNode } from './support.js';
import { waitFor } from './support.js';

export type SharedNode = ClusterNode & { sessions: SharedSessions; nodes: NodeRegistry };

/** `count` nodes sharing a fresh backend; outbox limit 3; timers pending cluster-wide. */
export type MakeSharedNodes = (
  count: number,
  options?: { heartbeatMs?: number; nodeDeadAfterMs?: number },
) => Promise<{ nodes: SharedNode[]; pendingTimers(): Promise<number>; close(): Promise<void> }>;

export function sharedSessionsConformance(make: MakeSharedNodes): void {
  const opened: Array<{ close(): Promise<void> }> = [];
  let pendingTimers: () => Promise<number> = async () => 0;
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });
  async function nodes(n: number, o: { heartbeatMs?: number; nodeDeadAfterMs?: number } = {}) {
    const made = await make(n, o);
    opened.push(made);
    pendingTimers = made.pendingTimers;
    return made.nodes;
  }

  function listen(a: SharedNode, nodeID: string): BusMessage[] {
    const got: BusMessage[] = [];
    a.bus.subscribe(nodeID, (m) => {
      got.push(m);
    });
    return got;
  }

  const body = (n: number) => JSON.stringify({ type: 'userLeave', callID: 'c', userID: `u${n}` });

  describe('SharedSessions', () => {
    it('appends each push under the next seq and publishes it to the session’s node', async () => {
      const [a] = await nodes(1);
      const got = listen(a!, 'n1');
      await a!.bus.whenSubscribed();
      await a!.sessions.open({ userID: 'alice', sessionID: 'sid', nodeID: 'n1' });
      expect(await a!.sessions.deliver('alice', body(1))).toBe(true);
      expect(await a!.sessions.deliver('alice', body(2), 'sid')).toBe(true);
      await waitFor(() => got.length === 2, 'two pushes');
      expect(got).toEqual([
        { kind: 'pushed', userID: 'alice', sessionID: 'sid', seq: 1, json: body(1) },
        { kind: 'pushed', userID: 'alice', sessionID: 'sid', seq: 2, json: body(2) },
      ]);
      expect(await a!.outbox.read('sid', 0)).toEqual([
        { seq: 1, json: body(1) },
        { seq: 2, json: body(2) },
      ]);
    });

    it('delivers nothing to a user without a session, or to a session that is not the user’s', async () => {
      const [a] = await nodes(1);
      expect(await a!.sessions.deliver('nobody', body(1))).toBe(false);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sid', nodeID: 'n1' });
      expect(await a!.sessions.deliver('alice', body(1), 'other')).toBe(false);
      await a!.sessions.end('sid', 'n1');
      // Presence left, outbox gone: nobody could resume, nothing is kept.
      expect(await a!.sessions.deliver('alice', body(1))).toBe(false);
      expect(await a!.outbox.read('sid', 0)).toBeUndefined();
    });

    it('keeps pushes for a session whose node is gone, and a take-over returns exactly those after lastSeq', async () => {
      const [a, b] = await nodes(2);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sid', nodeID: 'dead' });
      for (let i = 1; i <= 4; i++) await a!.sessions.deliver('alice', body(i));
      // outboxLimit 3: seq 1 is gone, so resuming after 0 is refused, after 1 is not.
      expect(await b!.sessions.takeOver('alice', 'sid', 'n2', 0)).toBeUndefined();
      expect(await b!.sessions.takeOver('alice', 'sid', 'n2', 5)).toBeUndefined();
      expect(await b!.sessions.takeOver('alice', 'other', 'n2', 1)).toBeUndefined();
      const taken = await b!.sessions.takeOver('alice', 'sid', 'n2', 2);
      expect(taken).toEqual({
        previousNode: 'dead',
        head: 4,
        entries: [
          { seq: 3, json: body(3) },
          { seq: 4, json: body(4) },
        ],
      });
      expect(await b!.presence.get('alice')).toEqual({
        userID: 'alice',
        sessionID: 'sid',
        nodeID: 'n2',
      });
      // From now on pushes go to the new node.
      const got = listen(b!, 'n2');
      await b!.bus.whenSubscribed();
      await a!.sessions.deliver('alice', body(5));
      await waitFor(() => got.length === 1, 'the push on the new node');
      expect(got[0]).toMatchObject({ kind: 'pushed', seq: 5 });
    });

    it('trims what the client acknowledged', async () => {
      const [a] = await nodes(1);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sid', nodeID: 'n1' });
      for (let i = 1; i <= 3; i++) await a!.sessions.deliver('alice', body(i));
      await a!.sessions.ack('sid', 2);
      expect(await a!.outbox.read('sid', 2)).toEqual([{ seq: 3, json: body(3) }]);
      expect(await a!.outbox.read('sid', 1)).toBeUndefined();
    });
  });

  describe('SharedSessions.relist', () => {
    it('gives a listed session whose presence is gone its presence and outbox head back', async () => {
      const [a] = await nodes(1);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sid', nodeID: 'n1' });
      await a!.sessions.open({ userID: 'bob', sessionID: 'sb', nodeID: 'n1' });
      // As after a Redis that came back empty: Alice's presence and outbox are gone.
      await a!.presence.remove('alice', 'sid');
      await a!.sessions.end('sid', 'n1');
      // Bob logged in again elsewhere meanwhile: his newer session is left alone.
      await a!.sessions.open({ userID: 'bob', sessionID: 'sb2', nodeID: 'n2' });
      await a!.sessions.relist('n1', [
        { sessionID: 'sid', userID: 'alice', seq: 7 },
        { sessionID: 'sb', userID: 'bob', seq: 3 },
      ]);
      expect(await a!.presence.get('alice')).toEqual({
        userID: 'alice',
        sessionID: 'sid',
        nodeID: 'n1',
      });
      expect(await a!.presence.get('bob')).toMatchObject({ sessionID: 'sb2', nodeID: 'n2' });
      const got = listen(a!, 'n1');
      await a!.bus.whenSubscribed();
      expect(await a!.sessions.deliver('alice', body(8))).toBe(true);
      await waitFor(() => got.length === 1, 'the push after the relist');
      expect(got[0]).toMatchObject({ kind: 'pushed', sessionID: 'sid', seq: 8 });
    });
  });

  describe('NodeRegistry', () => {
    it('a node that stops beating is claimed dead once, and its sessions’ expiry timers are armed', async () => {
      const [a, b, c] = await nodes(3, { heartbeatMs: 50, nodeDeadAfterMs: 300 });
      expect(await a!.nodes.beat('na', 1000)).toEqual({ dead: [], rejoined: true });
      await b!.nodes.beat('nb', 1000);
      await c!.nodes.beat('nc', 1000);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sa', nodeID: 'na' });
      expect(await b!.nodes.alive('na')).toBe(true);
      // 'na' stops beating; 'nb' and 'nc' go on until one of them claims it.
      const claimed: string[] = [];
      await waitFor(
        async () => {
          claimed.push(
            ...(await b!.nodes.beat('nb', 60_000)).dead,
            ...(await c!.nodes.beat('nc', 60_000)).dead,
          );
          return claimed.length > 0;
        },
        'na to be claimed dead',
        5_000,
      );
      expect(claimed).toEqual(['na']);
      expect(await b!.nodes.alive('na')).toBe(false);
      expect(await pendingTimers()).toBe(1);
      // Claimed once: later beats claim nothing more.
      expect(await b!.nodes.beat('nb', 60_000)).toEqual({ dead: [], rejoined: false });
      expect(await c!.nodes.beat('nc', 60_000)).toEqual({ dead: [], rejoined: false });
      // Had it lived after all, its next beat says it was dropped (it lists its sessions again).
      expect(await a!.nodes.beat('na', 60_000)).toEqual({ dead: [], rejoined: true });
    });

    it('a node handed over is not alive, its sessions’ expiry is armed, and the next beat of a live node claims it', async (ctx) => {
      const [a, b] = await nodes(2, { heartbeatMs: 50, nodeDeadAfterMs: 10_000 });
      if (!a!.nodes.handOver) return ctx.skip();
      await a!.nodes.beat('na', 1000);
      await b!.nodes.beat('nb', 1000);
      await a!.sessions.open({ userID: 'alice', sessionID: 'sa', nodeID: 'na' });
      await a!.sessions.open({ userID: 'bob', sessionID: 'sb', nodeID: 'na' });
      await a!.nodes.handOver('na', 60_000);
      expect(await b!.nodes.alive('na')).toBe(false);
      expect(await pendingTimers()).toBe(2);
      // Long before nodeDeadAfterMs (the SFU rooms it drove move then); its sessions not twice.
      expect(await b!.nodes.beat('nb', 60_000)).toEqual({ dead: ['na'], rejoined: false });
      expect(await pendingTimers()).toBe(2);
      expect(await b!.nodes.beat('nb', 60_000)).toEqual({ dead: [], rejoined: false });
    });

    it('claims nothing while its own last beat is stale (the shared state was away, not the others)', async () => {
      const [a, b] = await nodes(2, { heartbeatMs: 50, nodeDeadAfterMs: 200 });
      await a!.nodes.beat('na', 1000);
      await b!.nodes.beat('nb', 1000);
      await waitFor(
        async () => !(await a!.nodes.alive('nb')) && !(await b!.nodes.alive('na')),
        'both beats to go stale',
      );
      // Both beats are stale; the first to beat again must not claim the other.
      expect(await a!.nodes.beat('na', 1000)).toEqual({ dead: [], rejoined: false });
      expect(await b!.nodes.alive('nb')).toBe(false);
      expect(await b!.nodes.beat('nb', 1000)).toEqual({ dead: [], rejoined: false });
      expect(await a!.nodes.alive('nb')).toBe(true);
    });
  });
}
