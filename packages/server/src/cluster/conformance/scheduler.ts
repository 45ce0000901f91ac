/**
 * Scheduler conformance: a timer fires once in the cluster whichever node armed it, any node
 * cancels or re-arms it, and it still fires when the node that armed it is gone. "Never fired" is
 * checked against a marker timer due later, which fires after it would have.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, type ClusterNode, type MakeNodes } from './support.js';

/** Subscribes every node and records which node got which key. */
function record(nodes: ClusterNode[]) {
  const fired: Array<{ key: string; node: number }> = [];
  const unsubscribes = nodes.map((n, i) =>
    n.scheduler.subscribe((key) => void fired.push({ key, node: i })),
  );
  const count = (key: string) => fired.filter((f) => f.key === key).length;
  return { fired, count, unsubscribes };
}

export function schedulerConformance(makeNodes: MakeNodes): void {
  describe('Scheduler', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function nodes(count: number) {
      const made = await makeNodes(count);
      cleanups.push(made.close);
      return made.nodes;
    }

    it('fires each timer exactly once across three nodes, whichever node armed it', async () => {
      const all = await nodes(3);
      const { fired, count } = record(all);
      const keys = Array.from({ length: 30 }, (_, i) => `invite:${i}`);
      await Promise.all(keys.map((k, i) => all[i % 3]!.scheduler.schedule(k, 20 + (i % 5) * 10)));
      await waitFor(() => keys.every((k) => count(k) >= 1), 'every timer');
      await all[0]!.scheduler.schedule('marker', 300);
      await waitFor(() => count('marker') === 1, 'the marker');
      for (const k of keys) expect(count(k), k).toBe(1);
      expect(fired).toHaveLength(31);
    });

    it('cancels from another node a timer one node armed', async () => {
      const [a, b] = await nodes(2);
      const { count } = record([a!, b!]);
      await a!.scheduler.schedule('cancelled', 100);
      await b!.scheduler.cancel('cancelled');
      await b!.scheduler.cancel('never-armed'); // harmless
      await a!.scheduler.schedule('marker', 300);
      await waitFor(() => count('marker') === 1, 'the marker');
      expect(count('cancelled')).toBe(0);
    });

    it('replaces a timer scheduled again under the same key, earlier or later', async () => {
      const [a, b] = await nodes(2);
      const { count } = record([a!, b!]);
      await a!.scheduler.schedule('sooner', 600_000);
      await b!.scheduler.schedule('sooner', 20);
      await waitFor(() => count('sooner') === 1, 'the re-armed timer');

      await a!.scheduler.schedule('later', 50);
      await b!.scheduler.schedule('later', 600_000);
      await a!.scheduler.schedule('marker', 300);
      await waitFor(() => count('marker') === 1, 'the marker');
      expect(count('later')).toBe(0);
      expect(count('sooner')).toBe(1);
      await a!.scheduler.cancel('later');
    });

    it('fires a timer on another node when the node that armed it is gone', async () => {
      const [a, b] = await nodes(2);
      const { fired } = record([a!, b!]);
      await a!.scheduler.schedule('orphan', 200);
      await a!.close();
      await waitFor(() => fired.length === 1, 'the orphaned timer');
      expect(fired).toEqual([{ key: 'orphan', node: 1 }]);
    });

    it('keeps firing after a handler throws or rejects', async () => {
      const [a] = await nodes(1);
      const got: string[] = [];
      a!.scheduler.subscribe((key) => {
        if (key === 'throws') throw new Error('handler bug');
        if (key === 'rejects') return Promise.reject(new Error('async handler bug'));
        got.push(key);
      });
      await a!.scheduler.schedule('throws', 10);
      await a!.scheduler.schedule('rejects', 20);
      await a!.scheduler.schedule('fine', 60);
      await waitFor(() => got.length === 1, 'the timer after the failing ones');
      expect(got).toEqual(['fine']);
    });
  });
}
