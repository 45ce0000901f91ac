// Cross-NAT benchmark on the simulated internet of e2e/network (same topology code): Chromium per
// site inside the site's namespace, the real `ringline serve` (HTTPS, coturn, Janus off) on the
// public segment. Run with `npm run bench:network` (builds, then runs this under scripts/in-netns.sh).
//
//   (a) accept() → first decoded frame, both sides, per NAT kind (none = the baseline, port-
//       restricted cone, symmetric), with STUN only and with TURN (`--turn auto`);
//   (b) ICE-restart recovery, cone sites with TURN: the caller's router drops all UDP for 5 s, or
//       the caller's public address changes → ms from the path being back to a new frame on each side;
//   (c) receive quality of a 1:1 call at 0 % (baseline), 20 % and 30 % loss on one site router:
//       fps, freezes (count, seconds), audio concealment, from getStats.
//
// Prints tables; writes bench/results/network.json. Bounded: BENCH_DEADLINE_S (default 600).
// Env: BENCH_NET_CALLS (3 per cell), BENCH_NET_RESTARTS (2 per kind), BENCH_NET_WINDOW_S (8),
// BENCH_DEADLINE_S (600).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { genUserSig } from '@ringline/server';
import { newUserContext } from '../e2e/harness/chromium.js';
import { startPublicServer, turnFlags } from '../e2e/network/public-server.js';
import { iceReport, launchSiteChromium, qualityReport } from '../e2e/network/site-browser.js';
import { startStunServer } from '../e2e/network/stun-server.js';
import { PUBLIC_IP, createInternet } from '../e2e/network/topology.js';
import { exitAfter, percentile, positiveInt } from './lib/util.mjs';

const CALLS = positiveInt('BENCH_NET_CALLS', 3);
const RESTARTS = positiveInt('BENCH_NET_RESTARTS', 2);
const WINDOW_S = positiveInt('BENCH_NET_WINDOW_S', 8);
const DEADLINE_S = positiveInt('BENCH_DEADLINE_S', 600);
const RESULTS = fileURLToPath(new URL('./results/network.json', import.meta.url));
/** Longest a call may take to show a frame before it counts as not connecting. */
const STEP_TIMEOUT_MS = 20_000;
const STUN_PORT = 3479;
const KINDS = ['none', 'cone', 'symmetric'];

const started = Date.now();
const deadline = started + DEADLINE_S * 1000;
const hardStop = exitAfter(DEADLINE_S + 60);
const timeLeft = () => deadline - Date.now();
const round = (x, d = 1) =>
  x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d;

const max = (values) => (values.length === 0 ? null : round(Math.max(...values), 0));

/** makeTestCertificate from the server's TypeScript testing helpers, compiled on the fly. */
async function loadMakeTestCertificate() {
  const source = fileURLToPath(new URL('../packages/server/src/testing/tls.ts', import.meta.url));
  const out = await mkdtemp(join(tmpdir(), 'ringline-bench-tls-'));
  const file = join(out, 'tls.mjs');
  await build({ entryPoints: [source], outfile: file, format: 'esm', platform: 'node' });
  try {
    return (await import(pathToFileURL(file).href)).makeTestCertificate;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** One user in `browser` (a site's Chromium): a page of the server with the SDK, logged in. */
async function openUser(browser, server, name) {
  const userID = `${name}-${randomBytes(3).toString('hex')}`;
  const context = await newUserContext(browser, server.url);
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.addScriptTag({ url: '/sdk/trtc-calling.js' });
  await page.evaluate(
    ([options, id]) => {
      window.__ringline.start(options, id);
      const { USER_ENTER } = window.TRTCCalling.EVENT;
      window.trtcCalling.on(USER_ENTER, ({ userID: peer }) => {
        window.trtcCalling.startRemoteView({ userID: peer, videoViewDomID: 'remote-view' });
      });
    },
    [{ SDKAppID: server.sdkAppID, server: server.url }, userID],
  );
  const userSig = genUserSig({ sdkAppID: server.sdkAppID, secretKey: server.secretKey, userID });
  await invoke(page, 'login', [{ userID, userSig }]);
  return { userID, context, page };
}

async function invoke(page, method, args) {
  const result = await page.evaluate(([m, a]) => window.__ringline.invoke(m, a), [method, args]);
  if (!result.ok) throw new Error(`${method}() failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

const mark = (page) => page.evaluate(() => window.__ringline.events.length);

async function waitForEvent(page, name, after, timeoutMs = STEP_TIMEOUT_MS) {
  const handle = await page.waitForFunction(
    ([n, from]) => window.__ringline.events.slice(from).find((e) => e.name === n) ?? false,
    [name, after],
    { timeout: timeoutMs, polling: 'raf' },
  );
  const event = await handle.jsonValue();
  await handle.dispose();
  return event;
}

/**
 * One call: caller calls, callee accepts; resolves with accept → first frame on each side (null
 * when no frame came within STEP_TIMEOUT_MS) and the selected pair types; always hangs up.
 */
async function oneCall(caller, callee) {
  for (const user of [caller, callee]) {
    await user.page.evaluate(() => document.querySelector('#remote-view').replaceChildren());
  }
  const [callerMark, calleeMark] = [await mark(caller.page), await mark(callee.page)];
  await invoke(caller.page, 'call', [{ userID: callee.userID, type: 2 }]);
  await waitForEvent(callee.page, 'onInvited', calleeMark);
  const frameOf = (user, peer) =>
    user.page
      .evaluate(([p, ms]) => window.__ringline.firstFrameOf(p, ms), [peer, STEP_TIMEOUT_MS])
      .catch(() => null);
  const callerFrame = frameOf(caller, callee.userID);
  const calleeFrame = frameOf(callee, caller.userID);
  const t0 = await callee.page.evaluate(async () => {
    const t = window.__ringline.now();
    const r = await window.__ringline.invoke('accept', []);
    if (!r.ok) throw new Error(`accept() failed: ${JSON.stringify(r.error)}`);
    return t;
  });
  const [callerAt, calleeAt] = await Promise.all([callerFrame, calleeFrame]);
  const pair = await caller.page.evaluate(iceReport).then((r) => {
    const c = r.connections.find((x) => x.connectionState === 'connected');
    return c ? `${c.local?.type}→${c.remote?.type}` : 'none';
  });
  await hangUp(caller, callee, callerMark, calleeMark);
  return {
    caller: callerAt === null ? null : callerAt - t0,
    callee: calleeAt === null ? null : calleeAt - t0,
    pair,
  };
}

/** Ends the call on both sides (tolerating one that already ended, e.g. after a failure). */
async function hangUp(caller, callee, callerMark, calleeMark) {
  await invoke(caller.page, 'hangup', []).catch(() => undefined);
  await invoke(callee.page, 'hangup', []).catch(() => undefined);
  await waitForEvent(callee.page, 'onCallEnd', calleeMark, 5_000).catch(() => undefined);
  await waitForEvent(caller.page, 'onCallEnd', callerMark, 5_000).catch(() => undefined);
}

/** Two users at sites `a` and `b`, each in its site's Chromium; `use` runs with them, then all close. */
async function withPair(net, server, spki, [a, b], use) {
  const browsers = await Promise.all(
    [a, b].map((s) => launchSiteChromium(net.site(s).client, { spki })),
  );
  try {
    const caller = await openUser(browsers[0], server, 'caller');
    const callee = await openUser(browsers[1], server, 'callee');
    return await use(caller, callee);
  } finally {
    await Promise.allSettled(browsers.map((b) => b.close()));
  }
}

/** (a) connect times per NAT kind on `server`; a kind whose first call fails is not retried. */
async function measureConnects(net, server, spki, label) {
  const rows = [];
  for (const kind of KINDS) {
    if (timeLeft() < 3 * STEP_TIMEOUT_MS) break;
    console.log(`bench: (a) ${label}, ${kind} …`);
    const samples = { caller: [], callee: [], pairs: new Set(), failed: 0, calls: 0 };
    await withPair(net, server, spki, [`${kind}-a`, `${kind}-b`], async (caller, callee) => {
      await oneCall(caller, callee); // warm-up: first getUserMedia, codec start
      for (let i = 0; i < CALLS && timeLeft() > 2 * STEP_TIMEOUT_MS; i++) {
        const r = await oneCall(caller, callee);
        samples.calls += 1;
        samples.pairs.add(r.pair);
        if (r.caller === null || r.callee === null) {
          samples.failed += 1;
          break;
        }
        samples.caller.push(r.caller);
        samples.callee.push(r.callee);
      }
    });
    rows.push({
      servers: label,
      nat: kind,
      calls: samples.calls,
      failed: samples.failed,
      'callee p50 ms': round(percentile(samples.callee, 50), 0),
      'caller p50 ms': round(percentile(samples.caller, 50), 0),
      'max ms': max([...samples.callee, ...samples.caller]),
      'caller pair': [...samples.pairs].join(' '),
    });
  }
  return rows;
}

/** Resolves (in the page) with the time `peer`'s video presents a frame past the current count. */
function nextFrame(user, peer) {
  return user.page.evaluate(
    ([p, ms]) =>
      new Promise((resolve, reject) => {
        const from = window.__ringline.framesOf(p);
        const timer = setTimeout(() => reject(new Error('no frame')), ms);
        const tick = () => {
          if (window.__ringline.framesOf(p) > from) {
            clearTimeout(timer);
            resolve(window.__ringline.now());
          } else requestAnimationFrame(tick);
        };
        tick();
      }),
    [peer, 30_000],
  );
}

/**
 * Waits until neither page has decoded a new frame of the other for `quietMs`; false when frames
 * kept coming for 10 s.
 */
async function untilStalled(caller, callee, quietMs = 1_000) {
  const read = () =>
    Promise.all([
      caller.page.evaluate((p) => window.__ringline.framesOf(p), callee.userID),
      callee.page.evaluate((p) => window.__ringline.framesOf(p), caller.userID),
    ]).then((v) => v.join(','));
  let last = await read();
  let since = Date.now();
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await read();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return true;
  }
  return false;
}

/** (b) ICE-restart recovery on cone sites: 5 s UDP blackout, and a public address change. */
async function measureRestarts(net, server, spki) {
  const rows = [];
  const site = net.site('cone-a');
  await withPair(net, server, spki, ['cone-a', 'cone-b'], async (caller, callee) => {
    for (const fault of ['5 s UDP blackout', 'public address change']) {
      const samples = [];
      let failed = 0;
      for (let i = 0; i < RESTARTS && timeLeft() > 3 * STEP_TIMEOUT_MS; i++) {
        console.log(`bench: (b) ${fault} #${i + 1} …`);
        const [cm, em] = [await mark(caller.page), await mark(callee.page)];
        await invoke(caller.page, 'call', [{ userID: callee.userID, type: 2 }]);
        await waitForEvent(callee.page, 'onInvited', em);
        await invoke(callee.page, 'accept', []);
        await Promise.all([nextFrame(caller, callee.userID), nextFrame(callee, caller.userID)]);
        let back;
        let frames;
        if (fault === '5 s UDP blackout') {
          await site.blockUdp();
          const blocked = Date.now();
          await untilStalled(caller, callee);
          await new Promise((r) => setTimeout(r, Math.max(0, blocked + 5_000 - Date.now())));
          frames = [nextFrame(caller, callee.userID), nextFrame(callee, caller.userID)];
          await site.unblockUdp();
          back = await caller.page.evaluate(() => window.__ringline.now());
        } else {
          // The path breaks at the change itself: time from the change, counting only frames
          // after media stalled (frames already on their way are not a recovery).
          back = await caller.page.evaluate(() => window.__ringline.now());
          await site.changePublicAddress();
          const stalled = await untilStalled(caller, callee, 500);
          // Frames never stopped: no interruption to recover from.
          frames = stalled
            ? [nextFrame(caller, callee.userID), nextFrame(callee, caller.userID)]
            : [Promise.resolve(back)];
        }
        try {
          const at = await Promise.all(frames);
          samples.push(Math.max(...at) - back);
        } catch {
          failed += 1;
        }
        const left = (await caller.page.evaluate(() => window.__ringline.events))
          .slice(cm)
          .some((e) => e.name === 'onUserLeave');
        if (left) console.log(`bench: (b) ${fault}: the caller saw USER_LEAVE`);
        await hangUp(caller, callee, cm, em);
      }
      rows.push({
        fault,
        runs: samples.length + failed,
        'not recovered in 30 s': failed,
        'p50 ms': round(percentile(samples, 50), 0),
        'max ms': max(samples),
        samples: samples.map((s) => round(s, 0)).join(' '),
      });
    }
  });
  return rows;
}

/** (c) one 1:1 call on cone sites; windows at 0, 20 and 30 % loss on the caller's router. */
async function measureLoss(net, server, spki) {
  const rows = [];
  const site = net.site('cone-a');
  await withPair(net, server, spki, ['cone-a', 'cone-b'], async (caller, callee) => {
    const [cm, em] = [await mark(caller.page), await mark(callee.page)];
    await invoke(caller.page, 'call', [{ userID: callee.userID, type: 2 }]);
    await waitForEvent(callee.page, 'onInvited', em);
    await invoke(callee.page, 'accept', []);
    await Promise.all([nextFrame(caller, callee.userID), nextFrame(callee, caller.userID)]);
    try {
      for (const loss of [0, 20, 30]) {
        console.log(`bench: (c) ${loss} % loss, ${WINDOW_S} s …`);
        await site.setLoss(loss);
        await new Promise((r) => setTimeout(r, 2_000)); // let the loss level settle in
        const before = await Promise.all(
          [caller, callee].map((u) => u.page.evaluate(qualityReport)),
        );
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
        const after = await Promise.all(
          [caller, callee].map((u) => u.page.evaluate(qualityReport)),
        );
        const s = (Date.now() - t0) / 1000;
        for (const [i, who] of ['caller', 'callee'].entries()) {
          const [a, b] = [before[i], after[i]];
          const samples = b.totalSamplesReceived - a.totalSamplesReceived;
          rows.push({
            loss: `${loss} %`,
            receiver: who,
            fps: round((b.framesDecoded - a.framesDecoded) / s),
            freezes: b.freezeCount - a.freezeCount,
            'freeze s': round(b.totalFreezesDuration - a.totalFreezesDuration),
            'audio concealed %': round(
              samples > 0 ? ((b.concealedSamples - a.concealedSamples) / samples) * 100 : 0,
            ),
          });
        }
      }
    } finally {
      await site.setLoss(0);
      await hangUp(caller, callee, cm, em);
    }
  });
  return rows;
}

async function main() {
  if (process.env.RINGLINE_NETNS !== '1') {
    console.error('bench: run inside the test network namespace: npm run bench:network');
    process.exit(2);
  }
  const makeTestCertificate = await loadMakeTestCertificate();
  const cert = makeTestCertificate([PUBLIC_IP]);
  const sites = KINDS.flatMap((nat) => [
    { name: `${nat}-a`, nat },
    { name: `${nat}-b`, nat },
  ]);
  const net = await createInternet({ sites });
  const results = { connect: [], restart: [], loss: [] };
  let stun;
  let server;
  try {
    stun = await startStunServer(net.public, PUBLIC_IP, STUN_PORT);
    server = await startPublicServer(net, {
      cert,
      flags: ['--ice-servers', JSON.stringify([{ urls: stun.url }])],
    });
    results.connect.push(...(await measureConnects(net, server, cert.spki, 'STUN only')));
    await server.close();
    await stun.close();
    stun = undefined;

    server = await startPublicServer(net, { cert, flags: turnFlags() });
    results.connect.push(...(await measureConnects(net, server, cert.spki, 'STUN+TURN')));
    results.restart = await measureRestarts(net, server, cert.spki);
    results.loss = await measureLoss(net, server, cert.spki);
  } finally {
    await server?.close();
    await stun?.close();
    await net.close();
    cert.remove();
  }

  console.log('\n(a) accept() → first decoded frame (none = no NAT, the baseline)');
  console.table(results.connect);
  console.log('(b) ICE restart: path back → a new frame on both sides (cone NATs, TURN on)');
  console.table(results.restart);
  console.log(
    `(c) receive quality over ${WINDOW_S} s windows, loss on one site router (cone, P2P)`,
  );
  console.table(results.loss);
  await mkdir(join(RESULTS, '..'), { recursive: true });
  await writeFile(
    RESULTS,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        durationMs: Date.now() - started,
        ...results,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`results: ${RESULTS}`);
}

try {
  await main();
} finally {
  clearTimeout(hardStop);
}
