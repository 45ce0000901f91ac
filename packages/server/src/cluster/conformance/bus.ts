/** MessageBus conformance: per-node order, no cross-delivery, unsubscribe. */
import { afterEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../types.js';
import { waitFor, type MakeNodes } from './support.js';

const push = (n: number): BusMessage => ({
  kind: 'push',
  userID: 'alice',
  sessionID: 's1',
  push: { type: 'userLeave', callID: `c${n}`, userID: 'bob' },
});
const callIDs = (got: BusMessage[]) =>
  got.map((m) => (m.kind === 'push' && 'callID' in m.push ? m.push.callID : m.kind));

export function busConformance(makeNodes: MakeNodes): void {
  describe('MessageBus', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function nodes(count: number) {
      const made = await makeNodes(count);
      cleanups.push(made.close);
      return made.nodes;
    }

    it("delivers one sender's messages to a node in the order sent, each once", async () => {
      const [a, b] = await nodes(2);
      const got: BusMessage[] = [];
      b!.bus.subscribe('node-b', (m) => void got.push(m));
      await b!.bus.whenSubscribed();
      const sent = Array.from({ length: 50 }, (_, i) => push(i));
      await Promise.all(sent.map((m) => a!.bus.send('node-b', m)));
      await waitFor(() => got.length >= 50, '50 messages');
      expect(got).toEqual(sent);
    });

    it('delivers a kick, and a message only to the node it is addressed to', async () => {
      const [a, b, c] = await nodes(3);
      const atA: BusMessage[] = [];
      const atB: BusMessage[] = [];
      const atC: BusMessage[] = [];
      a!.bus.subscribe('node-a', (m) => void atA.push(m));
      b!.bus.subscribe('node-b', (m) => void atB.push(m));
      c!.bus.subscribe('node-c', (m) => void atC.push(m));
      await Promise.all([
        a!.bus.whenSubscribed(),
        b!.bus.whenSubscribed(),
        c!.bus.whenSubscribed(),
      ]);
      const kick: BusMessage = {
        kind: 'kick',
        userID: 'alice',
        sessionID: 's1',
        reason: 'duplicate_login',
      };
      await a!.bus.send('node-b', push(1));
      await a!.bus.send('node-c', push(2));
      await c!.bus.send('node-b', kick);
      await waitFor(() => atB.length >= 2 && atC.length >= 1, 'the messages');
      expect(atB).toEqual([push(1), kick]);
      expect(callIDs(atC)).toEqual(['c2']);
      // Sending to itself reaches it as well: a node's own bus is no different.
      await a!.bus.send('node-a', push(3));
      await waitFor(() => atA.length >= 1, "node a's own message");
      expect(callIDs(atA)).toEqual(['c3']);
      expect(callIDs(atB)).toEqual(['c1', 'kick']);
    });

    it('stops delivering to a handler once unsubscribed; a message for nobody is dropped', async () => {
      const [a, b] = await nodes(2);
      const first: BusMessage[] = [];
      const unsubscribe = b!.bus.subscribe('node-b', (m) => void first.push(m));
      await b!.bus.whenSubscribed();
      // send says whether a node took it: how a node learns at once that another one is gone.
      expect(await a!.bus.send('node-b', push(1))).toBe(true);
      await waitFor(() => first.length === 1, 'the first message');
      unsubscribe();
      unsubscribe(); // twice is harmless
      expect(await a!.bus.send('node-b', push(2))).toBe(false); // nobody listens: dropped
      expect(await a!.bus.send('node-nowhere', push(3))).toBe(false);
      const second: BusMessage[] = [];
      b!.bus.subscribe('node-b', (m) => void second.push(m));
      await b!.bus.whenSubscribed();
      expect(await a!.bus.send('node-b', push(4))).toBe(true);
      await waitFor(() => second.length >= 1, 'the message after resubscribing');
      expect(callIDs(first)).toEqual(['c1']);
      expect(callIDs(second)).toEqual(['c4']);
    });

    it('survives a handler that throws or rejects', async () => {
      const [a, b] = await nodes(2);
      const got: BusMessage[] = [];
      let n = 0;
      b!.bus.subscribe('node-b', (m) => {
        n++;
        if (n === 1) throw new Error('handler bug');
        if (n === 2) return Promise.reject(new Error('async handler bug'));
        got.push(m);
      });
      await b!.bus.whenSubscribed();
      // The memory bus hands a handler's failure to the sender; a remote bus cannot.
      await a!.bus.send('node-b', push(1)).catch(() => {});
      await a!.bus.send('node-b', push(2)).catch(() => {});
      await a!.bus.send('node-b', push(3));
      await waitFor(() => got.length >= 1, 'the message after the failures');
      expect(callIDs(got)).toEqual(['c3']);
    });
  });
}
