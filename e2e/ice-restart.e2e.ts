/**
 * ICE restart and calls that cannot connect, in Chromium, with the SDK's default timings. The test
 * runs in its own network namespace (scripts/in-netns.sh): the nftables table it adds there to drop
 * UDP (every WebRTC path here, loopback and veth alike) affects only this run, and is deleted in
 * `finally`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SdkErrorCode } from '@ringline/protocol';
import { describe, expect, test } from 'vitest';
import {
  EVENT,
  VIDEO,
  connect,
  connectGroup,
  expectEveryoneDecodes,
  pollUntil,
  showAll,
  showEachOther,
  useRingline,
  type TestUser,
} from './harness/index.js';

const run = promisify(execFile);
const NFT = '/usr/sbin/nft';
const TABLE = 'ringline_ice_e2e';

/** Drops every UDP packet arriving in this namespace (loopback included) until `restoreUdp`. */
async function dropUdp(): Promise<void> {
  await run(NFT, ['add', 'table', 'inet', TABLE]);
  await run(NFT, [
    'add',
    'chain',
    'inet',
    TABLE,
    'input',
    '{ type filter hook input priority -10 ; policy accept ; }',
  ]);
  await run(NFT, ['add', 'rule', 'inet', TABLE, 'input', 'meta', 'l4proto', 'udp', 'drop']);
}

async function restoreUdp(): Promise<void> {
  await run(NFT, ['delete', 'table', 'inet', TABLE]).catch(() => undefined);
}

/** Runs `body` with UDP dropped; the table is gone afterwards whatever happens. */
async function withoutUdp<T>(body: () => Promise<T>): Promise<T> {
  await restoreUdp(); // a table left by an aborted earlier run
  try {
    await dropUdp();
    return await body();
  } finally {
    await restoreUdp();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * From now (the path is back), how long until every viewer decodes new frames of every shown
 * user: ms to the first new frame and to 10 more, per viewer→shown pair.
 */
async function recoveryTimes(pairs: [TestUser, TestUser][]): Promise<string[]> {
  const back = Date.now();
  return Promise.all(
    pairs.map(async ([viewer, shown]) => {
      const before = await viewer.framesDecoded(shown.userID);
      await viewer.page.waitForFunction(
        ([id, target]) => window.__ringline.framesOf(id) >= target,
        [shown.userID, before + 1] as const,
        { timeout: 20_000, polling: 20 },
      );
      const first = Date.now() - back;
      await viewer.expectFramesRising(shown.userID, { by: 10, timeoutMs: 20_000 });
      return `${first}/${Date.now() - back}`;
    }),
  );
}

/** A user whose SDK was made with `options` added to the harness's (before logging in). */
function userWith(name: string, sdkOptions: Record<string, unknown>): Promise<TestUser> {
  return ringline.user(name, { sdkOptions });
}

async function expectNoLeave(users: TestUser[], marks: number[]): Promise<void> {
  for (const [i, u] of users.entries()) {
    const events = (await u.events()).slice(marks[i]).map((e) => e.name);
    expect(events, `${u.name} saw no USER_LEAVE/CALL_END/ERROR`).not.toContain(EVENT.USER_LEAVE);
    expect(events).not.toContain(EVENT.CALL_END);
    expect(events).not.toContain(EVENT.ERROR);
  }
}

async function expectMediaFailed(user: TestUser, after: number, timeoutMs: number) {
  const error = await user.waitForEvent(
    EVENT.ERROR,
    (p) => p.code === SdkErrorCode.MEDIA_CONNECT_FAILED,
    { after, timeoutMs },
  );
  const end = await user.waitForEvent(EVENT.CALL_END, undefined, { after, timeoutMs: 5_000 });
  expect(end.index, `${user.name}: CALL_END after ERROR`).toBeGreaterThan(error.index);
  return error;
}

// Janus for the group call; 1:1 calls stay peer-to-peer.
const ringline = useRingline({ sfu: true });

/**
 * 5 s: Chromium may not even report `disconnected` (it marks a path unwritable only after ~5 s
 * without answers), so media comes back on the old path. 12 s: the SDK notices and restarts ICE
 * (the page logs say so) while the path is down, and media resumes on the restarted path.
 */
for (const outageMs of [5_000, 12_000]) {
  const restarts = outageMs > 10_000;
  describe(`a path that dies for ${outageMs / 1000} s and comes back`, () => {
    test(`1:1 P2P: both sides decode again, nobody sees USER_LEAVE/CALL_END/ERROR${restarts ? '; the caller restarted ICE' : ''}`, async () => {
      const alice = await userWith('alice', { logLevel: 'info' });
      const bob = await userWith('bob', { logLevel: 'info' });
      await connect(alice, bob, { type: VIDEO });
      await showEachOther(alice, bob);
      await Promise.all([
        alice.expectFramesRising(bob.userID),
        bob.expectFramesRising(alice.userID),
      ]);
      const marks = await Promise.all([alice.mark(), bob.mark()]);
      const logged = alice.log.length;

      const times = await withoutUdp(async () => {
        await sleep(outageMs);
        await restoreUdp();
        return recoveryTimes([
          [alice, bob],
          [bob, alice],
        ]);
      });
      console.log(
        `ice-restart e2e: 1:1 P2P recovery after a ${outageMs / 1000} s UDP outage: ` +
          `${times.join(', ')} ms (first frame/10 frames)`,
      );
      await expectNoLeave([alice, bob], marks);
      if (restarts) {
        expect(alice.log.slice(logged).join('\n')).toMatch(/ICE restart #1/);
      }
    }, 90_000);

    test(`3-member SFU group call: every receiver decodes again, nobody sees USER_LEAVE/CALL_END/ERROR${restarts ? '; every member restarted ICE' : ''}`, async () => {
      const alice = await userWith('alice', { logLevel: 'info' });
      const bob = await userWith('bob', { logLevel: 'info' });
      const carol = await userWith('carol', { logLevel: 'info' });
      const users = [alice, bob, carol];
      await connectGroup(alice, [bob, carol], { type: VIDEO });
      await showAll(users);
      await expectEveryoneDecodes(users);
      const marks = await Promise.all(users.map((u) => u.mark()));
      const logged = users.map((u) => u.log.length);

      const pairs = users.flatMap((v) => users.filter((s) => s !== v).map((s) => [v, s] as const));
      const times = await withoutUdp(async () => {
        await sleep(outageMs);
        await restoreUdp();
        return recoveryTimes(pairs.map(([v, s]) => [v, s]));
      });
      console.log(
        `ice-restart e2e: SFU group recovery after a ${outageMs / 1000} s UDP outage: ` +
          `${times.join(', ')} ms (first frame/10 frames)`,
      );
      await expectNoLeave(users, marks);
      if (restarts) {
        for (const [i, u] of users.entries()) {
          const log = u.log.slice(logged[i]).join('\n');
          expect(log, `${u.name} restarted the publisher`).toMatch(
            /SFU publisher connection: ICE restart/,
          );
          expect(log, `${u.name} restarted the subscriber`).toMatch(
            /SFU subscriber connection: ICE restart/,
          );
        }
      }
    }, 90_000);
  });
}

describe('a path that dies for good', () => {
  test('1:1 P2P: both sides report ERROR 60120, then CALL_END', async () => {
    const alice = await ringline.user('alice');
    const bob = await ringline.user('bob');
    await connect(alice, bob, { type: VIDEO });
    await showEachOther(alice, bob);
    await alice.expectFramesRising(bob.userID);
    const [a, b] = await Promise.all([alice.mark(), bob.mark()]);

    await withoutUdp(async () => {
      const started = Date.now();
      // Bounded by the SDK's defaults: loss noticed (a few s) + recovery time (20 s).
      await Promise.all([expectMediaFailed(alice, a, 45_000), expectMediaFailed(bob, b, 45_000)]);
      console.log(
        `ice-restart e2e: 1:1 P2P lost for good, both ended after ${Date.now() - started} ms`,
      );
    });
    for (const u of [alice, bob]) {
      await pollUntil(
        `${u.name} closed every peer connection`,
        () => u.rtpStats('inbound-rtp', 'video'),
        (s) => s.connections === 0,
        { timeoutMs: 5_000 },
      );
    }
  }, 90_000);
});

describe('iceTransportPolicy relay without a TURN server', () => {
  test('the call never connects: both sides report ERROR 60120 and CALL_END within 45 s of accept', async () => {
    const alice = await userWith('alice', { iceTransportPolicy: 'relay' });
    const bob = await ringline.user('bob');
    const [a, b] = await Promise.all([alice.mark(), bob.mark()]);
    const accepted = Date.now();
    await connect(alice, bob, { type: VIDEO });
    const within = 45_000 - (Date.now() - accepted);
    await Promise.all([expectMediaFailed(alice, a, within), expectMediaFailed(bob, b, within)]);
    console.log(
      `ice-restart e2e: relay without TURN, both ended ${Date.now() - accepted} ms after accept`,
    );
  }, 90_000);
});
