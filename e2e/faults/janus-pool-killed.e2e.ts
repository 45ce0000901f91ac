/**
 * Fault: the server runs with a pool of two Janus (`--janus ws://a,ws://b`) and the Janus holding a
 * real 3-member Chromium group call is killed (`kill -9`). The server re-creates the room on the
 * other Janus at once (it does not wait for the killed one to come back) and pushes `sfuReset`;
 * every page's SDK publishes and subscribes again by itself. Proven by decoded frames: on every
 * page, the frame counter of every remote member rises again; no page sees CALL_END or ERROR.
 *
 * The time from the kill to frames rising on every page for every remote is printed and written
 * to test-results/e2e/janus-pool-heal.json; it is not asserted (speed belongs to benchmarks).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../packages/server/src/log.js';
import { startJanus, type JanusProcess } from '../../packages/server/src/sfu/janus-process.js';
import {
  EVENT,
  RESULTS_DIR,
  VIDEO,
  connectGroup,
  expectEveryoneDecodes,
  showAll,
  useRingline,
  type TestUser,
} from '../harness/index.js';

/** Bound on each wait below (the test fails rather than hang). */
const WAIT_MS = 30_000;
const POLL_MS = 50;

const janus: JanusProcess[] = [];
const dirs: string[] = [];
// Registered before useRingline's hooks: the pool runs before the server starts and after it stops.
beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'ringline-e2e-pool-'));
    dirs.push(dir);
    janus.push(
      await startJanus({
        dataDir: dir,
        iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
        log: silentLogger,
      }),
    );
  }
});
afterAll(async () => {
  for (const j of janus) await j.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// Both Janus empty: the first of the list takes the call's room.
const ringline = useRingline({ janus: () => janus.map((j) => j.url).join(',') });

/** Decoded-frame counters of every (viewer, remote) pair, read in one round per page. */
async function frameCounters(users: TestUser[]): Promise<Map<string, number>> {
  const rows = await Promise.all(
    users.map(async (viewer) => {
      const remotes = users.filter((u) => u !== viewer).map((u) => u.userID);
      const counts = await viewer.page.evaluate(
        (ids) => ids.map((id) => window.__ringline.framesOf(id)),
        remotes,
      );
      return remotes.map((id, i) => [`${viewer.name} ← ${id}`, counts[i]!] as const);
    }),
  );
  return new Map(rows.flat());
}

/** Resolves with the time when every pair's counter had risen between two readings. */
async function allRising(users: TestUser[]): Promise<number> {
  let previous = await frameCounters(users);
  const risen = new Set<string>();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const now = await frameCounters(users);
    for (const [pair, count] of now) if (count > previous.get(pair)!) risen.add(pair);
    if (risen.size === now.size) return Date.now();
    if (Date.now() > deadline) {
      const stuck = [...now.keys()].filter((p) => !risen.has(p));
      throw new Error(`frames did not resume within ${WAIT_MS} ms for: ${stuck.join(', ')}`);
    }
    previous = now;
  }
}

describe('the Janus holding a 3-member group call is killed; the pool has another', () => {
  test('frames resume on every page through the other Janus; no CALL_END, no ERROR', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    const carol = await ringline.user('carol');
    const users = [alice, bob, carol];
    await connectGroup(alice, [bob, carol], { type: VIDEO });
    await showAll(users);
    await expectEveryoneDecodes(users);

    const killed = Date.now();
    process.kill(janus[0]!.pid!, 'SIGKILL');
    // And it stays dead (no supervisor restart): frames that resume come through the other Janus.
    const stopped = janus[0]!.close();
    const resumedMs = (await allRising(users)) - killed;
    await stopped;
    await expectEveryoneDecodes(users, { by: 20 });

    for (const u of users) {
      expect(await u.events(EVENT.CALL_END), `${u.name}'s CALL_END events`).toEqual([]);
      expect(await u.events(EVENT.ERROR), `${u.name}'s ERROR events`).toEqual([]);
      expect(await u.events(EVENT.USER_LEAVE), `${u.name}'s USER_LEAVE events`).toEqual([]);
    }
    console.log(`janus pool heal (kill -9 → frames rising on every page): ${resumedMs} ms`);
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(
      join(RESULTS_DIR, 'janus-pool-heal.json'),
      JSON.stringify({ resumedMs }, null, 2) + '\n',
    );
  });
});
