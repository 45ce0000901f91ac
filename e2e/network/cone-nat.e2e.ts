import { describe, expect, test } from 'vitest';
import { connectPair, connectedPairs, describePair } from './calls.js';
import { useNetwork } from './fixture.js';
import { turnFlags } from './public-server.js';

// One-to-one calls between two sites behind port-restricted cone NATs: both learn their public
// address from STUN and punch holes to each other, so media flows peer-to-peer through the NATs —
// with no relay even when TURN is offered.
const net = useNetwork([
  { name: 'east', nat: 'cone' },
  { name: 'west', nat: 'cone' },
]);

const DIRECT = ['srflx', 'prflx'];

describe('port-restricted cone NAT on both sides, STUN only', () => {
  const server = net.server({ stun: true });

  test('the call connects peer-to-peer through the NATs’ public mappings', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const { pairs } = await connectedPairs(me);
      console.log(`cone/STUN: ${me.user.name} ${pairs.map(describePair)}`);
      expect(pairs).toHaveLength(1);
      // The remote end is the other site's public address (its router), reached directly.
      expect(DIRECT).toContain(pairs[0]!.remote.type);
      expect(pairs[0]!.remote.address).toBe(other.site.wanIp);
    }
  });
});

describe('port-restricted cone NAT on both sides, TURN offered (--turn auto)', () => {
  const server = net.server({ flags: turnFlags() });

  test('the call connects through server-reflexive/peer-reflexive candidates, with no relay', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const { pairs } = await connectedPairs(me);
      console.log(`cone/TURN: ${me.user.name} ${pairs.map(describePair)}`);
      expect(pairs).toHaveLength(1);
      expect(pairs[0]!.local.type).not.toBe('relay');
      expect(DIRECT).toContain(pairs[0]!.remote.type);
      expect(pairs[0]!.remote.address).toBe(other.site.wanIp);
    }
  });
});
