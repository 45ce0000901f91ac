/**
 * Real Ringline node processes for a test (`kill -9` needs a process): N `ringline serve --redis`
 * processes from the built CLI (packages/server/dist/cli.js; run `npx tsc -b` first), on loopback,
 * each with its own throwaway data dir, sharing one Redis. A test can SIGKILL one mid-call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClient } from './client.js';

/** The built CLI, from src/testing or dist/testing alike. */
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/** How long a node may take to listen before the harness gives up. */
const START_TIMEOUT_MS = 15_000;
/** How long a stopped node may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

export interface NodesOptions {
  /** How many node processes. */
  count: number;
  /** redis://… shared by the nodes. */
  redis: string;
  sdkAppID?: number;
  secretKey?: string;
  /** Seconds (--resume-window). */
  resumeWindow?: number;
  /** More flags for every node. */
  args?: string[];
}

export interface TestNode {
  readonly index: number;
  /** --node-id */
  readonly nodeID: string;
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly process: ChildProcess;
  /** What the node wrote to stderr (its log), for a failing test's message. */
  readonly log: () => string;
  /** Whether the process has exited. */
  readonly exited: () => boolean;
}

export interface TestNodes {
  readonly nodes: TestNode[];
  readonly sdkAppID: number;
  readonly secretKey: string;
  /** Connects and logs `userID` in on node `index` (the client closes with `close()`). */
  login(index: number, userID: string): Promise<TestClient>;
  /** Connects to node `index` without logging in (closed with `close()`). */
  connect(index: number): Promise<TestClient>;
  /** SIGKILL: the node vanishes mid-whatever; resolves once the process is gone. */
  kill(index: number): Promise<void>;
  /** Stops every node still running (SIGTERM, SIGKILL after a while), closes clients, removes dirs. */
  close(): Promise<void>;
}

export async function startNodes(o: NodesOptions): Promise<TestNodes> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` first`);
  // A fresh app per start: its state in Redis (`ringline:<sdkAppID>`) is its own. A node stopped
  // gracefully hands its sessions over instead of ending them, so what one test left (a session
  // whose client closed, an invitation ringing) would still be there for the next.
  const sdkAppID = o.sdkAppID ?? 1400000000 + randomInt(1, 999_999);
  const secretKey = o.secretKey ?? 'nodes-harness-secret';
  const dirs: string[] = [];
  const nodes: TestNode[] = [];
  const clients: TestClient[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(nodes.map((n) => stop(n.process)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  // allSettled: a node still starting when another fails must not be left running.
  const results = await Promise.allSettled(
    Array.from({ length: o.count }, (_, index) => {
      const dir = mkdtempSync(join(tmpdir(), 'ringline-node-'));
      dirs.push(dir);
      return startNode(index, dir, { ...o, sdkAppID, secretKey }, nodes);
    }),
  );
  nodes.sort((a, b) => a.index - b.index);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await close();
    throw (failed as PromiseRejectedResult).reason;
  }
  const node = (index: number): TestNode => {
    const n = nodes[index];
    if (!n) throw new Error(`no node ${index}`);
    return n;
  };
  return {
    nodes,
    sdkAppID,
    secretKey,
    login: async (index, userID) => {
      const client = await TestClient.connect(node(index).url);
      clients.push(client);
      await client.login({ sdkAppID, secretKey }, userID);
      return client;
    },
    connect: async (index) => {
      const client = await TestClient.connect(node(index).url);
      clients.push(client);
      return client;
    },
    kill: async (index) => {
      const proc = node(index).process;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await gone;
    },
    close,
  };
}

async function startNode(
  index: number,
  dataDir: string,
  o: NodesOptions & { sdkAppID: number; secretKey: string },
  nodes: TestNode[],
): Promise<TestNode> {
  const nodeID = `node-${index}`;
  const args = [
    CLI,
    'serve',
    '--redis',
    o.redis,
    '--node-id',
    nodeID,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--sdkappid',
    String(o.sdkAppID),
    '--secret-key',
    o.secretKey,
    '--data-dir',
    dataDir,
    '--janus',
    'off',
    ...(o.resumeWindow !== undefined ? ['--resume-window', String(o.resumeWindow)] : []),
    ...(o.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    // Only the tail: a long test must not grow this without bound.
    stderr = (stderr + chunk).slice(-20_000);
  });
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`node ${nodeID} did not listen within ${START_TIMEOUT_MS} ms:\n${stderr}`));
    }, START_TIMEOUT_MS);
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = /listening on (\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${nodeID} exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
  const node: TestNode = {
    index,
    nodeID,
    url,
    process: proc,
    log: () => stderr,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
  };
  nodes.push(node);
  return node;
}

/** SIGTERM (the CLI shuts down cleanly), SIGKILL if it takes too long; resolves once exited. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}
