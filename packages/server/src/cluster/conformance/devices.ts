/** DeviceStore conformance (`--multi-device ring-all`): what every adapter must do, on two nodes. */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceStore } from '../types.js';
import type { MakeNodes } from './support.js';

export function devicesConformance(makeNodes: MakeNodes): void {
  describe('DeviceStore', () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function two(): Promise<DeviceStore[]> {
      const made = await makeNodes(2);
      cleanups.push(made.close);
      return made.nodes.map((n) => {
        if (!n.devices) throw new Error('this adapter has no DeviceStore');
        return n.devices;
      });
    }

    it('lists a user’s devices oldest first, as any node sees them', async () => {
      const [a, b] = await two();
      expect(await a!.add('alice', 's1', 3)).toBe(true);
      expect(await b!.add('alice', 's2', 3)).toBe(true);
      // Adding a listed device again changes nothing.
      expect(await a!.add('alice', 's1', 3)).toBe(true);
      expect(await b!.get('alice')).toEqual({ sessionIDs: ['s1', 's2'] });
      expect(await a!.get('bob')).toEqual({ sessionIDs: [] });
    });

    it('refuses a device over the cap, and takes one again once a place is free', async () => {
      const [a, b] = await two();
      expect(await a!.add('alice', 's1', 2)).toBe(true);
      expect(await a!.add('alice', 's2', 2)).toBe(true);
      expect(await b!.add('alice', 's3', 2)).toBe(false);
      expect(await b!.remove('alice', 's1')).toBe(true);
      expect(await b!.remove('alice', 's1')).toBe(false);
      expect(await a!.add('alice', 's3', 2)).toBe(true);
      expect((await b!.get('alice')).sessionIDs).toEqual(['s2', 's3']);
    });

    it('lets exactly one of many concurrent logins take the last place', async () => {
      const [a, b] = await two();
      await a!.add('alice', 's0', 2);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).add('alice', `r${i}`, 2)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await a!.get('alice')).sessionIDs).toHaveLength(2);
    });

    it('names the device in a call while it is listed, released once the user left that call', async () => {
      const [a, b] = await two();
      await a!.add('alice', 's1', 3);
      await a!.add('alice', 's2', 3);
      expect(await b!.setActive('alice', 'nope', 'c1')).toBe(false);
      expect((await a!.get('alice')).active).toBeUndefined();
      expect(await b!.setActive('alice', 's2', 'c1')).toBe(true);
      expect((await a!.get('alice')).active).toEqual({ sessionID: 's2', callID: 'c1' });
      // A later call's device is not released by the end of an earlier call.
      await a!.setActive('alice', 's1', 'c2');
      await b!.clearActive('alice', 'c1');
      expect((await a!.get('alice')).active).toEqual({ sessionID: 's1', callID: 'c2' });
      await b!.clearActive('alice', 'c2');
      expect((await a!.get('alice')).active).toEqual({
        sessionID: 's1',
        callID: 'c2',
        released: true,
      });
      // The user's next call takes it back.
      await a!.setActive('alice', 's2', 'c4');
      expect((await b!.get('alice')).active).toEqual({ sessionID: 's2', callID: 'c4' });
      // Released fields count as no device: the cap still holds three.
      await b!.clearActive('alice', 'c4');
      expect(await a!.add('alice', 's3', 3)).toBe(true);
      expect(await a!.add('alice', 's4', 3)).toBe(false);
      await a!.remove('alice', 's3');
      // Removing the active device clears it.
      await a!.setActive('alice', 's2', 'c3');
      await b!.remove('alice', 's2');
      expect(await a!.get('alice')).toEqual({ sessionIDs: ['s1'] });
    });

    it('forgets a user with no device left, and keeps IDs such as __proto__ as data', async () => {
      const [a, b] = await two();
      await a!.add('__proto__', 's1', 1);
      expect(await b!.get('__proto__')).toEqual({ sessionIDs: ['s1'] });
      expect(await b!.get('constructor')).toEqual({ sessionIDs: [] });
      await b!.remove('__proto__', 's1');
      expect(await a!.get('__proto__')).toEqual({ sessionIDs: [] });
      expect(await a!.add('__proto__', 's2', 1)).toBe(true);
    });
  });
}
