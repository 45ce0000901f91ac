import { describe, expect, test } from 'vitest';
import {
  LOCAL_VIEW,
  REMOTE_VIEW,
  VIDEO,
  connect,
  pollUntil,
  useRingline,
  type TestUser,
} from './harness/index.js';

const ringline = useRingline();

/** The page's own device list of one kind, straight from the browser. */
function browserDevices(user: TestUser, kind: MediaDeviceKind) {
  return user.page.evaluate(
    async (k) =>
      (await navigator.mediaDevices.enumerateDevices())
        .filter((d) => d.kind === k)
        .map((d) => ({ deviceId: d.deviceId, label: d.label })),
    kind,
  );
}

describe('local and remote views', () => {
  test('startLocalView/stopLocalView create and remove a muted <video> of the own camera in the named node', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });

    expect(await alice.videosIn(LOCAL_VIEW)).toBe(0);
    await alice.sdk.startLocalView({ userID: alice.userID, videoViewDomID: LOCAL_VIEW });
    expect(await alice.videosIn(LOCAL_VIEW)).toBe(1);
    const info = await alice.page.evaluate((id) => {
      const video = document.querySelector<HTMLVideoElement>(`#${id} video`)!;
      return { muted: video.muted, autoplay: video.autoplay };
    }, LOCAL_VIEW);
    expect(info).toEqual({ muted: true, autoplay: true });
    await alice.expectFramesRising(alice.userID);

    await alice.sdk.stopLocalView({ userID: alice.userID });
    expect(await alice.videosIn(LOCAL_VIEW)).toBe(0);
    // Stopping the preview does not stop the camera the call sends.
    await bob.sdk.startRemoteView({ userID: alice.userID, videoViewDomID: REMOTE_VIEW });
    await bob.expectFramesRising(alice.userID);
  });

  test('startRemoteView/stopRemoteView create and remove the <video> of the peer in the named node', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });

    expect(await bob.videosIn(REMOTE_VIEW)).toBe(0);
    await bob.sdk.startRemoteView({ userID: alice.userID, videoViewDomID: REMOTE_VIEW });
    expect(await bob.videosIn(REMOTE_VIEW)).toBe(1);
    await bob.expectFramesRising(alice.userID);

    await bob.sdk.stopRemoteView({ userID: alice.userID });
    expect(await bob.videosIn(REMOTE_VIEW)).toBe(0);

    // And it can be shown again.
    await bob.sdk.startRemoteView({ userID: alice.userID, videoViewDomID: REMOTE_VIEW });
    await bob.expectFramesRising(alice.userID);
  });
});

describe('devices', () => {
  test('getCameras and getMicrophones list the fake devices the browser has', async () => {
    const alice = await ringline.user('alice');

    const cameras = (await alice.sdk.getCameras()) as { deviceId: string; label: string }[];
    const microphones = (await alice.sdk.getMicrophones()) as { deviceId: string; label: string }[];

    const browserCameras = await browserDevices(alice, 'videoinput');
    const browserMics = await browserDevices(alice, 'audioinput');
    expect(browserCameras.length).toBeGreaterThan(0);
    expect(cameras.map(({ deviceId, label }) => ({ deviceId, label }))).toEqual(browserCameras);
    expect(microphones.map(({ deviceId, label }) => ({ deviceId, label }))).toEqual(browserMics);
    // Chromium's fake devices, with labels (permission is granted).
    expect(cameras.map((c) => c.label)).toContain('fake_device_0');
    expect(microphones.some((m) => m.label.startsWith('Fake'))).toBe(true);
  });
});

describe('setVideoQuality', () => {
  test("'720p' before a call makes the camera capture and the call send 1280×720", async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await alice.sdk.setVideoQuality('720p');
    await connect(alice, bob, { type: VIDEO });
    await bob.sdk.startRemoteView({ userID: alice.userID, videoViewDomID: REMOTE_VIEW });

    const camera = (await alice.sentTracks()).find((t) => t.kind === 'video');
    expect(camera).toMatchObject({ width: 1280, height: 720 });
    // The encoder starts lower while bandwidth estimation ramps up (Chromium takes 20–30 s here to
    // reach 720p unless the sender prefers resolution over frame rate); it must reach the profile.
    const sent = await pollUntil(
      'alice sends 1280×720',
      () => alice.rtpStats('outbound-rtp', 'video'),
      (s) => s.frameWidth === 1280 && s.frameHeight === 720,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(sent).toMatchObject({ frameWidth: 1280, frameHeight: 720 });
    await pollUntil(
      'bob receives 1280×720',
      () => bob.videoInfo(alice.userID),
      (v) => v?.width === 1280 && v?.height === 720,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });
});
