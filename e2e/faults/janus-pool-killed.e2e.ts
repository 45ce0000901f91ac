/**
 * Fault: the server runs with a pool of two Janus (`--janus ws://a,ws://b`) and the Janus holding a
 * real 3-member Chromium group call is killed (`kill -9`). The server re-creates the room on the
 * other Janus at once (it does not wait for the killed one to come back) and pushes `sfuReset`;
 * every page's SDK publishes and subscribes again by itself. Proven by decoded frames: on every
 * page, the frame counter of every remote member rises again; no page sees CALL_END or ERROR.
 *
 * The longest freeze any (viewer, remote) pair saw after the kill is printed and written to
 * test-results/e2e/janus-pool-heal.json; it is not asserted (speed belongs to benchmarks).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMemoryCluster } from '@ringline/server';
import { silentLogger } from '../../packages/server/src/log.js';
import { startJanus, type JanusProcess } from '../../packages/server/src/sfu/janus-process.js';
import {
  EVENT,
  RESULTS_DIR,
  VIDEO,
  connectGroup,
  expectEveryoneDecodes,
  longestFreeze,
  showAll,
  useRingline,
} from '../harness/index.js';

/** How long after the kill the frame counters are watched for the longest freeze. */
const FREEZE_WINDOW_MS = 8_000;

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
  await cluster.close();
  for (const j of janus) await j.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// The test reads the call's record (which Janus holds its room) from the shared state.
const cluster = createMemoryCluster();
const ringline = useRingline({ janus: () => janus.map((j) => j.url).join(','), cluster });

/** The Janus process holding the room of the call `userID` is in. */
async function janusOfCall(userID: string): Promise<JanusProcess> {
  const callID = await cluster.calls.userCall(userID);
  const call = callID === undefined ? undefined : await cluster.calls.load(callID);
  const holder = janus.find((j) => j.url === call?.call.sfu?.janus);
  if (!holder) throw new Error(`no Janus of the pool holds ${userID}'s call (${callID})`);
  return holder;
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

    const holder = await janusOfCall(alice.userID);
    process.kill(holder.pid!, 'SIGKILL');
    // And it stays dead (no supervisor restart): frames that resume come through the other Janus.
    const stopped = holder.close();
    const freezeMs = await longestFreeze(users, FREEZE_WINDOW_MS);
    await stopped;
    await expectEveryoneDecodes(users, { by: 20 });

    for (const u of users) {
      expect(await u.events(EVENT.CALL_END), `${u.name}'s CALL_END events`).toEqual([]);
      expect(await u.events(EVENT.ERROR), `${u.name}'s ERROR events`).toEqual([]);
      expect(await u.events(EVENT.USER_LEAVE), `${u.name}'s USER_LEAVE events`).toEqual([]);
    }
    console.log(
      `janus pool heal: longest freeze of any pair in the ${FREEZE_WINDOW_MS} ms after kill -9: ${freezeMs} ms`,
    );
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(
      join(RESULTS_DIR, 'janus-pool-heal.json'),
      JSON.stringify({ freezeMs }, null, 2) + '\n',
    );
  });
});
