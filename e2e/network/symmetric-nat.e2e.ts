import { describe, expect, test } from 'vitest';
import { EVENT, ring } from '../harness/index.js';
import {
  MEDIA_CONNECT_FAILED,
  connectPair,
  connectedPairs,
  describePair,
  type SelectedPair,
} from './calls.js';
import { useNetwork, type SiteUser } from './fixture.js';
import { turnFlags } from './public-server.js';
import { PUBLIC_IP } from './topology.js';

// One-to-one calls between two sites behind symmetric NATs (a new public port per destination):
// peer-to-peer cannot work there, so without TURN the call must fail clearly, and with TURN it must
// connect through a relay.
const net = useNetwork([
  { name: 'east', nat: 'symmetric' },
  { name: 'west', nat: 'symmetric' },
]);

/** The bound: both SDKs report a call that cannot connect within 45 s of accept. */
const FAIL_REPORTED_WITHIN_MS = 45_000;

const hasRelay = (p: SelectedPair) => p.local.type === 'relay' || p.remote.type === 'relay';

describe('symmetric NAT on both sides, STUN but no TURN', () => {
  const server = net.server({
    stun: true,
  });

  test('the call never connects, and both SDKs report ERROR 60120 then CALL_END within 45 s of accept', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    const [a, b] = await Promise.all([alice.user.mark(), bob.user.mark()]);
    await ring(alice.user, bob.user);
    const accepted = Date.now();
    await bob.user.sdk.accept();

    const reported = async (u: SiteUser, after: number) => {
      const timeoutMs = Math.max(1, accepted + FAIL_REPORTED_WITHIN_MS - Date.now());
      const error = await u.user.waitForEvent(EVENT.ERROR, (p) => p.code === MEDIA_CONNECT_FAILED, {
        after,
        timeoutMs,
      });
      const end = await u.user.waitForEvent(EVENT.CALL_END, undefined, {
        after,
        timeoutMs: Math.max(1, accepted + FAIL_REPORTED_WITHIN_MS - Date.now()),
      });
      expect(end.index, `${u.user.name}: CALL_END after the ERROR`).toBeGreaterThan(error.index);
      return error;
    };
    const [ea, eb] = await Promise.all([reported(alice, a), reported(bob, b)]);
    console.log(
      `symmetric/no TURN: ERROR ${MEDIA_CONNECT_FAILED} ${Math.round(ea.at - accepted)} ms ` +
        `(caller) / ${Math.round(eb.at - accepted)} ms (callee) after accept`,
    );
    // Nothing ever got through: no frame decoded either way.
    expect(await alice.user.framesDecoded(bob.userID)).toBe(0);
    expect(await bob.user.framesDecoded(alice.userID)).toBe(0);
  }, 90_000);
});

describe('symmetric NAT on both sides, TURN offered (--turn auto)', () => {
  const server = net.server({ flags: turnFlags() });

  test('the call connects through a relay, with frames decoded both ways', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    const [a, b] = await Promise.all([connectedPairs(alice), connectedPairs(bob)]);
    console.log(
      `symmetric/TURN: alice ${a.pairs.map(describePair)}; bob ${b.pairs.map(describePair)}`,
    );
    for (const [who, pairs] of [
      ['alice', a.pairs],
      ['bob', b.pairs],
    ] as const) {
      expect(pairs, who).toHaveLength(1);
      // Under symmetric NAT one side relays; the other reaches that relay from its own mapping,
      // which the relay side sees as peer-reflexive. Never a host-to-host or srflx-to-srflx path.
      expect(hasRelay(pairs[0]!), `${who}: ${describePair(pairs[0]!)}`).toBe(true);
    }
  });

  test('with the SDK option iceTransportPolicy relay, both sides relay and neither learns the other’s address', async () => {
    const relay = { iceTransportPolicy: 'relay' };
    const alice = await net.user('east', 'alice', server, relay);
    const bob = await net.user('west', 'bob', server, relay);
    await connectPair(alice, bob);
    await expectRelayOnlyAndPrivate(alice, bob);
  });
});

describe('symmetric NAT on both sides, the server’s --ice-transport-policy relay', () => {
  const server = net.server({ flags: turnFlags(['--ice-transport-policy', 'relay']) });

  test('both sides relay and neither learns the other’s address, without any SDK option', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    await expectRelayOnlyAndPrivate(alice, bob);
  });
});

/**
 * Both selected pairs are relay ↔ relay, and no address of one user's site (private or public) is
 * among the remote addresses the other user's page was ever given.
 */
async function expectRelayOnlyAndPrivate(alice: SiteUser, bob: SiteUser): Promise<void> {
  for (const [me, other] of [
    [alice, bob],
    [bob, alice],
  ] as const) {
    const { pairs, report } = await connectedPairs(me);
    console.log(`relay policy: ${me.user.name} ${pairs.map(describePair)}`);
    expect(pairs, me.user.name).toHaveLength(1);
    expect([pairs[0]!.local.type, pairs[0]!.remote.type], me.user.name).toEqual(['relay', 'relay']);
    const leaked = report.remoteAddresses.filter((a) => other.site.addresses.includes(a));
    expect(leaked, `${other.user.name}'s addresses seen by ${me.user.name}`).toEqual([]);
    // What it did see: the relay on the public segment.
    expect(report.remoteAddresses).toContain(PUBLIC_IP);
  }
}
