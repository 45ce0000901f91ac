// Call-setup benchmark: Chromium (fake devices) against the real Ringline server, inside the test
// network namespace. Run with `npm run bench:call` (builds, then runs this under scripts/in-netns.sh).
//
//   (a) call() → INVITED on the callee          — signalling latency, ≥ 50 calls (each rejected)
//   (b) accept() → first decoded remote frame     — on both sides, ≥ 10 calls (each hung up)
//   (b′) the same with pre-connect on both sides (the SDK option `preconnect: true`): accept is
//       pressed once the pre-connection is up (a person takes longer than that to answer); the
//       media bytes both pages sent and received before accept are recorded (they must be 0)
//   (c) floor: a bare RTCPeerConnection pair in one page, getUserMedia → first decoded frame
//   (d) Janus VideoCall: the same two pages ringing each other through Janus's VideoCall plugin
//       (register, call, incoming call, accept) — a real 1:1 ringing service without Ringline;
//       accept → first decoded remote frame on both sides, as in (b)
//
// Times are taken in the pages with performance.timeOrigin + performance.now() (one machine, one
// clock), frames with requestVideoFrameCallback. Prints a table and the ratios of (b) to (c) and
// to (d); writes bench/results/call.json. Bounded: BENCH_DEADLINE_S (default 600) for the run.
//
// (b) and (b′) accept BENCH_RING_MS after INVITED (a person answers later than that; the caller's
// camera, which opens while it rings, is then open in both).
//
// Env: BENCH_INVITES (50), BENCH_CONNECTS (20), BENCH_RING_MS (500), BENCH_DEADLINE_S (600).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genUserSig, startServer } from '@ringline/server';
import { launchChromium, newUserContext } from '../e2e/harness/chromium.js';
import { renderCharts } from './lib/chart.mjs';
import { startJanus } from './lib/janus.mjs';
import { exitAfter, percentile, positiveInt } from './lib/util.mjs';

const INVITES = positiveInt('BENCH_INVITES', 50);
const CONNECTS = positiveInt('BENCH_CONNECTS', 20);
/** How long an invitation rings before (b) and (b′) accept: a person takes longer than that. */
const RING_MS = positiveInt('BENCH_RING_MS', 500);
const DEADLINE_S = positiveInt('BENCH_DEADLINE_S', 600);
const RESULTS = fileURLToPath(new URL('./results/call.json', import.meta.url));
const CHART = fileURLToPath(new URL('../docs/img/call-first-frame.png', import.meta.url));
/** Longest any single wait in one iteration may take. */
const STEP_TIMEOUT_MS = 20_000;

const started = Date.now();
const deadline = started + DEADLINE_S * 1000;
const hardStop = exitAfter(DEADLINE_S + 60);

function timeLeft() {
  return deadline - Date.now();
}

function summarize(name, samples) {
  const round = (x) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    metric: name,
    n: samples.length,
    p50: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    samples: samples.map(round),
  };
}

/** One user: own context (own fake devices), a page of the server with the SDK, logged in. */
async function openUser(browser, server, userID, sdkOptions = {}) {
  const context = await newUserContext(browser, server.url);
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.addScriptTag({ url: '/sdk/trtc-calling.js' });
  await page.evaluate(
    ([options, id]) => {
      window.__ringline.start(options, id);
      // As an app does: show whoever enters, the moment they enter.
      const { USER_ENTER } = window.TRTCCalling.EVENT;
      window.trtcCalling.on(USER_ENTER, ({ userID }) => {
        window.trtcCalling.startRemoteView({ userID, videoViewDomID: 'remote-view' });
      });
    },
    [{ ...sdkOptions, SDKAppID: server.sdkAppID, server: server.url }, userID],
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

function mark(page) {
  return page.evaluate(() => window.__ringline.events.length);
}

/** The first event named `name` recorded at or after index `after`; waits in the page for it. */
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

/** (a) call() → INVITED, each call rejected by the callee. */
async function measureInvites(caller, callee, EVENT) {
  const samples = [];
  for (let i = 0; i < INVITES && timeLeft() > STEP_TIMEOUT_MS; i++) {
    const [callerMark, calleeMark] = [await mark(caller.page), await mark(callee.page)];
    const t0 = await caller.page.evaluate(
      async ([userID]) => {
        const t = window.__ringline.now();
        const r = await window.__ringline.invoke('call', [{ userID, type: 2 }]);
        if (!r.ok) throw new Error(`call() failed: ${JSON.stringify(r.error)}`);
        return t;
      },
      [callee.userID],
    );
    const invited = await waitForEvent(callee.page, EVENT.INVITED, calleeMark);
    samples.push(invited.at - t0);
    await invoke(callee.page, 'reject', []);
    await waitForEvent(caller.page, EVENT.REJECT, callerMark);
  }
  return samples;
}

/** Resolves once the page has an open peer connection that is connected (pre-connect). */
async function preconnected(page) {
  const handle = await page.waitForFunction(
    () =>
      window.__ringline.peerConnections.some(
        (pc) => pc.connectionState === 'connected' && pc.signalingState === 'stable',
      ),
    undefined,
    { timeout: STEP_TIMEOUT_MS, polling: 10 },
  );
  await handle.dispose();
}

/** Media bytes (audio and video, RTP) the page sent and received so far on open connections. */
async function mediaBytes(page) {
  return page.evaluate(async () => {
    let bytes = 0;
    for (const type of ['outbound-rtp', 'inbound-rtp']) {
      for (const kind of ['audio', 'video']) {
        bytes += (await window.__ringline.rtpStats(type, kind)).bytes;
      }
    }
    return bytes;
  });
}

/**
 * (b) accept() → first decoded remote frame, on the callee and on the caller; each hung up. With
 * `preconnect`, accept waits until both pages are pre-connected, and the bytes before it are summed.
 */
async function measureConnects(caller, callee, EVENT, { preconnect = false } = {}) {
  const calleeSide = [];
  const callerSide = [];
  const calleeEnter = [];
  const ringToConnected = [];
  let bytesBeforeAccept = 0;
  for (let i = 0; i < CONNECTS && timeLeft() > 2 * STEP_TIMEOUT_MS; i++) {
    for (const user of [caller, callee]) {
      await user.page.evaluate(() => document.querySelector('#remote-view').replaceChildren());
    }
    const [callerMark, calleeMark] = [await mark(caller.page), await mark(callee.page)];
    await invoke(caller.page, 'call', [{ userID: callee.userID, type: 2 }]);
    const invited = await waitForEvent(callee.page, EVENT.INVITED, calleeMark);
    const ringing = new Promise((resolve) => setTimeout(resolve, RING_MS));
    if (preconnect) {
      await Promise.all([preconnected(caller.page), preconnected(callee.page)]);
      ringToConnected.push(
        (await callee.page.evaluate(() => window.__ringline.now())) - invited.at,
      );
    }
    await ringing;
    if (preconnect) {
      bytesBeforeAccept += (await mediaBytes(caller.page)) + (await mediaBytes(callee.page));
    }

    // Both pages wait for the peer's first frame before the accept starts the clock.
    const callerFrame = caller.page.evaluate(
      ([peer, ms]) => window.__ringline.firstFrameOf(peer, ms),
      [callee.userID, STEP_TIMEOUT_MS],
    );
    const calleeMeasure = callee.page.evaluate(
      async ([peer, ms]) => {
        const frame = window.__ringline.firstFrameOf(peer, ms);
        const t0 = window.__ringline.now();
        const r = await window.__ringline.invoke('accept', []);
        if (!r.ok) throw new Error(`accept() failed: ${JSON.stringify(r.error)}`);
        return { t0, frameAt: await frame };
      },
      [caller.userID, STEP_TIMEOUT_MS],
    );
    const [{ t0, frameAt }, callerFrameAt] = await Promise.all([calleeMeasure, callerFrame]);
    calleeSide.push(frameAt - t0);
    callerSide.push(callerFrameAt - t0);
    // The signalling share of it: accept() until the callee's USER_ENTER for the caller.
    const enter = await waitForEvent(callee.page, EVENT.USER_ENTER, calleeMark);
    calleeEnter.push(enter.at - t0);

    const afterHangup = await mark(callee.page);
    await invoke(caller.page, 'hangup', []);
    await waitForEvent(callee.page, EVENT.CALL_END, afterHangup);
    // The caller's own CALL_END too, so its engine is idle before the next call.
    await waitForEvent(caller.page, EVENT.CALL_END, callerMark);
  }
  return { calleeSide, callerSide, calleeEnter, ringToConnected, bytesBeforeAccept };
}

/** (c) the floor: a bare peer-connection pair in one page of the same browser. */
async function measureFloor(page) {
  const samples = [];
  for (let i = 0; i < CONNECTS && timeLeft() > STEP_TIMEOUT_MS; i++) {
    samples.push(
      await page.evaluate((ms) => window.__ringline.floorFirstFrame(ms), STEP_TIMEOUT_MS),
    );
  }
  return samples;
}

const VIDEOCALL_PAGE = fileURLToPath(new URL('./lib/videocall-page.js', import.meta.url));

/**
 * (d) Janus's VideoCall plugin, from the same two pages: the caller calls, the callee accepts the
 * moment it rings; accept → first decoded remote frame on both sides. The first call is a warm-up.
 */
async function measureVideoCall(janusUrl, caller, callee) {
  const calleeSide = [];
  const callerSide = [];
  const suffix = Math.random().toString(36).slice(2, 8);
  for (const [user, name] of [
    [caller, `vc-caller-${suffix}`],
    [callee, `vc-callee-${suffix}`],
  ]) {
    await user.page.addScriptTag({ path: VIDEOCALL_PAGE });
    await user.page.evaluate(([url, n]) => window.__videocall.register(url, n), [janusUrl, name]);
    user.videoCallName = name;
  }
  try {
    for (let i = 0; i <= CONNECTS && timeLeft() > 2 * STEP_TIMEOUT_MS; i++) {
      const answered = callee.page.evaluate(
        (ms) => window.__videocall.answerIncoming(ms),
        STEP_TIMEOUT_MS,
      );
      // Settled either way before anything below can throw: no rejection left unhandled.
      const settled = answered.then(
        (value) => ({ value }),
        (error) => ({ error }),
      );
      await caller.page.evaluate((peer) => window.__videocall.call(peer), callee.videoCallName);
      const [{ t0, frameAt }, callerFrameAt] = await Promise.all([
        settled.then((r) => {
          if (r.error) throw r.error;
          return r.value;
        }),
        caller.page.evaluate((ms) => window.__videocall.firstFrame(ms), STEP_TIMEOUT_MS),
      ]);
      if (i > 0) {
        calleeSide.push(frameAt - t0);
        callerSide.push(callerFrameAt - t0);
      }
      await Promise.all([
        caller.page.evaluate(() => window.__videocall.hangup()),
        callee.page.evaluate(() => window.__videocall.hungUp()),
      ]);
    }
  } finally {
    for (const user of [caller, callee]) {
      await user.page.evaluate(() => window.__videocall.close()).catch(() => undefined);
    }
  }
  return { calleeSide, callerSide };
}

/** One unmeasured call, so one-off costs (codec init, first getUserMedia) skew no sample. */
async function warmUp(caller, callee, EVENT) {
  const calleeMark = await mark(callee.page);
  const callerMark = await mark(caller.page);
  await invoke(caller.page, 'call', [{ userID: callee.userID, type: 2 }]);
  await waitForEvent(callee.page, EVENT.INVITED, calleeMark);
  await invoke(callee.page, 'accept', []);
  await caller.page.evaluate(
    ([peer, ms]) => window.__ringline.firstFrameOf(peer, ms),
    [callee.userID, STEP_TIMEOUT_MS],
  );
  const afterHangup = await mark(callee.page);
  await invoke(caller.page, 'hangup', []);
  await waitForEvent(callee.page, EVENT.CALL_END, afterHangup);
  await waitForEvent(caller.page, EVENT.CALL_END, callerMark);
}

/** The samples sorted, as [percentile, value] points (an empirical CDF). */
function cdf(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.map((v, i) => [((i + 0.5) / sorted.length) * 100, v]);
}

function printTable(rows) {
  const fmt = (v) => (v === null ? '—' : v.toFixed(1));
  const header = ['metric', 'n', 'p50 ms', 'p95 ms', 'p99 ms'];
  const lines = rows.map((r) => [r.metric, String(r.n), fmt(r.p50), fmt(r.p95), fmt(r.p99)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(line(l));
}

async function main() {
  if (process.env.RINGLINE_NETNS !== '1') {
    console.error('bench: run inside the test network namespace: npm run bench:call');
    process.exit(2);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'ringline-bench-'));
  let server;
  let browser;
  let janus;
  try {
    server = await startServer({ port: 0, host: '127.0.0.1', dev: true, dataDir });
    janus = await startJanus({
      dir: join(dataDir, 'janus-videocall'),
      iceInterface: process.env.RINGLINE_MEDIA_IFACE ?? 'lo',
      plugins: ['videocall'],
    });
    browser = await launchChromium();
    const suffix = Math.random().toString(36).slice(2, 8);
    const off = { preconnect: false };
    const caller = await openUser(browser, server, `bench-caller-${suffix}`, off);
    const callee = await openUser(browser, server, `bench-callee-${suffix}`, off);
    const on = { preconnect: true };
    const preCaller = await openUser(browser, server, `bench-pre-caller-${suffix}`, on);
    const preCallee = await openUser(browser, server, `bench-pre-callee-${suffix}`, on);
    const EVENT = await caller.page.evaluate(() => ({ ...window.TRTCCalling.EVENT }));

    await warmUp(caller, callee, EVENT);
    await warmUp(preCaller, preCallee, EVENT);

    console.log(`bench: (a) ${INVITES} calls, call() → INVITED …`);
    const invites = await measureInvites(caller, callee, EVENT);
    console.log(`bench: (b) ${CONNECTS} calls, accept() → first decoded frame …`);
    const { calleeSide, callerSide, calleeEnter } = await measureConnects(caller, callee, EVENT);
    console.log(`bench: (b′) ${CONNECTS} calls with pre-connect, accept() → first decoded frame …`);
    const pre = await measureConnects(preCaller, preCallee, EVENT, { preconnect: true });
    console.log(`bench: (c) ${CONNECTS} bare peer-connection pairs …`);
    const floor = await measureFloor(caller.page);
    console.log(`bench: (d) ${CONNECTS} Janus VideoCall calls, accept → first decoded frame …`);
    const videoCall = await measureVideoCall(janus.url, caller, callee);

    const floorRow = summarize('(c) floor: bare RTCPeerConnection pair', floor);
    const vcCallee = summarize(
      '(d) Janus VideoCall: accept → first frame, callee',
      videoCall.calleeSide,
    );
    const vcCaller = summarize(
      '(d) Janus VideoCall: accept → first frame, caller',
      videoCall.callerSide,
    );
    const rows = [
      summarize('(a) call() → INVITED', invites),
      summarize('(b) accept() → first frame, callee', calleeSide),
      summarize('(b) accept() → first frame, caller', callerSide),
      summarize('    of which accept() → USER_ENTER, callee', calleeEnter),
      summarize('(b′) pre-connect: accept() → first frame, callee', pre.calleeSide),
      summarize('(b′) pre-connect: accept() → first frame, caller', pre.callerSide),
      summarize('    INVITED → pre-connected (while it rings)', pre.ringToConnected),
      floorRow,
      vcCallee,
      vcCaller,
    ];
    console.log('');
    printTable(rows);
    const ratio = (row, base, at = 'p50') =>
      row[at] !== null && base[at] ? Math.round((row[at] / base[at]) * 100) / 100 : null;
    const ratios = {
      calleeP50: ratio(rows[1], floorRow),
      callerP50: ratio(rows[2], floorRow),
      calleeP50OverVideoCall: ratio(rows[1], vcCallee),
      callerP50OverVideoCall: ratio(rows[2], vcCaller),
      videoCallCalleeP50: ratio(vcCallee, floorRow),
      videoCallCallerP50: ratio(vcCaller, floorRow),
      preconnectCalleeP50: ratio(rows[4], floorRow),
      preconnectCallerP50: ratio(rows[5], floorRow),
      preconnectCalleeP95: ratio(rows[4], floorRow, 'p95'),
      preconnectCallerP95: ratio(rows[5], floorRow, 'p95'),
    };
    console.log('');
    console.log(
      `ratio (b)/(c) at p50: callee ${ratios.calleeP50 ?? '—'}×, caller ${ratios.callerP50 ?? '—'}×`,
    );
    console.log(
      `ratio (b)/(d) at p50: callee ${ratios.calleeP50OverVideoCall ?? '—'}×, caller ${ratios.callerP50OverVideoCall ?? '—'}×`,
    );
    console.log(
      `ratio (b′)/(c) at p50: callee ${ratios.preconnectCalleeP50 ?? '—'}×, caller ${ratios.preconnectCallerP50 ?? '—'}× (p95: ${ratios.preconnectCalleeP95 ?? '—'}×, ${ratios.preconnectCallerP95 ?? '—'}×)`,
    );
    console.log(
      `media bytes sent + received before accept, all ${pre.calleeSide.length} pre-connected calls, both pages: ${pre.bytesBeforeAccept}`,
    );
    console.log(
      `ratio (d)/(c) at p50: callee ${ratios.videoCallCalleeP50 ?? '—'}×, caller ${ratios.videoCallCallerP50 ?? '—'}×`,
    );

    const complete =
      invites.length >= INVITES &&
      calleeSide.length >= CONNECTS &&
      pre.calleeSide.length >= CONNECTS &&
      floor.length >= CONNECTS &&
      videoCall.calleeSide.length >= CONNECTS;
    await mkdir(join(RESULTS, '..'), { recursive: true });
    await writeFile(
      RESULTS,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          chromium: browser.version(),
          node: process.version,
          durationMs: Date.now() - started,
          complete,
          metrics: rows,
          ratioBOverC: ratios,
          preconnectBytesBeforeAccept: pre.bytesBeforeAccept,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`results: ${RESULTS}`);
    await renderCharts([
      {
        pngPath: CHART,
        chart: {
          title: 'accept → first decoded remote frame (each curve: its samples, sorted)',
          xLabel: 'percentile',
          yLabel: 'ms',
          series: [
            ['Ringline, callee', calleeSide],
            ['Ringline, caller', callerSide],
            ['Ringline pre-connect, callee', pre.calleeSide],
            ['Ringline pre-connect, caller', pre.callerSide],
            ['Janus VideoCall, callee', videoCall.calleeSide],
            ['Janus VideoCall, caller', videoCall.callerSide],
            ['floor: bare RTCPeerConnection pair', floor],
          ].map(([name, samples]) => ({ name, points: cdf(samples) })),
        },
      },
    ]);
    console.log(`chart: ${CHART}`);
    if (!complete) {
      console.error(`bench: the ${DEADLINE_S} s deadline cut the run short; counts above`);
      process.exitCode = 1;
    }
  } finally {
    await browser?.close();
    await janus?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => clearTimeout(hardStop),
  (error) => {
    console.error(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    process.exit(1);
  },
);
