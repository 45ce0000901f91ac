/** PresenceStore conformance: what every adapter must do, checked across two nodes. */
import { afterEach, describe, expect, it } from 'vitest';
import type { MakeNodes } from './support.js';

export function presenceConformance(makeNodes: MakeNodes): void {
  describe('PresenceStore', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function two() {
      const made = await makeNodes(2);
      cleanups.push(made.close);
      return made.nodes.map((n) => n.presence);
    }

    it('shows on one node what another set, and nothing for an unknown user', async () => {
      const [a, b] = await two();
      await a!.set({ userID: 'alice', sessionID: 's1', nodeID: 'node-a' });
      expect(await b!.get('alice')).toEqual({ userID: 'alice', sessionID: 's1', nodeID: 'node-a' });
      expect(await b!.get('nobody')).toBeUndefined();
    });

    it('replaces an earlier session of the same user', async () => {
      const [a, b] = await two();
      await a!.set({ userID: 'alice', sessionID: 's1', nodeID: 'node-a' });
      await b!.set({ userID: 'alice', sessionID: 's2', nodeID: 'node-b' });
      expect(await a!.get('alice')).toEqual({ userID: 'alice', sessionID: 's2', nodeID: 'node-b' });
    });

    it('removes an entry only while it is still the same session', async () => {
      const [a, b] = await two();
      await a!.set({ userID: 'alice', sessionID: 's1', nodeID: 'node-a' });
      await b!.set({ userID: 'alice', sessionID: 's2', nodeID: 'node-b' });
      expect(await a!.remove('alice', 's1')).toBe(false);
      expect((await b!.get('alice'))?.sessionID).toBe('s2');
      expect(await a!.remove('alice', 's2')).toBe(true);
      expect(await b!.get('alice')).toBeUndefined();
      expect(await b!.remove('alice', 's2')).toBe(false);
    });

    it('keeps user IDs such as __proto__ and constructor as data', async () => {
      const [a, b] = await two();
      await a!.set({ userID: '__proto__', sessionID: 'p', nodeID: 'node-a' });
      expect(await b!.get('__proto__')).toEqual({
        userID: '__proto__',
        sessionID: 'p',
        nodeID: 'node-a',
      });
      expect(await b!.get('constructor')).toBeUndefined();
    });
  });
}
