/**
 * OutboxStore conformance: what one node appended another reads after any seq, in order; acks and
 * the limit trim it; it expires with the resume window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../types.js';
import { waitFor, type MakeNodes } from './support.js';

const entry = (seq: number): OutboxEntry => ({
  seq,
  json: JSON.stringify({ type: 'userLeave', callID: 'c1', userID: `u:${seq}`, seq }),
});
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
const KEEP = { limit: 100, ttlMs: 60_000 };

export function outboxConformance(makeNodes: MakeNodes): void {
  describe('OutboxStore', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function two() {
      const made = await makeNodes(2);
      cleanups.push(made.close);
      return made.nodes.map((n) => n.outbox);
    }

    it('gives another node every entry after a seq, in order', async () => {
      const [a, b] = await two();
      for (const e of range(1, 5)) await a!.append('s1', e, KEEP);
      expect(await b!.read('s1', 0)).toEqual(range(1, 5));
      expect(await b!.read('s1', 3)).toEqual(range(4, 5));
      expect(await b!.read('s1', 5)).toEqual([]);
      // Another session's outbox is its own.
      await a!.append('s2', entry(1), KEEP);
      expect(await b!.read('s2', 0)).toEqual([entry(1)]);
      expect(await b!.read('s1', 0)).toEqual(range(1, 5));
    });

    it('has nothing to resume from for an unknown session or a seq beyond the head', async () => {
      const [a, b] = await two();
      expect(await b!.read('nobody', 0)).toBeUndefined();
      await a!.append('s1', entry(1), KEEP);
      expect(await b!.read('s1', 2)).toBeUndefined();
    });

    it('drops acknowledged entries but keeps the head', async () => {
      const [a, b] = await two();
      for (const e of range(1, 4)) await a!.append('s1', e, KEEP);
      await b!.ack('s1', 2);
      expect(await a!.read('s1', 0)).toBeUndefined();
      expect(await a!.read('s1', 2)).toEqual(range(3, 4));
      await b!.ack('s1', 4);
      expect(await a!.read('s1', 4)).toEqual([]);
      expect(await a!.read('s1', 3)).toBeUndefined();
      await a!.append('s1', entry(5), KEEP);
      expect(await b!.read('s1', 4)).toEqual([entry(5)]);
    });

    it('keeps at most `limit` entries, dropping the oldest', async () => {
      const [a, b] = await two();
      for (const e of range(1, 7)) await a!.append('s1', e, { limit: 3, ttlMs: 60_000 });
      expect(await b!.read('s1', 3)).toBeUndefined();
      expect(await b!.read('s1', 4)).toEqual(range(5, 7));
    });

    it('expires an outbox after its TTL, and forgets one deleted', async () => {
      const [a, b] = await two();
      await a!.append('s1', entry(1), KEEP);
      await a!.append('s2', entry(1), KEEP);
      await a!.expire('s1', 100);
      await a!.expire('nobody', 100); // harmless
      await waitFor(async () => (await b!.read('s1', 0)) === undefined, 'the outbox to expire');
      expect(await b!.read('s2', 0)).toEqual([entry(1)]);
      await b!.delete('s2');
      expect(await a!.read('s2', 0)).toBeUndefined();
    });

    it('keeps JSON that looks like anything, including a seq prefix, as it was', async () => {
      const [a, b] = await two();
      const odd = { seq: 1, json: '2:{"a":"x:y"}' };
      await a!.append('s1', odd, KEEP);
      await a!.append('s1', { seq: 2, json: odd.json }, KEEP);
      expect(await b!.read('s1', 0)).toEqual([odd, { seq: 2, json: odd.json }]);
    });
  });
}
