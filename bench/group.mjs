// Group-call benchmark: one Chromium page (fake camera) plus N-1 synthetic participants (Node,
// @roamhq/wrtc, generated 320×240 frames) in one call through Janus, inside the test network
// namespace. Run with `npm run bench:group` (builds, then runs this under scripts/in-netns.sh).
//
// For each N in 4, 9, 16, three times:
//   ringline     — the real server (`ringline serve --janus auto`, its own process) runs the call:
//                  a synthetic participant invites everyone, the others accept, the page's SDK
//                  (pre-connect off) rings for BENCH_RING_MS, then accepts last.
//   ringline+pre — the same with the SDK's `preconnect` on: while it rings the page connects to
//                  Janus (no media either way), and at accept only the tracks go on and the
//                  streams start. Its row also says whether the page had sent and received 0
//                  media bytes just before accept (getStats over every peer connection).
//   baseline     — the same publish/subscribe made straight against a Janus of the bench's own
//                  with janode (no Ringline server): N-1 synthetic publishers, then the page
//                  publishes and subscribes to all of them.
// Measured on the page: join time (accept / start of publishing → first decoded frame of every
// remote stream), received frame rate per remote stream over a window (p50 and min), and the CPU
// of Janus and of the server over that window (from /proc/<pid>/stat, % of one core).
// Prints a table; writes bench/results/group.json. Bounded: BENCH_DEADLINE_S (default 900).
//
// Env: BENCH_SIZES ("4,9,16"), BENCH_WINDOW_S (10), BENCH_FPS (15), BENCH_DEADLINE_S (900),
// BENCH_RING_MS (1500: how long the page's invitation rings before it accepts, both ringline kinds),
// BENCH_SYNTHETIC_RECEIVE ("none": synthetics only publish, as in the baseline; "all": every
// synthetic also receives everyone, all-to-all, which on one machine measures the load generator).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Janode from 'janode';
import { genUserSig } from '@ringline/server';
import { assertInTestNamespace, launchChromium, newUserContext } from '../e2e/harness/chromium.js';
import { SyntheticMedia, SyntheticParticipant } from '../e2e/harness/synthetic.js';
import { startJanus } from './lib/janus.mjs';
import { openDirectRoom, trickleTo } from './lib/janus-direct.mjs';
import { exitAfter, percentile, positiveInt, toPositiveInt } from './lib/util.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '4,9,16')
  .split(',')
  .map((s) => toPositiveInt(s.trim(), 'each of BENCH_SIZES'));
const WINDOW_S = positiveInt('BENCH_WINDOW_S', 10);
const FPS = positiveInt('BENCH_FPS', 15);
const DEADLINE_S = positiveInt('BENCH_DEADLINE_S', 900);
const RING_MS = positiveInt('BENCH_RING_MS', 1500);
const RECEIVE_ALL = process.env.BENCH_SYNTHETIC_RECEIVE === 'all';
const RESULTS = fileURLToPath(new URL('./results/group.json', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat times
const STEP_TIMEOUT_MS = 60_000;
/** BENCH_ONLY=ringline|ringline+pre|baseline runs one kind only (for debugging either). */
const ONLY = process.env.BENCH_ONLY;

const deadline = Date.now() + DEADLINE_S * 1000;
const hardStop = exitAfter(DEADLINE_S + 60);
Janode.Logger.setLevel('none');

function checkDeadline(what) {
  if (Date.now() > deadline) throw new Error(`deadline passed before ${what}`);
}

const round = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The pid of the janus process whose command line mentions `dir`, if any. */
function janusPidUnder(dir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('janus') && cmd.some((a) => a.includes(dir))) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The Ringline server in a process of its own (so its CPU is its own), with `--janus auto`. */
async function startRinglineProcess(dataDir) {
  const port = await freePort();
  const sdkAppID = 1400000001;
  const secretKey = randomBytes(32).toString('hex');
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'packages/server/bin/ringline.js'),
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--sdkappid',
      String(sdkAppID),
      '--secret-key',
      secretKey,
      '--data-dir',
      dataDir,
      '--janus',
      'auto',
      '--janus-interface',
      process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = [];
  child.stdout.on('data', (c) => output.push(c.toString()));
  child.stderr.on('data', (c) => output.push(c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (gone) throw new Error(`ringline exited while starting:\n${output.join('').slice(-2000)}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    // Janus comes up alongside; group calls need it, so wait for its process too.
    if (ok && janusPidUnder(dataDir)) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`ringline (with janus) not up within 30 s:\n${output.join('').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    sdkAppID,
    pid: child.pid,
    janusPid: () => janusPidUnder(dataDir),
    userSig: (userID) => genUserSig({ sdkAppID, secretKey, userID }),
    async close() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Frame counts per remote user in the page, and how the page reads them. */
function pageFrames(page, userIDs) {
  return page.evaluate((ids) => ids.map((id) => window.__ringline.framesOf(id)), userIDs);
}

/** Receive rate (fps per remote stream) and CPU of `pids` over a window of WINDOW_S. */
async function measureWindow(page, userIDs, pids) {
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const f0 = await pageFrames(page, userIDs);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const f1 = await pageFrames(page, userIDs);
  const seconds = (Date.now() - t0) / 1000;
  const fps = f1.map((f, i) => (f - f0[i]) / seconds);
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [
      k,
      round((100 * (cpuSeconds(pid) - cpu0[k])) / seconds),
    ]),
  );
  return { fps, cpu };
}

function summarize(kind, n, joinMs, fps, cpu, extra = {}) {
  return {
    kind,
    n,
    joinMs: round(joinMs),
    ...extra,
    fpsP50: round(percentile(fps, 50)),
    fpsMin: round(Math.min(...fps)),
    fpsPerStream: fps.map(round),
    janusCpuPct: cpu.janus ?? null,
    serverCpuPct: cpu.server ?? null,
  };
}

/**
 * One Ringline group call of `n`: N-1 synthetic participants, the page accepts last, after its
 * invitation rang RING_MS; `preconnect`: the SDK's option of that name.
 */
async function runRingline(browser, server, n, preconnect) {
  checkDeadline(`ringline N=${n}`);
  const peers = [];
  const context = await newUserContext(browser, server.url);
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1300, height: 720 });
    const viewerID = `viewer-${randomBytes(4).toString('hex')}`;
    await page.goto(`${server.url}/healthz`);
    await page.addScriptTag({ url: '/sdk/trtc-calling.js' });
    await page.evaluate(
      ([options, id]) => window.__ringline.start(options, id),
      [{ SDKAppID: server.sdkAppID, server: server.url, preconnect }, viewerID],
    );
    const login = await page.evaluate((args) => window.__ringline.invoke('login', [args]), {
      userID: viewerID,
      userSig: server.userSig(viewerID),
    });
    if (!login.ok) throw new Error(`viewer login failed: ${JSON.stringify(login.error)}`);

    for (let i = 0; i < n - 1; i += 1) {
      const userID = `s${i}-${randomBytes(4).toString('hex')}`;
      peers.push(
        await SyntheticParticipant.login({
          serverUrl: server.url,
          sdkAppID: server.sdkAppID,
          userID,
          userSig: server.userSig(userID),
          fps: FPS,
          // Like for like with the baseline, where synthetics only publish: they decline every
          // stream (BENCH_SYNTHETIC_RECEIVE=all makes them receive everyone's, all-to-all).
          ...(RECEIVE_ALL ? {} : { receiveFrom: [] }),
        }),
      );
    }
    const [caller, ...others] = peers;
    await caller.invite({
      userIDList: [...others.map((p) => p.userID), viewerID],
      callType: 2,
      timeout: 120,
    });
    for (let i = 0; i < others.length; i += 4) {
      await Promise.all(
        others.slice(i, i + 4).map((p) => p.accept({ timeoutMs: STEP_TIMEOUT_MS })),
      );
    }
    await page.waitForFunction(
      () => window.__ringline.events.some((e) => e.name === 'onInvited'),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    );
    const remoteIDs = peers.map((p) => p.userID);
    // The callee looks at the ringing screen a moment: the pre-connection's time to come up.
    await new Promise((r) => setTimeout(r, RING_MS));
    const before = await page.evaluate(async () => {
      const r = window.__ringline;
      const [audioOut, videoOut, audioIn, videoIn] = await Promise.all([
        r.rtpStats('outbound-rtp', 'audio'),
        r.rtpStats('outbound-rtp', 'video'),
        r.rtpStats('inbound-rtp', 'audio'),
        r.rtpStats('inbound-rtp', 'video'),
      ]);
      return {
        connected: r.peerConnections.filter((pc) => pc.connectionState === 'connected').length,
        sent: audioOut.bytes + videoOut.bytes,
        received: audioIn.bytes + videoIn.bytes,
      };
    });
    const joined = await page.evaluate(
      async ([ids, timeoutMs]) => {
        const r = window.__ringline;
        r.showRemotes(150, 112);
        const started = r.now();
        const frames = ids.map((id) => r.firstFrameOf(id, timeoutMs));
        const accepted = await r.invoke('accept', []);
        if (!accepted.ok) throw new Error(`accept failed: ${JSON.stringify(accepted.error)}`);
        return { started, firsts: await Promise.all(frames) };
      },
      [remoteIDs, STEP_TIMEOUT_MS],
    );
    const joinMs = Math.max(...joined.firsts) - joined.started;
    const { fps, cpu } = await measureWindow(page, remoteIDs, {
      janus: server.janusPid(),
      server: server.pid,
    });
    await page.evaluate(() => window.__ringline.invoke('hangup', []));
    await page.evaluate(() => window.__ringline.invoke('logout', []));
    return summarize(preconnect ? 'ringline+pre' : 'ringline', n, joinMs, fps, cpu, {
      beforeAccept: {
        connectedPcs: before.connected,
        bytesSent: before.sent,
        bytesReceived: before.received,
      },
    });
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await context.close();
  }
}

/** The same shape straight against Janus: N-1 synthetic publishers, then the page. */
async function runBaseline(browser, janus, origin, n) {
  checkDeadline(`baseline N=${n}`);
  const room = await openDirectRoom(janus.url);
  const medias = [];
  const context = await newUserContext(browser, origin);
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1300, height: 720 });
    await page.goto(origin);
    const feeds = [];
    for (let i = 0; i < n - 1; i += 1) {
      const media = new SyntheticMedia({ label: `s${i}`, fps: FPS });
      medias.push(media);
      const { feed, answer } = await room.publish(media.label, (h) =>
        media.publisherOffer(trickleTo(h)),
      );
      await media.publisherAnswer(answer);
      await media.publisherConnected(STEP_TIMEOUT_MS);
      feeds.push({ feed });
    }
    const remoteIDs = medias.map((m) => m.label);
    const started = await page.evaluate(() => window.__ringline.now());
    const firsts = page.evaluate(
      ([ids, timeoutMs]) =>
        Promise.all(ids.map((id) => window.__ringline.firstFrameOf(id, timeoutMs))),
      [remoteIDs, STEP_TIMEOUT_MS],
    );
    const published = await room.publish('viewer', () =>
      page.evaluate(() => window.__ringline.barePublisherOffer()),
    );
    await page.evaluate((a) => window.__ringline.barePublisherAnswer(a), published.answer);
    const sub = await room.subscribe(feeds);
    const answer = await page.evaluate(
      ([offer, streams]) => window.__ringline.bareSubscribe(offer, streams),
      [sub.offer, sub.streams],
    );
    await sub.start(answer);
    const joinMs = Math.max(...(await firsts)) - started;
    const { fps, cpu } = await measureWindow(page, remoteIDs, { janus: janus.pid });
    await page.evaluate(() => window.__ringline.bareClose());
    return summarize('baseline', n, joinMs, fps, cpu);
  } finally {
    for (const m of medias) m.close();
    await room.close();
    await context.close();
  }
}

function printTable(rows) {
  const head = [
    'kind',
    'N',
    'join ms',
    'fps p50',
    'fps min',
    'janus %cpu',
    'server %cpu',
    'before accept: pcs up, bytes out/in',
  ];
  const lines = rows.map((r) =>
    [
      r.kind,
      r.n,
      r.joinMs,
      r.fpsP50,
      r.fpsMin,
      r.janusCpuPct,
      r.serverCpuPct ?? '-',
      r.beforeAccept
        ? `${r.beforeAccept.connectedPcs}, ${r.beforeAccept.bytesSent}/${r.beforeAccept.bytesReceived}`
        : '-',
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

async function main() {
  assertInTestNamespace();
  const work = await mkdtemp(join(tmpdir(), 'ringline-bench-group-'));
  let browser;
  let server;
  let janus;
  let origin;
  let blank;
  const rows = [];
  const errors = [];
  try {
    browser = await launchChromium();
    if (ONLY !== 'baseline') server = await startRinglineProcess(join(work, 'server'));
    if (ONLY === undefined || ONLY === 'baseline') {
      janus = await startJanus({
        dir: join(work, 'baseline-janus'),
        iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      });
      // The baseline page needs an origin of its own (camera permission, secure context).
      origin = await new Promise((resolve) => {
        blank = createHttpServer((_req, res) => res.end('baseline'));
        blank.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${blank.address().port}`));
      });
    }
    for (const n of SIZES) {
      const runs = [
        ['ringline', () => runRingline(browser, server, n, false)],
        ['ringline+pre', () => runRingline(browser, server, n, true)],
        ['baseline', () => runBaseline(browser, janus, origin, n)],
      ].filter(([kind]) => ONLY === undefined || ONLY === kind);
      for (const [kind, run] of runs) {
        try {
          const row = await run();
          rows.push(row);
          console.log(`${kind} N=${n}: ${JSON.stringify(row)}`);
        } catch (error) {
          errors.push({ kind, n, error: String(error?.stack ?? error) });
          console.error(`${kind} N=${n} failed: ${error?.stack ?? error}`);
        }
      }
    }
  } finally {
    await browser?.close();
    await server?.close();
    await janus?.close();
    blank?.close();
    await rm(work, { recursive: true, force: true });
  }
  printTable(rows);
  await mkdir(join(RESULTS, '..'), { recursive: true });
  await writeFile(
    RESULTS,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        windowS: WINDOW_S,
        syntheticFps: FPS,
        ringMs: RING_MS,
        rows,
        errors,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${RESULTS}`);
  if (errors.length > 0) process.exitCode = 1;
}

main().then(
  () => {
    clearTimeout(hardStop);
    // Exiting by itself, Node would finalize wrtc's sources during its teardown, and wrtc aborts
    // there (a finalizer that calls into JS); process.exit skips that teardown.
    process.exit();
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
