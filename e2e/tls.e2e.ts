/**
 * The server speaking TLS itself (`--tls-cert --tls-key`) on a non-loopback address, as browsers
 * need it: camera and microphone only work in a secure context, and a page of http://10.x is not
 * one. Chromium trusts the test certificate by its SPKI hash (as it would a real CA's), with no
 * flag that treats an insecure origin as secure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startServer } from '@ringline/server';
import { makeTestCertificate } from '../packages/server/src/testing/tls.js';
import {
  CHROMIUM_ARGS,
  VIDEO,
  connect,
  newUserContext,
  showEachOther,
  useRingline,
} from './harness/index.js';

/** The namespace's veth address (scripts/in-netns.sh): reachable, and not loopback. */
const MEDIA_IP = process.env.RINGLINE_MEDIA_IP ?? '10.77.0.1';
const cert = makeTestCertificate([MEDIA_IP]);
const trust = `--ignore-certificate-errors-spki-list=${cert.spki}`;

const ringline = useRingline({
  host: MEDIA_IP,
  tls: { certFile: cert.certFile, keyFile: cert.keyFile },
  browserArgs: [trust],
});
afterAll(() => cert.remove());

const UI_TIMEOUT_MS = 15_000;

describe('a server on https://10.77.0.1', () => {
  test('is trusted by its SPKI hash only: a server with another certificate is refused', async () => {
    expect(ringline.server.url).toMatch(new RegExp(`^https://${MEDIA_IP.replace(/\./g, '\\.')}:`));
    const flags = [...CHROMIUM_ARGS, trust];
    expect(flags.some((f) => f.startsWith('--unsafely-treat-insecure-origin-as-secure'))).toBe(
      false,
    );
    expect(flags.some((f) => f === '--ignore-certificate-errors')).toBe(false);
    // The same kind of certificate for the same address, but not the one Chromium was told about.
    const otherCert = makeTestCertificate([MEDIA_IP]);
    const dataDir = await mkdtemp(join(tmpdir(), 'ringline-e2e-other-'));
    const other = await startServer({
      port: 0,
      host: MEDIA_IP,
      dev: true,
      dataDir,
      tls: { certFile: otherCert.certFile, keyFile: otherCert.keyFile },
    });
    const context = await ringline.browser.newContext();
    try {
      const page = await context.newPage();
      await expect(page.goto(`${other.url}/healthz`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
      // …while ours loads.
      const ours = await context.newPage();
      expect((await ours.goto(`${ringline.server.url}/healthz`))?.status()).toBe(200);
    } finally {
      await context.close();
      await other.close();
      otherCert.remove();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('its pages are a secure context, where getUserMedia works', async () => {
    const origin = new URL(ringline.server.url).origin;
    const context = await newUserContext(ringline.browser, origin);
    try {
      const page = await context.newPage();
      const response = await page.goto(`${origin}/healthz`);
      expect(response?.status()).toBe(200);
      const seen = await page.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const kinds = stream.getTracks().map((t) => `${t.kind}:${t.readyState}`);
        stream.getTracks().forEach((t) => t.stop());
        return { secure: window.isSecureContext, protocol: location.protocol, kinds };
      });
      expect(seen).toEqual({
        secure: true,
        protocol: 'https:',
        kinds: expect.arrayContaining(['audio:live', 'video:live']),
      });
    } finally {
      await context.close();
    }
  });

  test('the demo served there logs in over wss with its default server (the page origin)', async () => {
    const origin = new URL(ringline.server.url).origin;
    const context = await newUserContext(ringline.browser, origin);
    try {
      const page = await context.newPage();
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.goto(`${origin}/`);
      const userID = `demo-${Date.now().toString(36)}`;
      await page.fill('#userID', userID);
      await page.click('#login');
      await page
        .locator('#session', { hasText: `ready · ${userID}` })
        .waitFor({ timeout: UI_TIMEOUT_MS });
      expect(sockets).toEqual([`${origin.replace(/^https/, 'wss')}/ws`]);
    } finally {
      await context.close();
    }
  });

  test('two users make a video call over wss and decode rising frames of each other', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    for (const user of [alice, bob]) {
      expect(await user.page.evaluate(() => window.isSecureContext)).toBe(true);
    }
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    const [a, b] = await Promise.all([
      alice.expectFramesRising(bob.userID),
      bob.expectFramesRising(alice.userID),
    ]);
    expect(a.after).toBeGreaterThan(a.before);
    expect(b.after).toBeGreaterThan(b.before);
  });
});
