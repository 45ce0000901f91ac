/**
 * LockManager conformance: exclusion across nodes, a lease a live holder keeps past its TTL, a
 * dead holder's lease freeing itself after the TTL, and release when `fn` throws.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterUnavailableError } from '../errors.js';
import { gate, waitFor, type MakeNodes } from './support.js';

/** Short, so that a dead holder's lease frees within the test; long enough to renew in time. */
const SHORT_TTL_MS = 400;

export function locksConformance(makeNodes: MakeNodes): void {
  describe('LockManager', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function nodes(count: number, lockTtlMs?: number) {
      const made = await makeNodes(count, lockTtlMs === undefined ? {} : { lockTtlMs });
      cleanups.push(made.close);
      return made.nodes;
    }

    it('runs work on one key one at a time across nodes, and returns what fn returns', async () => {
      const all = await nodes(3);
      let inside = 0;
      let most = 0;
      const runs = Array.from({ length: 24 }, (_, i) =>
        all[i % 3]!.locks.run('call:1', async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 2));
          inside--;
          return i;
        }),
      );
      expect(await Promise.all(runs)).toEqual(Array.from({ length: 24 }, (_, i) => i));
      expect(most).toBe(1);
    });

    it('lets other keys run while one is held', async () => {
      const [a, b] = await nodes(2);
      const held = gate();
      let holding = false;
      const first = a!.locks.run('call:1', async () => {
        holding = true;
        await held.promise;
      });
      await waitFor(() => holding, 'the first holder');
      expect(await b!.locks.run('call:2', async () => 'other key')).toBe('other key');
      held.open();
      await first;
    });

    it('keeps a live holder past its TTL (the lease is renewed)', async () => {
      const [a, b] = await nodes(2, SHORT_TTL_MS);
      const held = gate();
      let holding = false;
      const first = a!.locks.run('call:1', async () => {
        holding = true;
        await held.promise;
      });
      await waitFor(() => holding, 'the first holder');
      let secondIn = false;
      const second = b!.locks.run('call:1', async () => {
        secondIn = true;
      });
      // Three TTLs pass with the holder still running: the waiter must still be waiting.
      const until = Date.now() + 3 * SHORT_TTL_MS;
      await waitFor(() => Date.now() >= until, 'three TTLs');
      expect(secondIn).toBe(false);
      held.open();
      await first;
      await second;
      expect(secondIn).toBe(true);
    });

    it('frees a lock after its TTL when the node holding it died', async () => {
      const [a, b] = await nodes(2, SHORT_TTL_MS);
      const held = gate();
      let holding = false;
      const dead = a!.locks.run('call:1', async () => {
        holding = true;
        await held.promise;
      });
      await waitFor(() => holding, 'the holder');
      // The dead node also had work queued for the key: it must not run, nor block others.
      let queuedRan = false;
      const queued = a!.locks.run('call:1', async () => {
        queuedRan = true;
      });
      queued.catch(() => {});
      await a!.close();
      expect(await b!.locks.run('call:1', async () => 'after the lease expired')).toBe(
        'after the lease expired',
      );
      held.open();
      await dead.catch(() => {});
      await expect(queued).rejects.toBeInstanceOf(ClusterUnavailableError);
      expect(queuedRan).toBe(false);
      await expect(a!.locks.run('call:2', async () => 1)).rejects.toBeInstanceOf(
        ClusterUnavailableError,
      );
    });

    it('releases the lock when fn throws, and passes the error on', async () => {
      // A long TTL: only a release lets the next run in before the test's timeout.
      const [a, b] = await nodes(2, 60_000);
      await expect(
        a!.locks.run('call:1', async () => Promise.reject(new Error('boom'))),
      ).rejects.toThrow('boom');
      expect(await b!.locks.run('call:1', async () => 'next')).toBe('next');
      expect(await a!.locks.run('call:1', async () => 'again')).toBe('again');
    });
  });
}
