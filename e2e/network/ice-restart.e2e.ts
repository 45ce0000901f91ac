import { describe, test } from 'vitest';
import {
  connectGroupAcross,
  connectPair,
  everyoneViews,
  expectDecoding,
  expectStillInCall,
  recoveredAfter,
  udpBlackout,
} from './calls.js';
import { useNetwork, type SiteUser } from './fixture.js';

// The path dies mid-call — the site's router drops all UDP for 5 s, or the client's public address
// changes — and the call recovers: media resumes (the SDK restarts ICE: P2P through our signalling,
// SFU through Janus), and the other side never sees the user leave. Sites behind port-restricted
// cone NATs with STUN, so that P2P works without TURN and a new public address needs a new path.
const net = useNetwork([
  { name: 'east', nat: 'cone' },
  { name: 'west', nat: 'cone' },
  { name: 'north', nat: 'cone' },
]);

const server = net.server({
  janus: true,
  stun: true,
});

const marks = (users: SiteUser[]) => Promise.all(users.map((u) => u.user.mark()));

async function expectNobodyLeft(users: SiteUser[], after: number[]) {
  for (const [i, u] of users.entries()) await expectStillInCall(u, after[i]!);
}

describe('a one-to-one call across NATs', () => {
  test('survives the site dropping all UDP for 5 s: frames resume, nobody leaves', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    const after = await marks([alice, bob]);

    const back = await udpBlackout(net.site('east'), everyoneViews([alice, bob]));
    const ms = await recoveredAfter(everyoneViews([alice, bob]), back);
    console.log(`ICE restart 1:1, 5 s UDP blackout: frames again ${ms} ms after the path was back`);
    await expectDecoding([alice, bob]);
    await expectNobodyLeft([alice, bob], after);
  });

  test('survives the client’s public address changing: frames resume, nobody leaves', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    const after = await marks([alice, bob]);

    await net.site('east').changePublicAddress();
    const changed = Date.now();
    const ms = await recoveredAfter(everyoneViews([alice, bob]), changed);
    console.log(`ICE restart 1:1, public address change: frames again after ${ms} ms`);
    await expectDecoding([alice, bob]);
    await expectNobodyLeft([alice, bob], after);
  });
});

describe('a group call across NATs (through Janus)', () => {
  test('survives one site dropping all UDP for 5 s: everyone decodes everyone again, nobody leaves', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    const carol = await net.user('north', 'carol', server);
    await connectGroupAcross(alice, [bob, carol]);
    const everyone = [alice, bob, carol];
    const after = await marks(everyone);

    const back = await udpBlackout(net.site('east'), [{ viewer: alice, shown: [bob, carol] }]);
    const ms = await recoveredAfter(everyoneViews(everyone), back);
    console.log(
      `ICE restart group, 5 s UDP blackout: frames again ${ms} ms after the path was back`,
    );
    await expectDecoding(everyone);
    await expectNobodyLeft(everyone, after);
  });

  test('survives a member’s public address changing: everyone decodes everyone again, nobody leaves', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    const carol = await net.user('north', 'carol', server);
    await connectGroupAcross(alice, [bob, carol]);
    const everyone = [alice, bob, carol];
    const after = await marks(everyone);

    await net.site('west').changePublicAddress();
    const changed = Date.now();
    const ms = await recoveredAfter(everyoneViews(everyone), changed);
    console.log(`ICE restart group, public address change: frames again after ${ms} ms`);
    await expectDecoding(everyone);
    await expectNobodyLeft(everyone, after);
  });
});
