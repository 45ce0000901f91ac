import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { CallType, SIGNAL_PATH } from '@ringline/protocol';
import { genUserSig } from '@ringline/server';
import { startServerProcess as startServe } from './server-process.js';

/**
 * Clients that do not read what the server sends them, against a real `ringline serve` process:
 * the server's memory (RSS, read from /proc) stays within a bound that follows from its limits,
 * the offender's connection is closed, and another user's pings keep being answered throughout.
 * Each attack runs for a fixed time; the growth per second is printed for the record.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long each attack runs; FAULT_ATTACK_MS=30000 for the figures in a report. */
const ATTACK_MS = Number(process.env.FAULT_ATTACK_MS ?? 8_000);
const MiB = 1024 * 1024;
/**
 * What the limits let the server hold for the attack (before login 64 KiB of replies per
 * connection; a session's connection 4 MiB of unwritten pushes plus a 2 MiB outbox), plus room for
 * the garbage collector's own growth under a flood of 48 kB frames.
 */
const BOUND_BEFORE_LOGIN = 24 * MiB;
const BOUND_PARTNER = 4 * MiB + 2 * MiB + 24 * MiB;

/** A `ringline serve --dev` child process with its own data dir. */
interface ServerProcess {
  proc: ChildProcess;
  url: string;
  app: { sdkAppID: number; secretKey: string };
  stop(): Promise<void>;
}

async function startServerProcess(flags: string[]): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringline-slow-'));
  const rmData = () => rmSync(dataDir, { recursive: true, force: true });
  const started = await startServe({ dataDir, flags }).catch((err: unknown) => {
    rmData();
    throw err;
  });
  return {
    proc: started.child,
    url: started.url,
    app: { sdkAppID: started.sdkAppID, secretKey: started.secretKey },
    stop: async () => {
      await started.stop();
      rmData();
    },
  };
}

let server: ServerProcess;

/** The server process's resident memory, bytes. */
function rss(): number {
  const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

beforeAll(async () => {
  server = await startServerProcess(['--login-timeout', '3']);
});

afterAll(async () => {
  await server?.stop();
});

/** A bare signalling client: requests with ids, replies by id, pushes by type. */
class Peer {
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  readonly #replies = new Map<number, (m: Record<string, unknown>) => void>();
  readonly #pushes: Record<string, unknown>[] = [];
  #nextId = 1;

  constructor(readonly userID?: string) {
    this.ws = new WebSocket(server.url.replace(/^http/, 'ws') + SIGNAL_PATH);
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.type === 'reply') this.#replies.get(m.id as number)?.(m);
      else if (m.type !== 'error') this.#pushes.push(m);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
  }

  static async open(userID?: string): Promise<Peer> {
    const peer = new Peer(userID);
    await once(peer.ws, 'open');
    if (userID) {
      const userSig = genUserSig({ ...server.app, userID });
      await peer.call('login', { sdkAppID: server.app.sdkAppID, userID, userSig });
    }
    return peer;
  }

  /** Sends a request; resolves with its result, rejects on an error reply or after 5 s. */
  call(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${type} in 5 s`)), 5000);
      this.#replies.set(id, (m) => {
        clearTimeout(timer);
        this.#replies.delete(id);
        if (m.ok) resolve(m.result as Record<string, unknown>);
        else reject(new Error(JSON.stringify(m.error)));
      });
      this.ws.send(JSON.stringify({ id, type, ...fields }));
    });
  }

  /** Stops reading: the kernel's buffers fill, then the server's. */
  stopReading(): Socket {
    const socket = (this.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    return socket;
  }
}

/**
 * Runs `attack` for ATTACK_MS while sampling the server's RSS and having a bystander ping every
 * 200 ms; resolves with the largest growth seen and the pings answered and sent.
 */
async function underAttack(
  bystander: Peer,
  attack: (until: number) => Promise<void>,
): Promise<{ growth: number; seconds: number; answered: number; pings: number }> {
  const before = rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 100);
  let pings = 0;
  const answered: Promise<unknown>[] = [];
  const pinger = setInterval(() => {
    pings++;
    answered.push(bystander.call('ping', {}));
  }, 200);
  const t0 = Date.now();
  try {
    await attack(t0 + ATTACK_MS);
  } finally {
    clearInterval(pinger);
    clearInterval(sampler);
  }
  const seconds = (Date.now() - t0) / 1000;
  const after = rss();
  const results = await Promise.allSettled(answered);
  const growth = Math.max(peak, after) - before;
  return {
    growth,
    seconds,
    answered: results.filter((r) => r.status === 'fulfilled').length,
    pings,
  };
}

/** Yields to the event loop, so that the client's own socket can drain. */
const tick = () => new Promise((r) => setImmediate(r));

describe('a client that does not read', () => {
  test('before login, sending frames: memory stays bounded and the connection is closed', async () => {
    const bystander = await Peer.open('bystander-a');
    const attacker = await Peer.open();
    const socket = attacker.stopReading();
    let sent = 0;
    const result = await underAttack(bystander, async (until) => {
      // Bounded in time and count; the client's own buffer is kept small.
      while (Date.now() < until && sent < 5_000_000 && attacker.ws.readyState === WebSocket.OPEN) {
        attacker.ws.send(`{"id":${sent++},"type":"ping"}`);
        if (attacker.ws.bufferedAmount > 256 * 1024 || sent % 1000 === 0) await tick();
      }
    });
    console.log(
      `before login: ${sent} frames sent, RSS growth ${(result.growth / MiB).toFixed(1)} MiB ` +
        `in ${result.seconds.toFixed(1)} s, ` +
        `${result.answered}/${result.pings} bystander pings answered`,
    );
    socket.resume();
    const code = await Promise.race([
      attacker.closed,
      new Promise<string>((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(code).not.toBe('still open');
    expect(result.growth).toBeLessThan(BOUND_BEFORE_LOGIN);
    expect(result.answered).toBe(result.pings);
    bystander.ws.close();
  });

  test('a call partner that does not read: memory stays bounded and its connection is closed', async () => {
    const bystander = await Peer.open('bystander-b');
    const alice = await Peer.open('alice');
    const bob = await Peer.open('bob');
    const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await bob.call('accept', { inviteID: invite.inviteID });
    const socket = bob.stopReading();
    const sdp = 'a'.repeat(40_000);
    let sent = 0;
    const result = await underAttack(bystander, async (until) => {
      // At alice's rate limit (50 a second): what a legitimate sender may do.
      while (Date.now() < until && sent < 5_000 && alice.ws.readyState === WebSocket.OPEN) {
        alice.ws.send(
          JSON.stringify({
            type: 'signal',
            callID: invite.callID,
            to: 'bob',
            data: { description: { type: 'offer', sdp } },
          }),
        );
        sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    console.log(
      `call partner: ${sent} signals of 40 kB sent, RSS growth ${(result.growth / MiB).toFixed(1)} MiB ` +
        `in ${result.seconds.toFixed(1)} s, ` +
        `${result.answered}/${result.pings} bystander pings answered`,
    );
    socket.resume();
    const code = await Promise.race([
      bob.closed,
      new Promise<string>((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(code).not.toBe('still open');
    expect(result.growth).toBeLessThan(BOUND_PARTNER);
    expect(result.answered).toBe(result.pings);
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
    for (const p of [alice, bystander]) p.ws.close();
  });
});

/** Opens a WebSocket to `url`; resolves with it, or with undefined when refused. */
async function tryOpen(url: string): Promise<WebSocket | undefined> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + SIGNAL_PATH);
  ws.on('error', () => {});
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(false);
    });
    ws.once('error', () => resolve(false));
  });
  return opened ? ws : undefined;
}

describe('unauthenticated connections from one address', () => {
  test('are capped at the default per-address limit', async () => {
    // A login deadline long enough that none closes while they are being opened.
    const capped = await startServerProcess(['--login-timeout', '60']);
    const TRY = 1_500;
    const held: WebSocket[] = [];
    try {
      // 50 at a time; each either opens or is refused (HTTP 429).
      for (let i = 0; i < TRY; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, TRY - i) }, () => tryOpen(capped.url)),
        );
        for (const ws of batch) if (ws) held.push(ws);
      }
      console.log(`one address: ${held.length} of ${TRY} unauthenticated connections held`);
      expect(held.length).toBe(1_000);
    } finally {
      for (const ws of held) ws.terminate();
      await capped.stop();
    }
  });

  test('are closed (4004) when they do not log in within the deadline', async () => {
    const held = (await Promise.all(Array.from({ length: 50 }, () => tryOpen(server.url)))).filter(
      (ws): ws is WebSocket => ws !== undefined,
    );
    expect(held).toHaveLength(50);
    const codes = await Promise.race([
      Promise.all(
        held.map(
          (ws) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))),
        ),
      ),
      new Promise<string>((r) => setTimeout(() => r('still open'), 15_000)),
    ]);
    for (const ws of held) ws.terminate();
    expect(codes).not.toBe('still open');
    expect(new Set(codes as number[])).toEqual(new Set([4004]));
  });
});

describe('ringline serve, when a failure escapes every guard', () => {
  test('logs it and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-uncaught-'));
    const cli = join(ROOT, 'packages/server/dist/cli.js');
    // The real CLI entry (`run`, which installs the process-level handlers), plus a way to make
    // an exception and a rejection escape on cue.
    const script = `
      const { run } = await import(${JSON.stringify(cli)});
      process.on('message', () => {
        setImmediate(() => { throw new Error('escaped-exception'); });
        Promise.reject(new Error('escaped-rejection'));
      });
      await run(['serve', '--dev', '--host', '127.0.0.1', '--port', '0', '--data-dir',
        ${JSON.stringify(dir)}, '--janus', 'off']);
      process.disconnect();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, RINGLINE_DEV: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const waitFor = async (what: () => boolean, name: string) => {
      for (let i = 0; i < 200 && !what(); i++) {
        if (child.exitCode !== null) throw new Error(`exited while waiting for ${name}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!what()) throw new Error(`no ${name} within 10 s: ${stderr}`);
    };
    try {
      await waitFor(() => /listening on http:\/\/\S+/.test(stdout), 'listening');
      const base = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
      child.send('boom');
      await waitFor(
        () => stderr.includes('escaped-exception') && stderr.includes('escaped-rejection'),
        'logged failures',
      );
      expect(stderr).toMatch(/uncaught exception \(kept serving\)/);
      expect(stderr).toMatch(/unhandled rejection \(kept serving\)/);
      expect(child.exitCode).toBe(null);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
