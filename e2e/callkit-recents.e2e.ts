/**
 * The kit's recent-calls panel (`<ringline-recent-calls>`) on the demo's kit page, in Chromium:
 * a call bob missed shows in his list, marked missed with the unread count, in his language;
 * "mark all as seen" clears the count; the row's call-back button rings alice with a call of the
 * same type. Clicks only, as a person would.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { useRingline } from './harness/index.js';
import { UI_TIMEOUT_MS, closeKits, openKit, userID } from './callkit-harness.js';

const ringline = useRingline();

afterEach(async (context) => {
  await closeKits(context);
});

describe('the recent-calls panel', () => {
  test('a missed call is listed and marked; mark seen; call back rings the caller', async () => {
    const [alice, bob] = await Promise.all([openKit(ringline, 'alice'), openKit(ringline, 'bob')]);
    await Promise.all([alice.login(userID('alice')), bob.login(userID('bob'), 'ja_JP')]);
    // Logged in: bob's panel has loaded his (empty) history.
    await bob
      .tid('recent-calls')
      .getByText('通話履歴はありません')
      .waitFor({ timeout: UI_TIMEOUT_MS });

    // Alice rings bob (audio) and cancels before he answers.
    await alice.dial(bob.userID, 'audio');
    await bob.waitForStatus('be-invited');
    await alice.tid('callkit-hangup').click();
    await bob.waitForStatus('idle');

    // The panel refreshed itself: one missed call from alice, one unread.
    const row = bob.tid('recent-call');
    await row.filter({ hasText: alice.userID }).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await row.count()).toBe(1);
    await expect(row.getAttribute('class')).resolves.toMatch(/missed unseen/);
    await expect(row.textContent()).resolves.toMatch(/不在着信/);
    await expect(row.textContent()).resolves.toMatch(/音声通話/);
    await expect(bob.tid('recent-calls-unread').textContent()).resolves.toMatch(/1/);
    await bob.screenshot('recents-missed');

    await bob.tid('recent-calls-mark-seen').click();
    await bob.tid('recent-calls-unread').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await expect(row.getAttribute('class')).resolves.not.toMatch(/unseen/);

    // One click calls alice back, audio again.
    await bob.tid('recent-call-back').click();
    await alice.waitForStatus('be-invited');
    await bob.waitForStatus('dialing-c2c');
    await expect(alice.kitText(bob.userID)).resolves.toBe(true);
    await bob.tid('callkit-hangup').click();
    await alice.waitForStatus('idle');
    expect([...alice.pageErrors(), ...bob.pageErrors()]).toEqual([]);
  });
});
