/**
 * TURN through the whole server: `--turn auto` starts coturn, the login reply carries stun:/turn:
 * URLs with credentials minted for the user (coturn grants an allocation for them), the relay
 * policy and the TTL; sessions get an `iceServers` push with fresh credentials before theirs
 * expire, one timer per session and none left after it; Janus gets its 1:1 NAT mapping and its
 * TURN credentials from our REST endpoint; stopping the server leaves no turnserver running.
 * coturn and media need the test network namespace (scripts/in-netns.sh).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, type IceConfig, type IceServer } from '@ringline/protocol';
import { main } from '../cli.js';
import { ConfigError } from '../config.js';
import { findExecutable } from '../sfu/janus-process.js';
import { TestClient } from '../testing/client.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { wrtc } from '../testing/wrtc.js';
import { stunBinding } from './stun.js';

const inNetns = process.env.RINGLINE_NETNS === '1';
const mediaIp = process.env.RINGLINE_MEDIA_IP ?? '10.77.0.1';
const mediaIface = process.env.RINGLINE_MEDIA_IFACE ?? 'rl0';
const hasCoturn = findExecutable('turnserver') !== undefined;
const hasJanus = findExecutable('janus') !== undefined;
const withCoturn = inNetns && hasCoturn ? describe : describe.skip;
const withJanus = inNetns && hasCoturn && hasJanus ? describe : describe.skip;

const opened: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function server(options: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer(options);
  opened.push(() => s.close());
  return s;
}

/** TURN options for a server in the namespace (10.77.0.0/24 is private: allowed back). */
const turnAuto = {
  turn: 'auto',
  publicIp: mediaIp,
  turnPort: 3491,
  turnRelayPorts: { min: 54000, max: 54999 },
  turnAllowedPeerIps: ['10.77.0.0/24'],
};

function opensslHmac(key: string, text: string): string {
  const binary = execFileSync('openssl', ['dgst', '-sha1', '-hmac', key, '-binary'], {
    input: text,
  });
  return execFileSync('openssl', ['base64', '-A'], { input: binary }).toString().trim();
}

async function turnSecret(s: TestServer): Promise<string> {
  return (await readFile(join(s.dataDir, 'turn', 'secret'), 'utf8')).trim();
}

/** Checks an IceConfig's TURN entry: its username names `userID` and expires ~ttl from now. */
function expectMinted(config: IceConfig, userID: string, secret: string, ttl: number): IceServer {
  const turn = config.iceServers.find((s) => String(s.urls).includes('turn:'))!;
  const [expiry, user] = turn.username!.split(':');
  expect(user).toBe(userID);
  const now = Date.now() / 1000;
  expect(Number(expiry)).toBeGreaterThan(now + ttl - 30);
  expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(now) + ttl);
  expect(turn.credential).toBe(opensslHmac(secret, turn.username!));
  return turn;
}

/** Pids of turnserver processes running with a config under `dir`. */
function turnserversIn(dir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args=']).toString();
  return out
    .split('\n')
    .filter((l) => l.includes('turnserver') && l.includes(dir))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Relay candidates a relay-only wrtc peer gathers with these ICE servers. */
async function relayCandidates(iceServers: IceServer[]): Promise<string[]> {
  const pc = new wrtc.RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' }) as unknown as {
    onicecandidate: ((e: { candidate: { candidate: string } | null }) => void) | null;
    createDataChannel(label: string): unknown;
    createOffer(): Promise<{ type: string; sdp: string }>;
    setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
    close(): void;
  };
  try {
    const found: string[] = [];
    const done = new Promise<void>((resolve) => {
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) resolve();
        else if (candidate.candidate.includes(' typ relay ')) found.push(candidate.candidate);
      };
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('gathering timed out')), 30_000),
      ),
    ]);
    return found;
  } finally {
    pc.close();
  }
}

withCoturn('a server with --turn auto', () => {
  it('hands out stun:/turn: URLs with minted credentials, the policy and the TTL at login', async () => {
    const s = await server({ ...turnAuto, turnTtl: 600, iceTransportPolicy: 'relay' });
    const login = await (await s.connect()).login(s, 'bob');
    expect(login.iceTransportPolicy).toBe('relay');
    expect(login.iceServersTtl).toBe(600);
    expect(login.iceServers[0]).toEqual({ urls: [`stun:${mediaIp}:3491`] });
    expect(login.iceServers[1]!.urls).toEqual([
      `turn:${mediaIp}:3491?transport=udp`,
      `turn:${mediaIp}:3491?transport=tcp`,
    ]);
    const secret = await turnSecret(s);
    expectMinted(login, 'bob', secret, 600);
    // Only minted credentials reach a client, never the secret.
    expect(JSON.stringify(login)).not.toContain(secret);
    // coturn accepts them: a relay-only peer gets an allocation.
    expect((await relayCandidates(login.iceServers)).length).toBeGreaterThan(0);
  }, 60_000);

  it('appends static --ice-servers after its own', async () => {
    const s = await server({ ...turnAuto, iceServers: [{ urls: 'stun:stun.example.org' }] });
    const login = await (await s.connect()).login(s, 'alice');
    expect(login.iceServers).toHaveLength(3);
    expect(login.iceServers[2]).toEqual({ urls: 'stun:stun.example.org' });
    expect(login.iceTransportPolicy).toBe('all');
    expect(login.iceServersTtl).toBe(86_400);
  }, 30_000);

  it('renews the credentials with an iceServers push, one timer per session, none after', async () => {
    // Renewal after 1.1 s rather than at 80 % of the TTL, so that the new expiry is a later second.
    const s = await server({ ...turnAuto, turnTtl: 60, iceRenewalMs: 1_100 });
    const secret = await turnSecret(s);
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const first = alice.pushes.length;
    expect(first).toBe(0);
    expect(s.edgeStats().iceRenewals).toBe(2);
    const renewed = await alice.waitForPush('iceServers', () => true, 10_000);
    const again = await alice.waitForPush('iceServers', () => true, 10_000);
    expect(renewed.iceServersTtl).toBe(60);
    expect(renewed.iceTransportPolicy).toBe('all');
    const a = expectMinted(renewed, 'alice', secret, 60);
    const b = expectMinted(again, 'alice', secret, 60);
    expect(Number(b.username!.split(':')[0])).toBeGreaterThan(Number(a.username!.split(':')[0]));
    // Still one timer per session, however many renewals went out.
    expect(s.edgeStats().iceRenewals).toBe(2);
    // Resuming mints anew in the reply.
    await alice.drop();
    const back = await s.connect();
    const resumed = await back.login(s, 'alice', {
      resume: { sessionID: alice.sessionID!, lastSeq: alice.lastSeq },
    });
    expect(resumed.resumed).toBe(true);
    expectMinted(resumed, 'alice', secret, 60);
    expect(s.edgeStats().iceRenewals).toBe(2);
    await back.call('logout', {});
    await bob.call('logout', {});
    expect(s.edgeStats().iceRenewals).toBe(0);
  }, 30_000);

  it('leaves no turnserver behind when it stops', async () => {
    const s = await startTestServer(turnAuto);
    try {
      expect(turnserversIn(s.dataDir)).toHaveLength(1);
    } finally {
      const dir = s.dataDir;
      await s.close();
      expect(turnserversIn(dir)).toEqual([]);
    }
  }, 30_000);
});

withCoturn('ringline serve --turn auto', () => {
  it('starts coturn from its flags and hands its credentials out', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ringline-cli-turn-'));
    opened.push(() => rm(dataDir, { recursive: true, force: true }));
    const stop = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const out: string[] = [];
    const sink = { write: (s: string) => out.push(s) };
    const done = main(
      [
        'serve',
        '--dev',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--data-dir',
        dataDir,
        '--turn',
        'auto',
        '--public-ip',
        mediaIp,
        '--turn-port',
        '3492',
        '--turn-relay-ports',
        '55000-55999',
        '--turn-allowed-peer-ip',
        '10.77.0.0/24',
        '--turn-ttl',
        '120',
        '--ice-transport-policy',
        'relay',
        '--janus',
        'off',
      ],
      { stdout: sink, stderr: sink, env: {}, signal: stop.signal, onListening: listening },
    );
    try {
      const base = await url;
      const app = JSON.parse(await readFile(join(dataDir, 'app.json'), 'utf8')) as {
        sdkAppID: number;
        secretKey: string;
      };
      const client = await TestClient.login({ url: base, ...app }, 'alice');
      opened.push(() => client.close());
      const secret = (await readFile(join(dataDir, 'turn', 'secret'), 'utf8')).trim();
      const login = await (await TestClient.connect(base)).login(app, 'bob');
      expect(login.iceTransportPolicy).toBe('relay');
      expect(login.iceServersTtl).toBe(120);
      expect(login.iceServers[0]).toEqual({ urls: [`stun:${mediaIp}:3492`] });
      expectMinted(login, 'bob', secret, 120);
      expect((await relayCandidates(login.iceServers)).length).toBeGreaterThan(0);
      expect(turnserversIn(dataDir)).toHaveLength(1);
    } finally {
      stop.abort();
      expect(await done).toBe(0);
    }
    expect(turnserversIn(dataDir)).toEqual([]);
  }, 60_000);
});

withCoturn('an external coturn (--turn URLs --turn-secret)', () => {
  it('works with the turnserver.conf docs/deployment.md gives', async () => {
    const docs = await readFile(
      fileURLToPath(new URL('../../../../docs/deployment.md', import.meta.url)),
      'utf8',
    );
    const block = /```ini\n([\s\S]*?)```/.exec(docs)![1]!;
    const dir = await mkdtemp(join(tmpdir(), 'ringline-ext-turn-'));
    opened.push(() => rm(dir, { recursive: true, force: true }));
    const secret = 'external-secret-for-the-docs-test';
    const conf = join(dir, 'turnserver.conf');
    await writeFile(
      conf,
      block
        .replaceAll('203.0.113.7', mediaIp)
        .replace('listening-port=3478', 'listening-port=3493')
        .replace(/^static-auth-secret=.*$/m, `static-auth-secret=${secret}`) +
        // Test-only: the namespace's private range, and files in the temp dir.
        [
          'allowed-peer-ip=10.77.0.0-10.77.0.255',
          'log-file=stdout',
          `pidfile=${join(dir, 'pid')}`,
          `userdb=${join(dir, 'turndb')}`,
          '',
        ].join('\n'),
    );
    const coturn = spawn('turnserver', ['-c', conf], { stdio: 'ignore' });
    opened.push(() => void coturn.kill('SIGKILL'));
    for (let i = 0; i < 100 && !(await stunBinding(mediaIp, 3493, 100)); i++);
    const s = await server({ turn: `turn:${mediaIp}:3493`, turnSecret: secret });
    const login = await (await s.connect()).login(s, 'alice');
    expect(login.iceServers[0]).toEqual({ urls: [`stun:${mediaIp}:3493`] });
    expect(login.iceServers[1]!.urls).toEqual([
      `turn:${mediaIp}:3493?transport=udp`,
      `turn:${mediaIp}:3493?transport=tcp`,
    ]);
    expectMinted(login, 'alice', secret, 86_400);
    expect((await relayCandidates(login.iceServers)).length).toBeGreaterThan(0);
    // The server started no coturn of its own.
    expect(turnserversIn(s.dataDir)).toEqual([]);
  }, 60_000);
});

withJanus('Janus behind the same TURN', () => {
  it('gets its 1:1 NAT mapping, and relay candidates with credentials from our endpoint', async () => {
    const s = await server({
      ...turnAuto,
      janus: 'auto',
      janusInterface: mediaIface,
      p2p: false,
    });
    const jcfg = await readFile(join(s.dataDir, 'janus', 'janus.jcfg'), 'utf8');
    expect(jcfg).toContain(`nat_1_1_mapping = "${mediaIp}"`);
    const url = /turn_rest_api = "([^"]+)"/.exec(jcfg)![1]!;
    const key = /turn_rest_api_key = "([^"]+)"/.exec(jcfg)![1]!;
    expect(new URL(url).hostname).toBe('127.0.0.1');

    // The endpoint answers only with the key.
    expect((await fetch(`${url}?service=turn&username=x`)).status).toBe(403);
    expect((await fetch(`${url}?service=turn&key=${'0'.repeat(key.length)}`)).status).toBe(403);
    const answer = (await (await fetch(`${url}?service=turn&key=${key}`)).json()) as {
      username: string;
      password: string;
      ttl: number;
      uris: string[];
    };
    expect(answer.username).toMatch(/^\d+:janus$/);
    expect(answer.password).toBe(opensslHmac(await turnSecret(s), answer.username));
    expect(answer.uris).toEqual([
      `turn:${mediaIp}:3491?transport=udp`,
      `turn:${mediaIp}:3491?transport=tcp`,
    ]);

    // A call through Janus: its answer to a publisher carries a relay candidate, so Janus asked
    // the endpoint and coturn granted it an allocation.
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const call = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await bob.call('accept', { inviteID: call.inviteID });
    const pc = new wrtc.RTCPeerConnection();
    opened.push(() => pc.close());
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    opened.push(() => track.stop());
    pc.addTransceiver(track, { direction: 'sendonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const { description } = await alice.call('sfuPublish', {
      callID: call.callID,
      description: offer,
    });
    expect(description.sdp).toMatch(
      new RegExp(`a=candidate:.* ${mediaIp.replace(/\./g, '\\.')} \\d+ typ relay`),
    );
  }, 60_000);
});

describe('TURN options at start', () => {
  it('refuse the relay policy without TURN', async () => {
    await expect(startTestServer({ iceTransportPolicy: 'relay' })).rejects.toThrow(ConfigError);
  });

  it('name the Debian package when turnserver is missing', async () => {
    const run = startTestServer({ ...turnAuto, turnBinary: '/nonexistent/turnserver' });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(
      startTestServer({ ...turnAuto, turnBinary: '/nonexistent/turnserver' }),
    ).rejects.toThrow(/apt-get install coturn/);
  });

  it('refuse --turn auto with a wildcard host and no public IP', async () => {
    await expect(startTestServer({ turn: 'auto', host: '0.0.0.0' })).rejects.toThrow(/--public-ip/);
  });
});
