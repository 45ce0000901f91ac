/**
 * bench:signal itself, run small: it must hold every session it opens, complete every call set-up
 * and deliver every message for both the relay baseline and Ringline, with no errors, and write its
 * results and charts. (The figures are the bench's business; here only that it works.)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SESSIONS = 400;
const RATE = 20;
const MSG_RATE = 200;
const PHASE_S = 2;

interface KindResult {
  sessions: number;
  errors: Record<string, number>;
  rssPerSessionKiB: number;
  messages: { delivered: number; cpuUsPerMessage: number; errors: Record<string, number> };
  calls?: { rate: number; completed: number; invite: { n: number }; errors: object }[];
}

type Exit = { code: number | null; stdout: string; stderr: string };

/** Runs bench/signal.mjs small with `args`, its results in `out`. */
function runBench(out: string, args: string[] = []): Promise<Exit> {
  const script = fileURLToPath(new URL('../bench/signal.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: {
        ...process.env,
        BENCH_SESSIONS: String(SESSIONS),
        BENCH_RATES: String(RATE),
        BENCH_PHASE_S: String(PHASE_S),
        BENCH_MSG_RATE: String(MSG_RATE),
        BENCH_IDLE_S: '1',
        BENCH_DEADLINE_S: '120',
        BENCH_OUT: out,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench:signal, run small', () => {
  let out: string;
  let exit: { code: number | null; stdout: string; stderr: string };
  let results: { relay: KindResult; ringline: KindResult };

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'ringline-bench-test-'));
    exit = await runBench(out);
    if (exit.code === 0) {
      results = JSON.parse(await readFile(join(out, 'signal.json'), 'utf8')) as typeof results;
    }
  }, 150_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0 and prints the tables and the ratios', () => {
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toContain('Call set-ups (invite → INVITED → accept → hangup)');
    expect(exit.stdout).toContain('Ringline / relay');
  });

  it('holds every session for both servers, without errors', () => {
    for (const kind of [results.relay, results.ringline]) {
      expect(kind.sessions).toBe(SESSIONS);
      expect(kind.errors).toEqual({});
      expect(Number.isFinite(kind.rssPerSessionKiB)).toBe(true);
    }
  });

  it('completes every call set-up it offered and times each INVITED', () => {
    const [row] = results.ringline.calls!;
    expect(row).toMatchObject({ rate: RATE, completed: RATE * PHASE_S, errors: {} });
    expect(row!.invite.n).toBe(RATE * PHASE_S);
  });

  it('delivers every message through both servers and costs each', () => {
    for (const kind of [results.relay, results.ringline]) {
      expect(kind.messages.errors).toEqual({});
      expect(kind.messages.delivered).toBe(MSG_RATE * PHASE_S);
      expect(kind.messages.cpuUsPerMessage).toBeGreaterThan(0);
    }
  });

  it('draws both charts as PNG files', async () => {
    for (const name of ['signal-latency.png', 'signal-memory.png']) {
      const png = await readFile(join(out, name));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
  });
});

describe('bench:signal --nodes 2, run small', () => {
  let out: string;
  let exit: Exit;
  let results: {
    nodes: number;
    relay: KindResult;
    ringline: KindResult & {
      nodes: number;
      redis: { commandsPerLogin: number };
      calls: { completed: number; errors: object; redisCommandsPerSetup: number }[];
    };
  };

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'ringline-bench-nodes-test-'));
    exit = await runBench(out, ['--nodes', '2']);
    if (exit.code === 0) {
      results = JSON.parse(
        await readFile(join(out, 'signal-nodes2.json'), 'utf8'),
      ) as typeof results;
    }
  }, 150_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs Ringline as two nodes on Redis beside the relay, holding every session', () => {
    expect(exit.code, exit.stderr).toBe(0);
    expect(results.nodes).toBe(2);
    expect(results.ringline.nodes).toBe(2);
    for (const kind of [results.relay, results.ringline]) {
      expect(kind.sessions).toBe(SESSIONS);
      expect(kind.errors).toEqual({});
    }
    expect(results.ringline.redis.commandsPerLogin).toBeGreaterThan(0);
  });

  it('completes every set-up across the nodes and counts the Redis commands each took', () => {
    const [row] = results.ringline.calls;
    expect(row).toMatchObject({ completed: RATE * PHASE_S, errors: {} });
    expect(row!.redisCommandsPerSetup).toBeGreaterThan(0);
  });

  it('delivers every message, also between users of different nodes', () => {
    expect(results.ringline.messages.errors).toEqual({});
    expect(results.ringline.messages.delivered).toBe(MSG_RATE * PHASE_S);
  });
});
