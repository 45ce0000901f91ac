/**
 * The call kit's group call on the demo's kit page, through the server's Janus SFU: alice invites
 * bob and carol from the page's group form, both accept in their kits, and every kit shows a grid
 * of named tiles that decode the others' video.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { expectFramesRising, pollUntil, useRingline } from './harness/index.js';
import { UI_TIMEOUT_MS, closeKits, openKit, userID, type KitPage } from './callkit-harness.js';

const ringline = useRingline({ sfu: true });

afterEach(async (context) => {
  await closeKits(context);
});

describe('the call kit: a 3-person group video call', () => {
  test('dialing-group, accepts, a grid of tiles decoding video, hang up back to idle', async () => {
    const [alice, bob, carol] = await Promise.all([
      openKit(ringline, 'alice'),
      openKit(ringline, 'bob'),
      openKit(ringline, 'carol'),
    ]);
    await Promise.all([alice, bob, carol].map((kit) => kit.login(userID(kit.name))));
    const groupID = await ringline.group([alice, bob, carol]);

    await alice.page.fill('[data-testid="kit-group-id"]', groupID);
    await alice.page.fill('[data-testid="kit-group-users"]', `${bob.userID}, ${carol.userID}`);
    await alice.page.click('[data-testid="kit-group-video"]');
    await alice.waitForStatus('dialing-group');
    for (const kit of [bob, carol]) {
      await kit.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
      await kit.waitForStatus('be-invited');
    }
    await Promise.all([alice.screenshot('group-dialing'), bob.screenshot('group-incoming')]);

    await bob.tid('callkit-accept').click();
    await Promise.all([
      alice.waitForStatus('calling-group-video'),
      bob.waitForStatus('calling-group-video'),
    ]);
    // Carol still rings: her tile is in alice's grid already.
    const carolTile = alice.page.locator(
      `[data-testid="callkit-tile"][data-user-id="${carol.userID}"]`,
    );
    await carolTile.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await carolTile.getAttribute('data-ringing')).toBe('true');
    // She shows waiting (avatar and a loading indicator, as TUICallKit), not muted or camera off.
    await carolTile
      .locator('[data-testid="callkit-waiting"]')
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await carolTile.locator('.state').count()).toBe(0);
    expect(await carolTile.getAttribute('aria-label')).toBe(`${carol.userID}, Ringing…`);
    await alice.screenshot('group-grid-ringing');
    await carol.tid('callkit-accept').click();
    await carol.waitForStatus('calling-group-video');

    // Every kit has a tile per member, each named, and decodes both others' video.
    await expectTiles(alice, [alice, bob, carol]);
    await expectTiles(bob, [alice, bob, carol]);
    await expectTiles(carol, [alice, bob, carol]);
    await Promise.all(
      [alice, bob, carol].flatMap((kit) =>
        [alice, bob, carol]
          .filter((other) => other !== kit)
          .map((other) =>
            expectFramesRising(kit.page, other.userID, { by: 15, timeoutMs: 20_000 }),
          ),
      ),
    );
    // The fake microphones beep: alice's grid shows someone else speaking, from audio levels.
    // The fake microphone beeps about once a second; the kit keeps the loudest moment of each
    // 250 ms sampling period, so the next beep shows.
    await pollUntil(
      "a speaking ring on a remote tile in alice's grid",
      () =>
        alice.page
          .locator('[data-testid="callkit-tile"][data-speaking="true"]')
          .evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-user-id'))),
      (speaking) => speaking.some((id) => id === bob.userID || id === carol.userID),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    // Network bars on every tile: through the SFU, bob's kit rates his upload and each other
    // member's streams (told apart by their mids) from real statistics, excellent or good here.
    for (const member of [bob, alice, carol]) {
      await bob.waitForNetworkQuality(member.userID, ['1', '2']);
    }
    await Promise.all([alice, bob, carol].map((kit) => kit.screenshot('group-grid')));

    // Carol hangs up: her kit is idle, the other two keep the call with two tiles.
    await carol.tid('callkit-hangup').click();
    await carol.waitForStatus('idle');
    await alice.page
      .locator(`[data-testid="callkit-tile"][data-user-id="${carol.userID}"]`)
      .waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    expect(await alice.status()).toBe('calling-group-video');

    await alice.tid('callkit-hangup').click();
    await Promise.all([alice.waitForStatus('idle'), bob.waitForStatus('idle')]);

    expect(await alice.statusSequence()).toEqual([
      'idle',
      'dialing-group',
      'calling-group-video',
      'idle',
    ]);
    for (const kit of [bob, carol]) {
      expect(await kit.statusSequence(), kit.name).toEqual([
        'idle',
        'be-invited',
        'calling-group-video',
        'idle',
      ]);
    }
    for (const kit of [alice, bob, carol]) {
      expect(await kit.callbacks('beforeCalling'), kit.name).toEqual([
        { kind: 'callback', name: 'beforeCalling', args: [2] },
      ]);
      await kit.waitForCallback('afterCalling');
      expect(await kit.callbacks('afterCalling'), kit.name).toHaveLength(1);
      expect(await kit.errors(), kit.name).toEqual([]);
      expect(kit.pageErrors(), kit.name).toEqual([]);
    }
  });
});

/** `kit` shows one tile per member (its own included), each with the member's name. */
async function expectTiles(kit: KitPage, members: KitPage[]): Promise<void> {
  for (const member of members) {
    const tile = kit.page.locator(`[data-testid="callkit-tile"][data-user-id="${member.userID}"]`);
    await tile.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await tile.textContent(), `${kit.name}: tile of ${member.name}`).toContain(
      member.userID,
    );
    expect(await tile.getAttribute('data-ringing'), `${kit.name}: ${member.name}`).toBe('false');
  }
  expect(await kit.tid('callkit-tile').count(), kit.name).toBe(members.length);
}
