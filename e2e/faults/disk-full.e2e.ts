/**
 * Fault: the disk holding the server's data dir fills up. A REAL full disk: the server process
 * runs in a mount namespace of its own (`unshare -m`, so nothing leaks to the host) with its data
 * dir on an 8 MiB tmpfs, which the test fills through `nsenter`. The admin API must answer a clear
 * coded error, calls must keep working (their history cannot be written meanwhile), and once space
 * is freed, writes succeed again. Needs root (mounting), as the e2e runs have.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType, ServerErrorCode } from '@ringline/protocol';
import { genUserSig } from '../../packages/server/src/auth/usersig.js';
import { TestClient } from '../../packages/server/src/testing/client.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const servers: ServerProcess[] = [];
const clients: TestClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  // The tmpfs lives in the server's mount namespace and goes away with it.
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `script` in the server's mount namespace (where its tmpfs is). */
function inServerMounts(server: ServerProcess, script: string): void {
  execFileSync('nsenter', ['-t', String(server.child.pid), '-m', 'sh', '-c', script], {
    stdio: 'ignore',
    timeout: 10_000,
  });
}

/** Free bytes on the server's data dir, as its mount namespace sees it. */
function freeBytes(server: ServerProcess, dataDir: string): number {
  const out = execFileSync(
    'nsenter',
    ['-t', String(server.child.pid), '-m', 'df', '-B1', '--output=avail', dataDir],
    { timeout: 10_000 },
  ).toString();
  return Number(out.trim().split('\n').pop());
}

async function createGroup(
  server: ServerProcess,
  groupID: string,
): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const sig = genUserSig({ ...server, userID: 'administrator' });
  const res = await fetch(`${server.url}/api/admin/groups`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sig}`, 'content-type': 'application/json' },
    body: JSON.stringify({ groupID, members: ['alice', 'bob'] }),
  });
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

/** A 1:1 call from invite to hangup, with real WebSocket clients. */
async function oneCall(alice: TestClient, bob: TestClient): Promise<void> {
  const { inviteID, callID } = await alice.call('invite', {
    userIDList: ['bob'],
    callType: CallType.VIDEO,
  });
  await bob.waitForPush('invited', (p) => p.inviteID === inviteID);
  await bob.call('accept', { inviteID });
  await alice.call('hangup', { callID });
  await bob.waitForPush('callEnded', (p) => p.callID === callID);
  // A round trip: whatever the call queued for the history has been tried by now.
  await alice.sync();
}

const historyFailures = (server: ServerProcess) =>
  server
    .log()
    .split('\n')
    .filter((l) => l.includes('writing the call history failed')).length;

describe('a full disk under the data dir', () => {
  it('answers STORAGE_FULL on the admin API, keeps calls working, and recovers when freed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-full-'));
    dirs.push(dataDir);
    const server = await startServerProcess({
      dataDir,
      wrap: [
        'unshare',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs -o size=8m ringline-full "$0" && exec "$@"',
        dataDir,
      ],
    });
    servers.push(server);
    const alice = await TestClient.login(server, 'alice');
    const bob = await TestClient.login(server, 'bob');
    clients.push(alice, bob);
    expect((await createGroup(server, 'before')).status).toBe(201);
    await oneCall(alice, bob);
    expect(historyFailures(server)).toBe(0);

    // Fill the disk (cat stops with ENOSPC, which is the point).
    inServerMounts(server, `cat /dev/zero > "${dataDir}/fill" 2>/dev/null; true`);
    expect(freeBytes(server, dataDir)).toBe(0);

    const full = await createGroup(server, 'during');
    expect(full.status).toBe(507);
    expect(full.retryAfter).toBe('5');
    expect(full.body).toEqual({
      error: {
        code: ServerErrorCode.STORAGE_FULL,
        name: 'STORAGE_FULL',
        message: expect.stringMatching(/disk .* is full/),
      },
    });
    // Reads still work.
    const listed = await fetch(`${server.url}/api/admin/groups`, {
      headers: { authorization: `Bearer ${genUserSig({ ...server, userID: 'administrator' })}` },
    });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { groups: { groupID: string }[] }).groups).toEqual([
      expect.objectContaining({ groupID: 'before' }),
    ]);

    // Calls do not wait for the history: whole calls go through, their history writes fail and
    // are logged. Many of them: the live state (DATA_DIR/state.db) lives on space it reserved.
    for (let i = 0; i < 25; i++) await oneCall(alice, bob);
    expect(historyFailures(server)).toBeGreaterThan(0);
    // New users still log in.
    const carol = await TestClient.login(server, 'carol');
    clients.push(carol);

    // Space is back: writes succeed again, and calls write their history without failing.
    inServerMounts(server, `rm -f "${dataDir}/fill"`);
    expect((await createGroup(server, 'after')).status).toBe(201);
    const failuresBefore = historyFailures(server);
    await oneCall(alice, bob);
    expect(historyFailures(server)).toBe(failuresBefore);
    // The process never fell over.
    expect(server.child.exitCode).toBeNull();
  });
});
