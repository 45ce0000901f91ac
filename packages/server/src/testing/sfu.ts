/**
 * A real Janus for a test file's group calls: started (auto mode, ICE on the test's interface)
 * before the suite's tests and stopped after them. Call `useTestSfu()` at a file's or describe's
 * top level.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../log.js';
import { createSfu, type SfuAdapter } from '../sfu/index.js';
import { findExecutable } from '../sfu/janus-process.js';

/** Whether Janus is installed here (group-call tests skip without it). */
export const hasJanus = findExecutable('janus') !== undefined;

/**
 * Starts the SFU before the enclosing suite's tests (nothing without Janus) and stops it after.
 * `options()` is what to spread into a test server's options: `{sfu}`, or `{}` without Janus.
 */
export function useTestSfu(): { options(): { sfu?: SfuAdapter } } {
  let sfu: SfuAdapter | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    if (!hasJanus) return;
    dir = await mkdtemp(join(tmpdir(), 'ringline-janus-'));
    const made = await createSfu({
      mode: 'auto',
      dataDir: dir,
      iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      log: silentLogger,
    });
    if (!made.sfu) throw new Error(`no SFU for the test: ${made.message}`);
    sfu = made.sfu;
  }, 30_000);
  afterAll(async () => {
    await sfu?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { options: () => (sfu ? { sfu } : {}) };
}
