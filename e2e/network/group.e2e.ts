import { describe, expect, test } from 'vitest';
import { connectGroupAcross, connectedPairs, describePair, expectDecoding } from './calls.js';
import { useNetwork } from './fixture.js';
import { turnFlags } from './public-server.js';
import { PUBLIC_IP } from './topology.js';

// A group call with one member at each site — behind a symmetric NAT, behind a port-restricted
// cone NAT, and a third behind another symmetric NAT who allows relayed media only — through the
// server's Janus (public segment) and its coturn.
const net = useNetwork([
  { name: 'east', nat: 'symmetric' },
  { name: 'west', nat: 'cone' },
  { name: 'north', nat: 'symmetric' },
]);

describe('a group call across three NATed sites, Janus and TURN on the public segment', () => {
  const server = net.server({ janus: true, flags: turnFlags() });

  test('every member decodes every other member; the relay-only member’s media goes through TURN', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    const carol = await net.user('north', 'carol', server, { iceTransportPolicy: 'relay' });
    await connectGroupAcross(alice, [bob, carol]);
    await expectDecoding([alice, bob, carol], { by: 20 });

    for (const member of [alice, bob, carol]) {
      const { pairs } = await connectedPairs(member);
      console.log(`group: ${member.user.name} ${pairs.map(describePair).join('; ')}`);
      // Publisher and subscriber connections, each to Janus on the public segment.
      expect(pairs.length, member.user.name).toBeGreaterThanOrEqual(2);
      for (const pair of pairs) {
        if (member === carol) {
          // Relayed: carol's end is coturn's relay address, Janus sees the relay as its peer.
          expect(pair.local.type, describePair(pair)).toBe('relay');
          expect(pair.local.address).toBe(PUBLIC_IP);
        } else {
          expect(pair.remote.address, describePair(pair)).toBe(PUBLIC_IP);
        }
      }
    }
  });
});
