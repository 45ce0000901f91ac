import { describe, expect, test } from 'vitest';
import { useRingline } from './harness/index.js';

// The measuring tools themselves: if these fail, no media assertion elsewhere can be trusted.
const ringline = useRingline();

describe('the e2e harness', () => {
  test('runs inside the test network namespace, where the browser sees only lo and the veth', async () => {
    expect(process.env.RINGLINE_NETNS).toBe('1');
    const { networkInterfaces } = await import('node:os');
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4')
      .map((a) => a!.address)
      .sort();
    expect(addresses).toEqual(['10.77.0.1', '10.77.0.2', '127.0.0.1']);
  });

  test('a bare RTCPeerConnection pair in a user page decodes its first frame', async () => {
    const alice = await ringline.user('alice', { login: false });
    const ms = await alice.page.evaluate(() => window.__ringline.floorFirstFrame());
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(15_000);
  });

  test('framesDecoded is 0 for a user nobody shows, and rises for a playing video', async () => {
    const alice = await ringline.user('alice', { login: false });
    expect(await alice.framesDecoded('nobody')).toBe(0);

    await alice.page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const video = document.createElement('video');
      video.autoplay = true;
      video.muted = true;
      video.dataset.userId = 'camera';
      video.srcObject = stream;
      document.body.append(video);
    });
    const { before, after } = await alice.expectFramesRising('camera', { by: 10 });
    expect(after - before).toBeGreaterThanOrEqual(10);
    expect(await alice.framesDecoded('nobody')).toBe(0);
  });
});
