/**
 * A real coturn, started and supervised the way `--turn auto` does it, against real TURN clients
 * (@roamhq/wrtc peer connections with the relay-only policy): it answers STUN, hands out relay
 * allocations for credentials minted with its secret and none for wrong or expired ones, relays a
 * call between two relay-only peers, refuses to relay into a denied range, and comes back when
 * killed. Runs only inside the test network namespace (scripts/in-netns.sh), where the address
 * 10.77.0.1 exists; 10.77.0.0/24 is a private range, so the tests allow it back explicitly.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { findExecutable } from '../sfu/janus-process.js';
import { wrtc } from '../testing/wrtc.js';
import { parseCidrList } from './cidr.js';
import { startCoturn, type CoturnProcess } from './coturn-process.js';
import { mintTurnCredential } from './credentials.js';
import { stunBinding } from './stun.js';

const inNetns = process.env.RINGLINE_NETNS === '1';
const mediaIp = process.env.RINGLINE_MEDIA_IP ?? '10.77.0.1';
const hasCoturn = findExecutable('turnserver') !== undefined;
const run = inNetns && hasCoturn ? describe : describe.skip;

/** The parts of a wrtc RTCPeerConnection these tests use beyond testing/wrtc.ts's typing. */
interface Pc {
  onicecandidate: ((e: { candidate: { candidate: string } | null }) => void) | null;
  ondatachannel: ((e: { channel: Channel }) => void) | null;
  connectionState: string;
  iceConnectionState: string;
  createDataChannel(label: string): Channel;
  createOffer(): Promise<{ type: 'offer'; sdp: string }>;
  createAnswer(): Promise<{ type: 'answer'; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(c: { candidate: string; sdpMid?: string | null }): Promise<void>;
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}
interface Channel {
  readyState: string;
  onopen: (() => void) | null;
  onmessage: ((e: { data: string }) => void) | null;
  send(data: string): void;
}

const RTCPeerConnection = wrtc.RTCPeerConnection as unknown as new (config: object) => Pc;

/** Resolves when `check()` holds, polling; rejects after `timeoutMs`. */
async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function relayConfig(port: number, username: string, credential: string): object {
  return {
    iceServers: [
      {
        urls: [`turn:${mediaIp}:${port}?transport=udp`, `turn:${mediaIp}:${port}?transport=tcp`],
        username,
        credential,
      },
    ],
    iceTransportPolicy: 'relay',
  };
}

/** The candidates a relay-only peer gathers with these credentials (gathering runs to its end). */
async function gatherRelay(port: number, username: string, credential: string): Promise<string[]> {
  const pc = new RTCPeerConnection(relayConfig(port, username, credential));
  try {
    const candidates: string[] = [];
    let done = false;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) candidates.push(candidate.candidate);
      else done = true;
    };
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await waitUntil('ICE gathering is complete', () => done, 30_000);
    return candidates;
  } finally {
    pc.close();
  }
}

/** Two relay-only peers, signalled in-process; resolves once both have the other's candidates. */
async function connectPair(
  port: number,
  secret: string,
): Promise<{ a: Pc; b: Pc; received: string[]; channel: Channel; close(): void }> {
  const ca = mintTurnCredential(secret, 'alice', 600);
  const cb = mintTurnCredential(secret, 'bob', 600);
  const a = new RTCPeerConnection(relayConfig(port, ca.username, ca.credential));
  const b = new RTCPeerConnection(relayConfig(port, cb.username, cb.credential));
  const received: string[] = [];
  const relayOnly = (pc: Pc, other: Pc) => {
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      // The relay policy is what keeps host addresses out; check it really does.
      expect(candidate.candidate).toContain(' typ relay ');
      void other.addIceCandidate({ candidate: candidate.candidate, sdpMid: '0' });
    };
  };
  relayOnly(a, b);
  relayOnly(b, a);
  b.ondatachannel = ({ channel }) => {
    channel.onmessage = ({ data }) => received.push(data);
  };
  const channel = a.createDataChannel('chat');
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(offer);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  return {
    a,
    b,
    received,
    channel,
    close: () => {
      a.close();
      b.close();
    },
  };
}

/** The candidate types of the pair ICE selected (polled until there is one). */
async function selectedPair(pc: Pc): Promise<{ local: unknown; remote: unknown }> {
  for (let i = 0; i < 100; i++) {
    const stats = [...(await pc.getStats()).values()];
    const byId = new Map(stats.map((s) => [s.id, s]));
    const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const chosen = transport && byId.get(transport.selectedCandidatePairId);
    if (chosen) {
      return {
        local: byId.get(chosen.localCandidateId)?.candidateType,
        remote: byId.get(chosen.remoteCandidateId)?.candidateType,
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no candidate pair was selected');
}

/** Whether a process with `pid` runs turnserver with `configFile`. */
async function runsTurnserver(pid: number, configFile: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('turnserver') && cmdline.includes(configFile);
}

run('coturn started by the server (--turn auto)', () => {
  let dataDir: string;
  let coturn: CoturnProcess;
  const port = 3478;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ringline-turn-'));
    coturn = await startCoturn({
      dataDir,
      port,
      listenIp: mediaIp,
      relayPorts: { min: 50000, max: 50999 },
      allowedPeers: parseCidrList('10.77.0.0/24'),
      log: silentLogger,
    });
  }, 30_000);

  afterAll(async () => {
    await coturn?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a STUN binding request with the address it saw', async () => {
    const mapped = await stunBinding(mediaIp, port, 2_000);
    expect(mapped).toMatchObject({ address: mediaIp, family: 'IPv4' });
    expect(mapped!.port).toBeGreaterThan(0);
  });

  it('keeps its secret and config readable by the owner only', async () => {
    for (const file of ['secret', 'turnserver.conf']) {
      const mode = (await stat(join(dataDir, 'turn', file))).mode & 0o777;
      expect(mode, file).toBe(0o600);
    }
    const secret = (await readFile(join(dataDir, 'turn', 'secret'), 'utf8')).trim();
    expect(secret).toBe(coturn.secret);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a relay candidate for minted credentials', async () => {
    const c = mintTurnCredential(coturn.secret, 'alice', 600);
    const candidates = await gatherRelay(port, c.username, c.credential);
    const relay = candidates.filter((x) => x.includes(' typ relay '));
    expect(relay.length).toBeGreaterThan(0);
    // The relayed address is coturn's, from its relay range.
    const [, , , , address, relayPort] = relay[0]!.split(' ');
    expect(address).toBe(mediaIp);
    expect(Number(relayPort)).toBeGreaterThanOrEqual(50000);
    expect(Number(relayPort)).toBeLessThanOrEqual(50999);
  }, 40_000);

  it('gives none for a wrong password, another secret, or an expired credential', async () => {
    const good = mintTurnCredential(coturn.secret, 'alice', 600);
    const other = mintTurnCredential('not-the-secret-at-all', 'alice', 600);
    const expired = mintTurnCredential(coturn.secret, 'alice', 60, Date.now() - 120_000);
    for (const [name, username, credential] of [
      ['wrong password', good.username, good.credential.slice(0, -4) + 'AAA='],
      ['another secret', other.username, other.credential],
      ['expired', expired.username, expired.credential],
    ] as const) {
      const candidates = await gatherRelay(port, username, credential);
      expect(
        candidates.filter((x) => x.includes(' typ relay ')),
        name,
      ).toEqual([]);
    }
  }, 120_000);

  it('relays a call between two relay-only peers', async () => {
    const pair = await connectPair(port, coturn.secret);
    try {
      await waitUntil('the data channel opens', () => pair.channel.readyState === 'open', 30_000);
      pair.channel.send('hello through TURN');
      await waitUntil('the message arrives', () => pair.received.length > 0);
      expect(pair.received).toEqual(['hello through TURN']);
      // Both ends of the selected pair are relay candidates.
      const pair_ = await selectedPair(pair.a);
      expect(pair_.local).toBe('relay');
      expect(pair_.remote).toBe('relay');
    } finally {
      pair.close();
    }
  }, 60_000);

  it('comes back when killed, and is gone after close', async () => {
    const configFile = join(dataDir, 'turn', 'turnserver.conf');
    const first = coturn.pid!;
    expect(await runsTurnserver(first, configFile)).toBe(true);
    let restarted = false;
    const off = coturn.onRestarted(() => (restarted = true));
    process.kill(first, 'SIGKILL');
    await waitUntil('the supervisor restarted coturn', () => restarted, 20_000);
    off();
    const second = coturn.pid!;
    expect(second).not.toBe(first);
    expect(await runsTurnserver(second, configFile)).toBe(true);
    expect(await stunBinding(mediaIp, port, 2_000)).toBeDefined();
    await coturn.close();
    await coturn.close();
    expect(await runsTurnserver(second, configFile)).toBe(false);
    expect(await stunBinding(mediaIp, port, 500)).toBeUndefined();
  }, 40_000);
});

run('coturn peer filters', () => {
  it('refuses to relay into a denied range that was not allowed back', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ringline-turn-'));
    // No allowed ranges: 10.77.0.1, where both relays are, is private and thus denied.
    const coturn = await startCoturn({
      dataDir,
      port: 3479,
      listenIp: mediaIp,
      relayPorts: { min: 51000, max: 51999 },
      allowedPeers: [],
      log: silentLogger,
    });
    try {
      const pair = await connectPair(3479, coturn.secret);
      try {
        // Allocations work (the relay candidates are gathered), but no permission to a peer in
        // 10.77.0.0/24 is granted, so ICE runs out of pairs and fails.
        await waitUntil('ICE fails', () => pair.a.iceConnectionState === 'failed', 60_000);
        expect(pair.channel.readyState).not.toBe('open');
        expect(pair.received).toEqual([]);
      } finally {
        pair.close();
      }
    } finally {
      await coturn.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('stops a coturn left behind by a crashed run before starting its own', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ringline-turn-'));
    const options = {
      dataDir,
      port: 3480,
      listenIp: mediaIp,
      relayPorts: { min: 52000, max: 52999 },
      allowedPeers: [],
      log: silentLogger,
    };
    const first = await startCoturn(options);
    const configFile = first.configFile;
    await first.close();
    // A crashed server's coturn runs on without a supervisor, holding the port; the pid file
    // still names it.
    const orphan = spawn('turnserver', ['-c', configFile], { stdio: 'ignore' });
    try {
      await writeFile(join(dataDir, 'turn', 'turnserver.pid'), String(orphan.pid));
      expect(await stunBinding(mediaIp, 3480, 5_000)).toBeDefined();
      const second = await startCoturn(options);
      try {
        await waitUntil('the orphan is gone', () => orphan.signalCode !== null);
        expect(orphan.signalCode).toBe('SIGKILL');
        expect(second.pid).not.toBe(orphan.pid);
        expect(await runsTurnserver(second.pid!, configFile)).toBe(true);
        expect(await stunBinding(mediaIp, 3480, 2_000)).toBeDefined();
      } finally {
        await second.close();
      }
    } finally {
      orphan.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('--turn auto without coturn installed', () => {
  it('names the Debian package to install', async () => {
    await expect(
      startCoturn({
        dataDir: tmpdir(),
        binary: '/nonexistent/turnserver',
        port: 3478,
        relayPorts: { min: 50000, max: 50100 },
        allowedPeers: [],
        log: silentLogger,
      }),
    ).rejects.toThrow(/apt-get install coturn/);
  });
});
