import { describe, expect, test } from 'vitest';
import {
  connectGroupAcross,
  connectPair,
  expectDecoding,
  measureQuality,
  type WindowQuality,
} from './calls.js';
import { useNetwork, type SiteUser } from './fixture.js';
import type { Site } from './topology.js';

// Calls keep decoding frames while one site's router drops 20 %, then 30 %, of the UDP packets it
// forwards, each way (nftables numgen; netem is not available here). The fps, freezes and audio
// concealment measured in each window are printed for the figures.
const net = useNetwork([
  { name: 'east', nat: 'cone' },
  { name: 'west', nat: 'cone' },
  { name: 'north', nat: 'cone' },
]);

const server = net.server({
  janus: true,
  stun: true,
});

/** How long each loss level is measured. */
const WINDOW_MS = 6_000;

/**
 * For each loss level on `site`: set it, check every page still decodes every other one, measure
 * the window, and print it. Loss is switched off at the end whatever happens.
 */
async function underLoss(site: Site, users: SiteUser[], streams: number, label: string) {
  const rows: (WindowQuality & { loss: number })[] = [];
  try {
    for (const loss of [20, 30]) {
      await site.setLoss(loss);
      await expectDecoding(users, { by: 10 });
      const window = await measureQuality(users, WINDOW_MS, streams);
      rows.push(...window.map((w) => ({ ...w, loss })));
      for (const w of window) expect(w.fps, `${w.user} at ${loss} % loss`).toBeGreaterThan(0);
    }
  } finally {
    await site.setLoss(0);
    console.log(`${label}: receive quality while ${site.name} loses packets`);
    console.table(rows);
  }
}

describe('packet loss on a site router', () => {
  test('a one-to-one call keeps decoding frames both ways at 20 % and at 30 % loss', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    await connectPair(alice, bob);
    await underLoss(net.site('east'), [alice, bob], 1, '1:1');
  }, 120_000);

  test('a group call keeps decoding every member at 20 % and at 30 % loss', async () => {
    const alice = await net.user('east', 'alice', server);
    const bob = await net.user('west', 'bob', server);
    const carol = await net.user('north', 'carol', server);
    await connectGroupAcross(alice, [bob, carol]);
    await underLoss(net.site('east'), [alice, bob, carol], 2, 'group');
  }, 120_000);
});
