/**
 * OutboxStore conformance: any node appends and gets the next seq, another reads every entry
 * after a seq, in order; acks and the limit trim it; it expires with the resume window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxEntry, OutboxStore } from '../types.js';
import { waitFor, type MakeNodes } from './support.js';

const body = (n: number) => JSON.stringify({ type: 'userLeave', callID: 'c1', userID: `u${n}` });
const entry = (seq: number): OutboxEntry => ({ seq, json: body(seq) });
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
const KEEP = { limit: 100, ttlMs: 60_000 };

/** Appends body(1..n) in order from `store`, each getting the next seq. */
async function fill(store: OutboxStore, sessionID: string, n: number, options = KEEP) {
  for (let i = 1; i <= n; i++) expect(await store.append(sessionID, body(i), options)).toBe(i);
}

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
      await a!.open('s1', 60_000);
      expect(await b!.read('s1', 0)).toEqual([]);
      await fill(a!, 's1', 5);
      expect(await b!.read('s1', 0)).toEqual(range(1, 5));
      expect(await b!.read('s1', 3)).toEqual(range(4, 5));
      expect(await b!.read('s1', 5)).toEqual([]);
      // Another session's outbox is its own, with its own seqs.
      await b!.open('s2', 60_000);
      expect(await b!.append('s2', body(1), KEEP)).toBe(1);
      expect(await a!.read('s2', 0)).toEqual([entry(1)]);
      expect(await a!.read('s1', 0)).toEqual(range(1, 5));
    });

    it('gives out each seq once when nodes append at the same time', async () => {
      const [a, b] = await two();
      await a!.open('s1', 60_000);
      const seqs = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).append('s1', body(i), KEEP)),
      );
      expect([...seqs].sort((x, y) => x! - y!)).toEqual(
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      const read = await a!.read('s1', 0);
      expect(read!.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('keeps nothing for a session without an outbox, and opening twice keeps what is there', async () => {
      const [a, b] = await two();
      expect(await a!.append('nobody', body(1), KEEP)).toBeUndefined();
      expect(await b!.read('nobody', 0)).toBeUndefined();
      await a!.open('s1', 60_000);
      await fill(a!, 's1', 2);
      await b!.open('s1', 60_000);
      expect(await b!.read('s1', 0)).toEqual(range(1, 2));
      expect(await b!.read('s1', 3)).toBeUndefined();
    });

    it('drops acknowledged entries but keeps the head', async () => {
      const [a, b] = await two();
      await a!.open('s1', 60_000);
      await fill(a!, 's1', 4);
      await b!.ack('s1', 2);
      expect(await a!.read('s1', 0)).toBeUndefined();
      expect(await a!.read('s1', 2)).toEqual(range(3, 4));
      await b!.ack('s1', 4);
      expect(await a!.read('s1', 4)).toEqual([]);
      expect(await a!.read('s1', 3)).toBeUndefined();
      expect(await b!.append('s1', body(5), KEEP)).toBe(5);
      expect(await a!.read('s1', 4)).toEqual([entry(5)]);
    });

    it('keeps at most `limit` entries, dropping the oldest', async () => {
      const [a, b] = await two();
      await a!.open('s1', 60_000);
      await fill(a!, 's1', 7, { limit: 3, ttlMs: 60_000 });
      expect(await b!.read('s1', 3)).toBeUndefined();
      expect(await b!.read('s1', 4)).toEqual(range(5, 7));
    });

    it('expires an outbox after its TTL, and forgets one deleted', async () => {
      const [a, b] = await two();
      await a!.open('s1', 60_000);
      await a!.open('s2', 60_000);
      await fill(a!, 's1', 1);
      await fill(a!, 's2', 1);
      await a!.expire('s1', 100);
      await a!.expire('nobody', 100); // harmless
      await waitFor(async () => (await b!.read('s1', 0)) === undefined, 'the outbox to expire');
      expect(await b!.append('s1', body(2), KEEP)).toBeUndefined();
      expect(await b!.read('s2', 0)).toEqual([entry(1)]);
      await b!.delete('s2');
      expect(await a!.read('s2', 0)).toBeUndefined();
      expect(await a!.append('s2', body(2), KEEP)).toBeUndefined();
    });

    it('keeps JSON that looks like anything, a seq prefix included, as it was', async () => {
      const [a, b] = await two();
      const odd = '2:{"a":"x:y"}';
      await a!.open('s1', 60_000);
      await a!.append('s1', odd, KEEP);
      await a!.append('s1', odd, KEEP);
      expect(await b!.read('s1', 0)).toEqual([
        { seq: 1, json: odd },
        { seq: 2, json: odd },
      ]);
    });
  });
}
