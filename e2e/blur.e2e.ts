import { describe, expect, test } from 'vitest';
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import {
  EVENT,
  LOCAL_VIEW,
  REMOTE_VIEW,
  VIDEO,
  connect,
  pollUntil,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

const ringline = useRingline();

/** How sharp a picture is: the mean squared Laplacian of its luma, per region. */
interface Sharpness {
  /** The whole frame. */
  frame: number;
  /**
   * The top fifth: background on a camera picture with the subject in the middle; on Chromium's
   * fake camera it holds the running clock text and two bright corner squares.
   */
  top: number;
  /** The mean luma of the top fifth: blur keeps it, a blank or black picture would not. */
  topLuma: number;
}

/**
 * Draws the `viewer`'s decoded video of the remote view to a 320×240 canvas `samples` times, a
 * frame apart, and returns the median sharpness (the fake camera's pattern moves; the median keeps
 * one odd frame from deciding).
 */
async function remoteSharpness(viewer: TestUser, samples = 5): Promise<Sharpness> {
  return viewer.page.evaluate(
    async ([viewId, n]) => {
      const video = document.querySelector<HTMLVideoElement>(`#${viewId} video`);
      if (!video || !video.videoWidth) return { frame: 0, top: 0, topLuma: 0 };
      const w = 320;
      const h = 240;
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
      const measure = (x0: number, y0: number, x1: number, y1: number, px: Uint8ClampedArray) => {
        const luma = (x: number, y: number) => {
          const i = (y * w + x) * 4;
          return 0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!;
        };
        let sum = 0;
        let count = 0;
        let luma0 = 0;
        for (let y = Math.max(1, y0); y < Math.min(h - 1, y1); y++) {
          for (let x = Math.max(1, x0); x < Math.min(w - 1, x1); x++) {
            const lap =
              4 * luma(x, y) - luma(x - 1, y) - luma(x + 1, y) - luma(x, y - 1) - luma(x, y + 1);
            sum += lap * lap;
            luma0 += luma(x, y);
            count++;
          }
        }
        return count ? { energy: sum / count, luma: luma0 / count } : { energy: 0, luma: 0 };
      };
      const frames: Sharpness[] = [];
      for (let i = 0; i < n; i++) {
        ctx.drawImage(video, 0, 0, w, h);
        const px = ctx.getImageData(0, 0, w, h).data;
        const top = measure(0, 0, w, h / 5, px);
        frames.push({ frame: measure(0, 0, w, h, px).energy, top: top.energy, topLuma: top.luma });
        await new Promise((resolve) => setTimeout(resolve, 70));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      return {
        frame: median(frames.map((f) => f.frame)),
        top: median(frames.map((f) => f.top)),
        topLuma: median(frames.map((f) => f.topLuma)),
      };
    },
    [REMOTE_VIEW, samples] as const,
  );
}

/** Frames per second the viewer decodes of its inbound video, over `ms` (a measurement only). */
async function decodedFps(viewer: TestUser, ms: number): Promise<number> {
  const before = await viewer.rtpStats('inbound-rtp', 'video');
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await viewer.rtpStats('inbound-rtp', 'video');
  return ((after.framesDecoded - before.framesDecoded) * 1000) / (Date.now() - started);
}

/** Whether the user's local preview plays the very video track their peer connection sends. */
async function previewIsSent(user: TestUser): Promise<boolean> {
  return user.page.evaluate((viewId) => {
    const video = document.querySelector<HTMLVideoElement>(`#${viewId} video`);
    const shown = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    const sent = window.__ringline.peerConnections
      .flatMap((pc) => pc.getSenders())
      .find((s) => s.track?.kind === 'video')?.track;
    return !!shown && shown === sent;
  }, LOCAL_VIEW);
}

describe('background blur in a one-to-one video call', () => {
  test('the peer decodes blurred frames while blur is on, and sharp ones again once it is off', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await bob.expectFramesRising(alice.userID);

    // The camera, as sent: a real device track.
    const [camera] = (await alice.page.evaluate(() => window.__ringline.sentTracks())).filter(
      (t) => t.kind === 'video',
    );
    expect(camera?.deviceId, 'the camera is sent before blur').toBeTruthy();
    const sharp = await pollUntil(
      "bob sees alice's camera picture",
      () => remoteSharpness(bob),
      (s) => s.frame > 0,
    );
    const fpsSharp = await decodedFps(bob, 3_000);

    await alice.sdk.startLocalView({ userID: alice.userID, videoViewDomID: LOCAL_VIEW });
    expect(await previewIsSent(alice), 'the preview shows the camera, as sent').toBe(true);
    await alice.sdk.setBackgroundBlur(true);
    expect(await previewIsSent(alice), 'the preview shows the blurred track, as sent').toBe(true);
    // The sent video is now the blurred canvas track (not the camera device), and it is live.
    const [blurredTrack] = (await alice.page.evaluate(() => window.__ringline.sentTracks())).filter(
      (t) => t.kind === 'video',
    );
    expect(blurredTrack).toMatchObject({ readyState: 'live' });
    expect(blurredTrack?.deviceId, 'the blurred track replaced the camera').not.toBe(
      camera?.deviceId,
    );

    // Bob's picture loses its fine detail where the model sees background. On Chromium's fake
    // camera (a green card with a clock and a turning disc) the model calls everything
    // background except, in some frames, part of the disc, which then stays sharp.
    const blurred = await pollUntil(
      "bob sees alice's picture blurred",
      () => remoteSharpness(bob),
      (s) => s.frame > 0 && s.top < sharp.top / 4,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Blurred, not blanked: the background keeps its brightness.
    expect(Math.abs(blurred.topLuma - sharp.topLuma)).toBeLessThan(sharp.topLuma * 0.25);
    const rising = await bob.expectFramesRising(alice.userID, { by: 20 });
    expect(rising.after).toBeGreaterThan(rising.before);
    const fpsBlurred = await decodedFps(bob, 5_000);
    const stats = await alice.page.evaluate(() => {
      const pc = window.__ringline.peerConnections[0];
      return pc?.getStats().then((r) => {
        for (const s of r.values()) {
          if (s.type === 'outbound-rtp' && s.kind === 'video') {
            return {
              framesPerSecond: s.framesPerSecond,
              frameWidth: s.frameWidth,
              frameHeight: s.frameHeight,
            };
          }
        }
        return undefined;
      });
    });
    console.log(
      `[blur] sharpness frame/top sharp ${sharp.frame.toFixed(1)}/${sharp.top.toFixed(1)}, ` +
        `blurred ${blurred.frame.toFixed(1)}/${blurred.top.toFixed(1)}; bob decodes ` +
        `${fpsSharp.toFixed(1)} fps sharp, ${fpsBlurred.toFixed(1)} fps blurred; alice sends ` +
        JSON.stringify(stats),
    );

    await alice.sdk.setBackgroundBlur(false);
    const [restored] = (await alice.page.evaluate(() => window.__ringline.sentTracks())).filter(
      (t) => t.kind === 'video',
    );
    expect(restored?.deviceId, 'the camera is sent again').toBe(camera?.deviceId);
    expect(await previewIsSent(alice), 'the preview shows the camera again').toBe(true);
    const sharpAgain = await pollUntil(
      "bob sees alice's sharp picture again",
      () => remoteSharpness(bob),
      (s) => s.top > sharp.top / 2,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(sharpAgain.top).toBeGreaterThan(blurred.top * 2);
    await bob.expectFramesRising(alice.userID, { by: 10 });
    for (const user of [alice, bob]) {
      expect(await user.events(EVENT.ERROR), `${user.name}'s ERROR events`).toEqual([]);
    }
  });

  test('blur stays on when the camera is turned off and on again: the new camera is blurred too', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await bob.expectFramesRising(alice.userID);
    const sharp = await pollUntil(
      "bob sees alice's camera picture",
      () => remoteSharpness(bob),
      (s) => s.frame > 0,
    );
    await alice.sdk.setBackgroundBlur(true);
    await alice.sdk.closeCamera();
    await alice.sdk.openCamera();
    const [sent] = (await alice.page.evaluate(() => window.__ringline.sentTracks())).filter(
      (t) => t.kind === 'video',
    );
    expect(sent).toMatchObject({ readyState: 'live' });
    await bob.expectFramesRising(alice.userID, { by: 10 });
    await pollUntil(
      "bob sees alice's new camera blurred",
      () => remoteSharpness(bob),
      (s) => s.frame > 0 && s.top < sharp.top / 4,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const user of [alice, bob]) {
      expect(await user.events(EVENT.ERROR), `${user.name}'s ERROR events`).toEqual([]);
    }
  });

  test('a radius out of range is refused with INVALID_FIELD, and the camera is still sent', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    const before = (await alice.page.evaluate(() => window.__ringline.sentTracks())).find(
      (t) => t.kind === 'video',
    );
    await expect(alice.sdk.setBackgroundBlur(true, { radius: 0 })).rejects.toMatchObject({
      code: ServerErrorCode.INVALID_FIELD,
      message: expect.stringMatching(/radius/),
    });
    const after = (await alice.page.evaluate(() => window.__ringline.sentTracks())).find(
      (t) => t.kind === 'video',
    );
    expect(after?.deviceId).toBeTruthy();
    expect(after?.deviceId).toBe(before?.deviceId);
  });

  test('blur whose assets cannot be loaded fails with 60110 BLUR_UNAVAILABLE', async () => {
    const alice = await ringline.user('alice');
    await expect(
      alice.sdk.setBackgroundBlur(true, { assetsUrl: '/sdk/no-such-folder/' }),
    ).rejects.toMatchObject({ code: SdkErrorCode.BLUR_UNAVAILABLE });
  });
});
