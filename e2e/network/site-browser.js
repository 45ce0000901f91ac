// Chromium for one site of the simulated internet: launched by playwright-core through a wrapper
// that enters the site's client namespace, so its network — and so every ICE candidate — is the
// site's, while playwright still drives it over pipes from this process.
// The page-side report functions below run in the browser (page.evaluate).
/* global window */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../harness/chromium.js';

/**
 * Launches headless Chromium inside `ns` (a site's client namespace), trusting the test certificate
 * whose SPKI hash is `spki`. The wrapper script is removed when the browser closes.
 * @param {import('./netns.js').Namespace} ns
 * @param {{ spki: string, args?: string[] }} options
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchSiteChromium(ns, { spki, args = [] }) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'ringline-site-chromium-'));
  const wrapper = join(dir, 'chromium');
  // nsenter execs Chromium (no fork), so playwright's pipes and signals reach Chromium itself.
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter -t ${ns.pid} -n -- ${CHROMIUM_PATH} "$@"\n`, {
    mode: 0o755,
  });
  try {
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spki}`, ...args],
    });
    browser.on('disconnected', () => void rm(dir, { recursive: true, force: true }));
    return browser;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * In the page: the ICE picture of every open peer connection — its state, the selected candidate
 * pair (types and addresses of both ends) and every remote address the page was told about: the
 * remote descriptions' candidates (Chromium adds trickled ones there too, with their related
 * addresses) and getStats' remote candidates (peer-reflexive ones included).
 */
export async function iceReport() {
  const connections = [];
  const remoteAddresses = new Set();
  const addressOf = (line) => {
    // candidate:<foundation> <component> <proto> <priority> <address> <port> typ <type> [raddr <a>]
    const parts = line.replace(/^a=/, '').split(' ');
    const found = [parts[4]];
    const raddr = parts.indexOf('raddr');
    if (raddr > 0) found.push(parts[raddr + 1]);
    return found;
  };
  for (const pc of window.__ringline.peerConnections) {
    for (const line of (pc.remoteDescription?.sdp ?? '').split(/\r?\n/)) {
      if (line.startsWith('a=candidate:')) for (const a of addressOf(line)) remoteAddresses.add(a);
    }
    const stats = await pc.getStats();
    let pairId;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      if (s.type === 'remote-candidate') {
        if (s.address) remoteAddresses.add(s.address);
        if (s.relatedAddress) remoteAddresses.add(s.relatedAddress);
      }
    });
    if (!pairId) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId ??= s.id;
      });
    }
    const pair = pairId ? stats.get(pairId) : undefined;
    const end = (id) => {
      const c = id ? stats.get(id) : undefined;
      return c ? { type: c.candidateType, address: c.address, port: c.port } : null;
    };
    connections.push({
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      local: end(pair?.localCandidateId),
      remote: end(pair?.remoteCandidateId),
    });
  }
  return { connections, remoteAddresses: [...remoteAddresses] };
}

/**
 * In the page: receive-side quality summed over open peer connections — video frames decoded,
 * fps (mean of the inbound streams), freezes, packets lost/received; audio concealment.
 */
export async function qualityReport() {
  const q = {
    framesDecoded: 0,
    fps: [],
    freezeCount: 0,
    totalFreezesDuration: 0,
    videoPacketsReceived: 0,
    videoPacketsLost: 0,
    concealedSamples: 0,
    totalSamplesReceived: 0,
    audioPacketsReceived: 0,
    audioPacketsLost: 0,
  };
  for (const pc of window.__ringline.peerConnections) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        q.framesDecoded += s.framesDecoded ?? 0;
        if (typeof s.framesPerSecond === 'number') q.fps.push(s.framesPerSecond);
        q.freezeCount += s.freezeCount ?? 0;
        q.totalFreezesDuration += s.totalFreezesDuration ?? 0;
        q.videoPacketsReceived += s.packetsReceived ?? 0;
        q.videoPacketsLost += s.packetsLost ?? 0;
      } else if (s.kind === 'audio') {
        q.concealedSamples += s.concealedSamples ?? 0;
        q.totalSamplesReceived += s.totalSamplesReceived ?? 0;
        q.audioPacketsReceived += s.packetsReceived ?? 0;
        q.audioPacketsLost += s.packetsLost ?? 0;
      }
    });
  }
  return q;
}
