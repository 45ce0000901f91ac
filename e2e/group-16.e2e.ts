import { MAX_CALL_MEMBERS } from '@ringline/protocol';
import { expect, test } from 'vitest';
import {
  EVENT,
  VIDEO,
  enteredAll,
  useRingline,
  type SyntheticParticipant,
} from './harness/index.js';

// The largest call: 15 synthetic participants (Node, @roamhq/wrtc, generated 320×240 frames at
// 10 fps to spare the machine's two cores) and one Chromium page, all through the server's Janus.
const ringline = useRingline({ sfu: true });

const SYNTHETIC = MAX_CALL_MEMBERS - 1;

test(
  `a ${MAX_CALL_MEMBERS}-participant call: one Chromium page decodes all ${SYNTHETIC} remote streams`,
  { timeout: 240_000 },
  async () => {
    const viewer = await ringline.user('viewer');
    await viewer.page.setViewportSize({ width: 1300, height: 720 });
    const peers: SyntheticParticipant[] = [];
    for (let i = 0; i < SYNTHETIC; i += 1) {
      // Each synthetic shows only the page's video, as the one-machine stand-in for 15 people on
      // 15 machines: the page is what must decode everybody.
      peers.push(await ringline.synthetic(`s${i}`, { fps: 10, receiveFrom: [viewer.userID] }));
    }
    const [caller, ...others] = peers as [SyntheticParticipant, ...SyntheticParticipant[]];

    const viewerMark = await viewer.mark();
    await caller.invite({
      userIDList: [...others.map((p) => p.userID), viewer.userID],
      callType: VIDEO,
      timeout: 120,
    });
    // The synthetic invitees accept a few at a time (each one publishes as it joins).
    for (let i = 0; i < others.length; i += 4) {
      await Promise.all(others.slice(i, i + 4).map((p) => p.accept()));
    }
    await viewer.waitForEvent(EVENT.INVITED, (p) => p.sponsor === caller.userID, {
      after: viewerMark,
    });
    // As a group-call app does: a small view for everyone who enters.
    await viewer.showRemotes(150, 112);
    await viewer.sdk.accept();
    await enteredAll(viewer, peers, viewerMark, 30_000);

    // Every one of the 15 remote videos decodes, and keeps decoding.
    await Promise.all(
      peers.map((p) => viewer.expectFramesRising(p.userID, { by: 10, timeoutMs: 60_000 })),
    );
    await Promise.all(
      peers.map((p) => viewer.expectFramesRising(p.userID, { by: 10, timeoutMs: 30_000 })),
    );
    for (const p of peers) {
      const info = await viewer.videoInfo(p.userID);
      expect(info, `the viewer's video of ${p.userID}`).not.toBeNull();
      expect(info!.width).toBeGreaterThan(0);
    }
    // The synthetic side receives too: the first and the last to join decode the viewer.
    await Promise.all(
      [caller, others[others.length - 1]!].map((p) =>
        p.expectFramesRising(viewer.userID, { by: 10, timeoutMs: 30_000 }),
      ),
    );
    expect(await viewer.events(EVENT.ERROR)).toEqual([]);
    for (const p of peers) expect(p.errors, `${p.userID}'s background errors`).toEqual([]);
  },
);
