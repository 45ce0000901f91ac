/**
 * Two devices of one user (the server's `--multi-device ring-all`): two Chromium pages logged in as
 * the same user both ring; accepting on one takes the call (media flows there) and the other stops
 * ringing with CALLING_CANCEL {reason: "answered_elsewhere"}; neither page is kicked. And the
 * same on the kit's page, where the device that stopped ringing says so in its language.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { UI_TIMEOUT_MS, closeKits, openKit, userID } from './callkit-harness.js';
import { EVENT, VIDEO, showEachOther, useRingline } from './harness/index.js';

const ringline = useRingline({ multiDevice: 'ring-all' });

describe('two devices of one user, ring-all', () => {
  test('both ring; accepting on one stops the other with CALLING_CANCEL answered_elsewhere', async () => {
    const alice = await ringline.user('alice');
    const phone = await ringline.user('bob');
    const laptop = await ringline.sameUser(phone);
    const [phoneMark, laptopMark, aliceMark] = await Promise.all([
      phone.mark(),
      laptop.mark(),
      alice.mark(),
    ]);

    await alice.sdk.call({ userID: phone.userID, type: VIDEO });
    const [rangPhone, rangLaptop] = await Promise.all([
      phone.waitForEvent(EVENT.INVITED, (p) => p.sponsor === alice.userID, { after: phoneMark }),
      laptop.waitForEvent(EVENT.INVITED, (p) => p.sponsor === alice.userID, { after: laptopMark }),
    ]);
    expect(rangLaptop.payload.inviteID).toBe(rangPhone.payload.inviteID);

    await laptop.sdk.accept();
    const cancel = await phone.waitForEvent(EVENT.CALLING_CANCEL, undefined, { after: phoneMark });
    expect(cancel.payload).toMatchObject({
      inviteID: rangPhone.payload.inviteID,
      sponsor: alice.userID,
      reason: 'answered_elsewhere',
    });
    await Promise.all([
      alice.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === laptop.userID, {
        after: aliceMark,
      }),
      laptop.waitForEvent(EVENT.USER_ENTER, (p) => p.userID === alice.userID, {
        after: laptopMark,
      }),
    ]);

    // The call is the laptop's: media flows between alice and it.
    await showEachOther(alice, laptop);
    await Promise.all([
      alice.expectFramesRising(laptop.userID),
      laptop.expectFramesRising(alice.userID),
    ]);
    // The phone was not kicked and is not in the call.
    expect(await phone.events(EVENT.KICKED_OUT)).toEqual([]);
    expect(await laptop.events(EVENT.KICKED_OUT)).toEqual([]);
    expect(await phone.events(EVENT.USER_ENTER)).toEqual([]);

    // Hanging up ends it on the laptop; the next call rings both devices again.
    const [endMark, phoneNext, laptopNext] = await Promise.all([
      laptop.mark(),
      phone.mark(),
      laptop.mark(),
    ]);
    await alice.sdk.hangup();
    await laptop.waitForEvent(EVENT.CALL_END, undefined, { after: endMark });
    await alice.sdk.call({ userID: phone.userID, type: VIDEO });
    await Promise.all([
      phone.waitForEvent(EVENT.INVITED, undefined, { after: phoneNext }),
      laptop.waitForEvent(EVENT.INVITED, undefined, { after: laptopNext }),
    ]);
    await alice.sdk.hangup();
  });
});

describe('two devices of one user in the call kit, ring-all', () => {
  afterEach(async (context) => {
    await closeKits(context);
  });

  test('accepting on one kit stops the other ringing with "answered on another device"', async () => {
    const [alice, phone, laptop] = await Promise.all([
      openKit(ringline, 'alice'),
      openKit(ringline, 'bob-phone'),
      openKit(ringline, 'bob-laptop'),
    ]);
    const bob = userID('bob');
    await Promise.all([alice.login(userID('alice')), phone.login(bob, 'ja_JP'), laptop.login(bob)]);

    await alice.dial(bob, 'audio');
    await Promise.all([
      phone.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }),
      laptop.tid('callkit-accept').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }),
    ]);
    await laptop.tid('callkit-accept').click();
    await Promise.all([
      alice.waitForStatus('calling-c2c-audio'),
      laptop.waitForStatus('calling-c2c-audio'),
      phone.waitForStatus('idle'),
    ]);
    // The phone's kit (in Japanese) says the call was answered elsewhere, not cancelled.
    await expect(phone.kitText('別のデバイスで応答しました')).resolves.toBe(true);
    await phone.screenshot('answered-elsewhere');
    expect(await phone.statusSequence()).toEqual(['idle', 'be-invited', 'idle']);
    expect(await phone.callbacks('kickedOut')).toEqual([]);
    await alice.tid('callkit-hangup').click();
    await laptop.waitForStatus('idle');
  });
});
