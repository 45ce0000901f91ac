/**
 * `npm start` / `npx ringline serve`: npm is the server's parent, and a SIGTERM to npm does not
 * reach the server. A server run by npm (npm_command set) stops by itself when its parent goes,
 * instead of serving on, orphaned, with its Janus and coturn.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/ringline.js', import.meta.url));
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a server started by npm', () => {
  it('stops when npm (its parent) is gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-parent-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // A shell stands in for npm: it stays the server's parent (the `; :` keeps it from exec'ing).
    const parent = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${bin}" serve --dev --port 0 --janus off --data-dir "${dataDir}"; :`,
      ],
      { env: { ...process.env, npm_command: 'start' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    parent.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const deadline = Date.now() + 15_000;
    let pid: number | undefined;
    while (pid === undefined && Date.now() < deadline) {
      const m = /"pid":(\d+),[^\n]*"msg":"listening on/.exec(log);
      if (m) pid = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(pid, log).toBeDefined();
    cleanup.push(() => alive(pid!) && process.kill(pid!, 'SIGKILL'));
    expect(pid).not.toBe(parent.pid);

    parent.kill('SIGKILL');
    const stopBy = Date.now() + 10_000;
    while (alive(pid!) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid!)).toBe(false);
  }, 30_000);
});
