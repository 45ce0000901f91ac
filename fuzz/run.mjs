// The protocol fuzzer: `npm run fuzz`. Starts the real server (packages/server/dist) in a child
// process and throws frames at it over many WebSocket connections, before and after login, while
// two well-behaved users keep making calls (invite → accept → hangup) every few seconds.
//
//   1. the seeds (fuzz/corpus.mjs) are replayed, each before and after login
//   2. FUZZ_CONNECTIONS connections that never log in, and FUZZ_USERS logged-in users (in pairs
//      that keep a call up between them, plus users named after Object.prototype members), each
//      send batches of generated frames (fuzz/frames.mjs), then a ping: its reply confirms the
//      server took the batch. Closed connections are counted by code and reopened.
//   3. now and then a connection-level abuse (corpus.mjs CHAOS) on a socket of its own
//   4. a crash (the child exits, or stops answering for FUZZ_HANG_S) is counted; the frames in
//      flight are replayed alone to find the culprit, which is shrunk and printed (and written to
//      FUZZ_OUT/findings.json); the server is restarted and fuzzing goes on, up to FUZZ_MAX_CRASHES
//   5. when FUZZ_FRAMES are sent or FUZZ_DEADLINE_S has passed: control calls after the fuzzing,
//      then the tables; exit 1 on any crash or failed control call.
//
// Env: FUZZ_FRAMES (1000000), FUZZ_DEADLINE_S (600), FUZZ_CONNECTIONS (24), FUZZ_USERS (16),
//      FUZZ_BATCH (32), FUZZ_SEED (random), FUZZ_CONTROL_EVERY_S (3), FUZZ_HANG_S (15),
//      FUZZ_MAX_CRASHES (20), FUZZ_SKIP_KNOWN (0; 1 leaves out frames that hit the crashes issue 10
//      reported, to check the rest of the harness against a server that still has them),
//      FUZZ_OUT (results in fuzz/results).
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ServerErrorCode, serverErrorName } from '@ringline/protocol';
import { genUserSig } from '@ringline/server';
import { CHAOS, KNOWN_CRASH_CHAOS, runChaos } from './chaos.mjs';
import { SEEDS, hitsKnownCrash } from './corpus.mjs';
import { FrameSource, PROTO_NAMES, Pools } from './frames.mjs';
import { ServerUnderTest, crashSignature } from './server.mjs';
import { findCulprit, makeReplayer, shrink } from './triage.mjs';
import { Wire } from './wire.mjs';

function int(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`fuzz: ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const FRAMES = int('FUZZ_FRAMES', 1_000_000);
const DEADLINE_S = int('FUZZ_DEADLINE_S', 600);
const CONNECTIONS = int('FUZZ_CONNECTIONS', 24, 0);
const USERS = int('FUZZ_USERS', 16, 0);
const BATCH = int('FUZZ_BATCH', 32);
const SEED = int('FUZZ_SEED', randomBytes(4).readUInt32BE() >>> 1, 0);
const CONTROL_EVERY_S = int('FUZZ_CONTROL_EVERY_S', 3);
const HANG_S = int('FUZZ_HANG_S', 15);
const MAX_CRASHES = int('FUZZ_MAX_CRASHES', 20, 0);
const SKIP_KNOWN = process.env.FUZZ_SKIP_KNOWN === '1';
const OUT = process.env.FUZZ_OUT ?? fileURLToPath(new URL('./results', import.meta.url));
/** How long one step of a control call may take, and a sync may wait (a loaded machine is slow). */
const STEP_MS = 10_000;
/** Control calls run after the fuzzing ends. */
const CONTROL_AFTER = 3;

const SDKAPPID = 1400000001;
const SECRET_KEY = randomBytes(32).toString('hex');
const app = { sdkAppID: SDKAPPID, secretKey: SECRET_KEY };

/**
 * Everything the server under test is started with, in one place. The rate limit is generous so
 * that frames are processed rather than refused; limits other work adds (per-address pre-login
 * rates, connection caps, login deadlines) belong here too, raised as far as the fuzzer needs.
 */
const SERVER_OPTIONS = {
  sdkAppID: SDKAPPID,
  secretKey: SECRET_KEY,
  janus: 'off',
  rateLimit: { burst: 100_000, perSecond: 100_000 },
  // Every fuzzing connection comes from 127.0.0.1: the per-address allowance before login is
  // raised like the per-session one, so that frames reach the parser rather than the bucket.
  limits: { preLoginRateLimit: { burst: 100_000, perSecond: 100_000 } },
};

const started = Date.now();
const deadline = started + DEADLINE_S * 1000;
// The last resort: a run that hangs past every bound ends, as a failure.
setTimeout(
  () => {
    console.error(`fuzz: still running ${DEADLINE_S + 120} s after start; giving up`);
    process.exit(2);
  },
  (DEADLINE_S + 120) * 1000,
).unref();

// ---- counters ------------------------------------------------------------------------------------

const stats = {
  frames: { pre: {}, post: {} },
  sent: 0,
  bytes: 0,
  skipped: 0,
  replies: {},
  errorFrames: {},
  pushes: {},
  closes: {},
  chaos: {},
  syncTimeouts: 0,
  connectFailures: 0,
  logins: { ok: 0, failed: 0 },
  calls: { set: 0 },
  control: {
    during: { ok: 0, failed: 0 },
    after: { ok: 0, failed: 0 },
    /** Calls to users named after Object.prototype members, after the fuzzing. */
    proto: { ok: 0, failed: 0 },
    failures: [],
  },
  crashes: [],
  findings: [],
  seeds: { replayed: 0 },
  rss: {},
  /** Answers that break the protocol's promises (each request one reply; coded errors). */
  misbehaviour: { unanswered: 0, uncoded: 0, internal: 0, samples: [] },
};
const inc = (table, key, by = 1) => (table[key] = (table[key] ?? 0) + by);

const pools = new Pools();
pools.sdkAppID = SDKAPPID;
const source = new FrameSource(pools, SEED, SKIP_KNOWN ? hitsKnownCrash : undefined);
const server = new ServerUnderTest(SERVER_OPTIONS);
const replay = makeReplayer(server, app);
/** Connections open now, whose unconfirmed frames are the suspects of a crash. */
const live = new Set();
/** Unconfirmed frames of connections that closed in the last few seconds (a crash closes them all). */
let orphans = [];
let fuzzing = true;
/** The crash handling under way: nothing else talks to the server meanwhile. */
let triaging = Promise.resolve();
let inTriage = false;

const done = () => !fuzzing || stats.sent >= FRAMES || Date.now() >= deadline;

/** Counts a server message and harvests the IDs in it for the generators. */
function observe(msg) {
  if (msg.type === 'reply' || msg.type === 'error') {
    const e = msg.error;
    if (msg.ok === false || msg.type === 'error') {
      const coded =
        typeof e?.code === 'number' &&
        serverErrorName(e.code) === e.name &&
        typeof e.message === 'string';
      if (!coded) {
        stats.misbehaviour.uncoded++;
        if (stats.misbehaviour.samples.length < 5)
          stats.misbehaviour.samples.push(`uncoded error: ${JSON.stringify(e).slice(0, 200)}`);
      } else if (e.code === ServerErrorCode.INTERNAL) stats.misbehaviour.internal++;
    }
  }
  if (msg.type === 'reply') {
    inc(stats.replies, msg.ok ? 'ok' : String(msg.error?.code));
    const r = msg.result;
    if (r) {
      pools.addID(r.callID);
      pools.addID(r.inviteID);
    }
  } else if (msg.type === 'error') {
    inc(stats.errorFrames, String(msg.error?.code));
  } else {
    inc(stats.pushes, String(msg.type));
    pools.addID(msg.callID);
    pools.addID(msg.inviteID);
  }
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Logs `wire` in as `userID` with a real userSig; true when it worked. */
async function login(wire, userID) {
  const reply = await wire.request(
    'login',
    { sdkAppID: SDKAPPID, userID, userSig: genUserSig({ ...app, userID }), protocol: 1 },
    STEP_MS,
  );
  if (reply?.ok) stats.logins.ok++;
  else stats.logins.failed++;
  return reply?.ok === true;
}

/** Resolves when a server is up and no crash is being handled. */
async function serverFree() {
  for (;;) {
    await triaging;
    await server.ready();
    if (!inTriage) return;
  }
}

async function openWire(onMessage = observe) {
  await serverFree();
  try {
    const wire = await Wire.open(server.url, onMessage);
    live.add(wire);
    void wire.closed.then(({ code }) => {
      live.delete(wire);
      const now = Date.now();
      orphans = orphans.filter((o) => o.t > now - 5000);
      if (wire.inflight.length) orphans.push({ t: now, frames: wire.inflight.splice(0) });
      if (!wire.dropped) inc(stats.closes, String(code));
    });
    return wire;
  } catch {
    stats.connectFailures++;
    await delay(50);
    return undefined;
  }
}

function sendFrame(wire, frame, phase) {
  if (!wire.send(frame.data, frame.binary)) return false;
  wire.inflight.push({ ...frame, phase });
  wire.expectReply(frame.data, frame.binary);
  inc(stats.frames[phase], frame.kind);
  stats.sent++;
  stats.bytes += frame.data.length;
  return true;
}

// ---- fuzzing workers ----------------------------------------------------------------------------

/** A connection that never logs in (its frames may log it in by chance; that is fine). */
async function preLoginWorker() {
  while (!done()) {
    const wire = await openWire();
    if (!wire) continue;
    await fuzzOn(wire, 'pre');
    wire.drop();
  }
}

/**
 * A logged-in user. Pairs (`partner`) keep a call up: the first of the pair invites when not in a
 * call, and every user accepts whatever invitation reaches it, so call-scoped requests reach
 * past "not a member".
 */
async function userWorker(userID, partner) {
  const state = { callID: undefined, inviting: false };
  while (!done()) {
    let wire;
    const onMessage = (msg) => {
      observe(msg);
      if (msg.type === 'invited' && wire) {
        void wire.request('accept', { inviteID: msg.inviteID }, STEP_MS).then((r) => {
          if (r?.ok) {
            state.callID = r.result.callID;
            stats.calls.set++;
          }
        });
      } else if (msg.type === 'callEnded' && msg.callID === state.callID) {
        state.callID = undefined;
      } else if (msg.type === 'userEnter' && !state.callID) {
        state.callID = msg.callID;
      }
    };
    wire = await openWire(onMessage);
    if (!wire) continue;
    if (await login(wire, userID)) {
      await fuzzOn(wire, 'post', async (reply) => {
        // The fuzz logged this session out (or a kick ended it): log in again.
        if (reply.ok === false && reply.error?.code === ServerErrorCode.NOT_LOGGED_IN) {
          state.callID = undefined;
          if (!(await login(wire, userID))) return false;
        }
        if (partner && !state.callID && !state.inviting) {
          state.inviting = true;
          void wire
            .request('invite', { userIDList: [partner], callType: 1 }, STEP_MS)
            .then((r) => r?.ok && (state.callID = r.result.callID))
            .finally(() => (state.inviting = false));
        }
        return true;
      });
    }
    wire.drop();
  }
}

/** Batches of frames, each confirmed by a ping, until the run ends or the connection closes. */
async function fuzzOn(wire, phase, afterSync = async () => true) {
  while (!done() && wire.open) {
    for (let i = 0; i < BATCH && !done(); i++) {
      if (!sendFrame(wire, source.next(phase), phase)) break;
    }
    // Keep what the kernel and ws hold for this connection small: wait for the server to read.
    const reply = await wire.sync(STEP_MS);
    const unanswered = reply ? wire.takeUnanswered() : { n: 0 };
    if (unanswered.n > 0) {
      stats.misbehaviour.unanswered += unanswered.n;
      if (stats.misbehaviour.samples.length < 5)
        stats.misbehaviour.samples.push(
          `${unanswered.n} request(s) of a ${phase}-login batch not answered, e.g. ` +
            String(unanswered.example).slice(0, 300),
        );
    }
    if (!reply) {
      if (wire.open) {
        stats.syncTimeouts++;
        wire.dropped = true;
      }
      return;
    }
    if (!(await afterSync(reply))) return;
  }
}

/** Connection-level abuse (chaos.mjs); remembered for a while as a suspect of a crash. */
let recentChaos = [];
async function chaos(action) {
  await serverFree();
  inc(stats.chaos, action);
  const now = Date.now();
  recentChaos = [...recentChaos.filter((c) => c.t > now - 2000), { t: now, action }];
  await runChaos(action, server.url, () => source.next('pre').data);
}

async function chaosWorker() {
  let i = 0;
  while (!done()) {
    const action = CHAOS[i++ % CHAOS.length];
    if (!(SKIP_KNOWN && KNOWN_CRASH_CHAOS.has(action))) await chaos(action).catch(() => {});
    await delay(200);
  }
}

// ---- control calls and liveness ----------------------------------------------------------------

/**
 * Two users who do nothing wrong: every CONTROL_EVERY_S, A calls B, B accepts, A hangs up. Their
 * IDs are ones the generators cannot produce, so no fuzz frame rings or kicks them.
 */
const control = {
  a: `ctl-a-${randomBytes(4).toString('hex')}`,
  b: `ctl-b-${randomBytes(4).toString('hex')}`,
  wires: undefined,
};

async function controlWires() {
  if (control.wires && control.wires.a.open && control.wires.b.open) return control.wires;
  control.wires?.a.drop();
  control.wires?.b.drop();
  control.wires = undefined;
  await serverFree();
  const a = await Wire.open(server.url);
  const b = await Wire.open(server.url);
  if (!(await login(a, control.a)) || !(await login(b, control.b))) {
    a.drop();
    b.drop();
    throw new Error('control users could not log in');
  }
  control.wires = { a, b };
  return control.wires;
}

/** One invite → accept → hangup; resolves with undefined when it worked, else what failed. */
async function controlCall() {
  let wires;
  try {
    wires = await controlWires();
  } catch (err) {
    return `log in: ${err.message}`;
  }
  return callBetween(wires.a, control.a, wires.b, control.b);
}

/** One invite → accept → hangup from `callerID` on `a` to `calleeID` on `b`; undefined when it worked. */
async function callBetween(a, callerID, b, calleeID) {
  const invited = b.waitFor((m) => m.type === 'invited' && m.sponsor === callerID, STEP_MS);
  const invite = await a.request('invite', { userIDList: [calleeID], callType: 1 }, STEP_MS);
  if (!invite?.ok) return `invite: ${JSON.stringify(invite?.error ?? 'no reply')}`;
  const { callID, inviteID } = invite.result;
  const push = await invited;
  if (push?.inviteID !== inviteID) return 'invited: not pushed to B';
  const entered = a.waitFor((m) => m.type === 'userEnter' && m.callID === callID, STEP_MS);
  const accept = await b.request('accept', { inviteID }, STEP_MS);
  if (!accept?.ok) return `accept: ${JSON.stringify(accept?.error ?? 'no reply')}`;
  if (!(await entered)) return 'userEnter: not pushed to A';
  const ended = b.waitFor((m) => m.type === 'callEnded' && m.callID === callID, STEP_MS);
  const hangup = await a.request('hangup', { callID }, STEP_MS);
  if (!hangup?.ok) return `hangup: ${JSON.stringify(hangup?.error ?? 'no reply')}`;
  if (!(await ended)) return 'callEnded: not pushed to B';
  return undefined;
}

async function recordControl(phase) {
  const failure = await controlCall();
  if (failure === undefined) stats.control[phase].ok++;
  else {
    stats.control[phase].failed++;
    stats.control.failures.push({ phase, at: Math.round((Date.now() - started) / 1000), failure });
    // Start the next call from a clean slate.
    control.wires?.a.drop();
    control.wires?.b.drop();
    control.wires = undefined;
  }
}

/**
 * Every user the fuzzer logged in logs in afresh and out: whatever its sessions left ringing or
 * in a call ends, so that the calls below find their callees free.
 */
async function endFuzzSessions(userIDs) {
  for (const userID of userIDs) {
    const wire = await Wire.open(server.url).catch(() => undefined);
    if (!wire) continue;
    if (await login(wire, userID)) await wire.request('logout', {}, STEP_MS);
    wire.drop();
  }
}

/** A call to each user named after an Object.prototype member (issue 10 #8), each from a new caller. */
async function protoCalls(names) {
  for (const name of names) {
    const callerID = `ctl-p-${randomBytes(4).toString('hex')}`;
    const a = await Wire.open(server.url).catch(() => undefined);
    const b = await Wire.open(server.url).catch(() => undefined);
    let failure = 'could not connect';
    if (a && b) {
      failure =
        (await login(a, callerID)) && (await login(b, name))
          ? await callBetween(a, callerID, b, name)
          : 'log in failed';
    }
    a?.drop();
    b?.drop();
    if (failure === undefined) stats.control.proto.ok++;
    else {
      stats.control.proto.failed++;
      stats.control.failures.push({
        phase: 'proto',
        at: 0,
        failure: `call to ${name}: ${failure}`,
      });
    }
  }
}

async function controlLoop() {
  while (!done()) {
    const next = Date.now() + CONTROL_EVERY_S * 1000;
    await triaging;
    if (done()) break;
    await recordControl('during');
    await delay(Math.max(0, next - Date.now()));
  }
}

/** Pings the server every second on a connection of its own; no answer for HANG_S is a crash. */
async function watchdog() {
  while (!done()) {
    await serverFree();
    const wire = await Wire.open(server.url).catch(() => undefined);
    if (!wire) {
      await delay(200);
      continue;
    }
    while (!done() && wire.open && server.running) {
      const generation = server.generation;
      const reply = await wire.request('ping', {}, HANG_S * 1000);
      if (
        !reply &&
        wire.open &&
        server.running &&
        server.generation === generation &&
        !done() &&
        !inTriage
      ) {
        console.error(`fuzz: the server did not answer a ping for ${HANG_S} s; killing it`);
        server.hung = true;
        server.kill();
      }
      await delay(1000);
    }
    wire.drop();
  }
}

// ---- crashes -----------------------------------------------------------------------------------

const signatures = new Set();

server.on('exit', (info) => {
  // Replays during triage crash the server on purpose.
  if (info.expected || inTriage) return;
  const suspects = [
    ...orphans.filter((o) => o.t > Date.now() - 5000).flatMap((o) => o.frames),
    ...[...live].flatMap((w) => w.inflight.splice(0)),
    ...recentChaos.map((c) => ({
      kind: 'chaos',
      chaos: c.action,
      data: '',
      binary: false,
      phase: 'pre',
    })),
  ];
  orphans = [];
  recentChaos = [];
  const signature = server.hung ? 'unresponsive (killed)' : crashSignature(info.stderr);
  server.hung = false;
  const crash = {
    at: Math.round((Date.now() - started) / 1000),
    framesSent: stats.sent,
    code: info.code,
    signal: info.signal,
    signature,
    stderr: info.stderr.slice(-3000),
    suspects: suspects.length,
  };
  stats.crashes.push(crash);
  console.error(`fuzz: CRASH #${stats.crashes.length} after ${stats.sent} frames: ${signature}`);
  if (stats.crashes.length > MAX_CRASHES) fuzzing = false;
  const fresh = !signatures.has(signature);
  signatures.add(signature);
  inTriage = true;
  triaging = triaging
    .then(() => handleCrash(crash, fresh ? suspects : []))
    .finally(() => (inTriage = false));
});

async function handleCrash(crash, suspects) {
  try {
    if (suspects.length > 0 && fuzzing) {
      const limit = Date.now() + 90_000;
      // A hang has no stack to compare; any crash found for it will do.
      const matches = (stderr) =>
        crash.signature.startsWith('unresponsive') || crashSignature(stderr) === crash.signature;
      const found = await findCulprit(replay, suspects, { matches, deadline: limit });
      if (found) {
        const small = await shrink(replay, found, crashSignature, { deadline: limit + 60_000 });
        const frame = small.frame;
        const finding = {
          ...(frame.chaos && { chaos: frame.chaos }),
          signature: crashSignature(found.stderr),
          phase: frame.phase,
          kind: frame.kind,
          binary: frame.binary,
          bytes: Buffer.byteLength(frame.data),
          frame: typeof frame.data === 'string' ? frame.data : frame.data.toString('base64'),
          originalBytes: Buffer.byteLength(found.frame.data),
          replays: found.tries + small.steps,
        };
        stats.findings.push(finding);
        const shown =
          finding.frame.length > 300
            ? `${finding.frame.slice(0, 150)} … ${finding.frame.slice(-60)}`
            : finding.frame;
        console.error(
          frame.chaos
            ? `fuzz: reproducer: the connection abuse ${frame.chaos}`
            : `fuzz: reproducer (${finding.phase} login, ${finding.bytes} bytes): ${shown}`,
        );
      } else {
        crash.unreproduced = true;
        console.error('fuzz: no single frame in flight crashes the server alone');
      }
    }
    // Always: the control calls after the fuzzing need a server, and every wait ends with one.
    if (!server.running) await server.start();
  } catch (err) {
    console.error(`fuzz: after the crash: ${err.stack ?? err}`);
    fuzzing = false;
  }
}

// ---- run ---------------------------------------------------------------------------------------

async function setUp() {
  await server.start();
  // A group of fuzz users, so that `join` and group invitations reach past "no such group".
  const members = Array.from({ length: USERS }, (_, i) => `fz-${i}`);
  const query = new URLSearchParams({
    sdkappid: String(SDKAPPID),
    identifier: 'administrator',
    usersig: genUserSig({ ...app, userID: 'administrator' }),
  });
  const res = await fetch(`${server.url}/api/admin/groups?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      groupID: 'fz-group',
      members: [...members, ...PROTO_NAMES.slice(0, 3)],
    }),
  }).catch(() => undefined);
  if (res?.ok) pools.groups.push('fz-group');
  pools.users.push(...members, ...PROTO_NAMES.slice(0, 6));
  for (const u of members) pools.sigs.set(u, genUserSig({ ...app, userID: u }));
}

async function replaySeeds() {
  for (const seed of SEEDS) {
    if (SKIP_KNOWN && hitsKnownCrash(seed)) continue;
    for (const phase of ['pre', 'post']) {
      const wire = await openWire();
      if (!wire) continue;
      if (phase === 'post' && !(await login(wire, `seed-${stats.seeds.replayed}`))) {
        wire.drop();
        continue;
      }
      sendFrame(wire, { kind: 'corpus', data: seed.data, binary: seed.binary ?? false }, phase);
      await wire.sync(STEP_MS);
      wire.dropped = true;
      wire.drop();
      stats.seeds.replayed++;
      await triaging;
    }
  }
  for (const action of CHAOS) {
    if (!(SKIP_KNOWN && KNOWN_CRASH_CHAOS.has(action))) await chaos(action).catch(() => {});
  }
  // A crash from the chaos shows a beat later.
  await delay(300);
  await triaging;
}

const mib = (b) => (b === undefined ? '—' : (b / 1024 / 1024).toFixed(1));

function table(title, rows, head) {
  console.log(`\n${title}`);
  const all = [head, ...rows].map((r) => r.map(String));
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const [j, r] of all.entries()) {
    console.log(
      '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '),
    );
    if (j === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

const codeName = (code) =>
  code === 'ok' ? 'ok' : `${code} ${serverErrorName(Number(code)) ?? ''}`.trim();

function report(seconds) {
  const kinds = [
    ...new Set([...Object.keys(stats.frames.pre), ...Object.keys(stats.frames.post)]),
  ].sort();
  table(
    'Frames sent by kind',
    [
      ...kinds.map((k) => [k, stats.frames.pre[k] ?? 0, stats.frames.post[k] ?? 0]),
      ['total', sum(stats.frames.pre), sum(stats.frames.post)],
    ],
    ['kind', 'before login', 'after login'],
  );
  const codes = [
    ...new Set([...Object.keys(stats.replies), ...Object.keys(stats.errorFrames)]),
  ].sort();
  table(
    'Answers by code',
    codes.map((c) => [codeName(c), stats.replies[c] ?? 0, stats.errorFrames[c] ?? 0]),
    ['code', 'replies', 'error frames'],
  );
  table(
    'Connections closed by the server, by close code',
    Object.entries(stats.closes).map(([c, n]) => [c, n]),
    ['code', 'closes'],
  );
  table(
    'Run',
    [
      ['frames sent', stats.sent],
      ['frames/s', Math.round(stats.sent / seconds)],
      ['MiB sent', mib(stats.bytes)],
      ['seconds', seconds.toFixed(1)],
      ['seed (FUZZ_SEED)', SEED],
      ['seeds replayed', stats.seeds.replayed],
      ['frames skipped (FUZZ_SKIP_KNOWN)', source.skipped],
      [
        'connection abuses',
        Object.entries(stats.chaos)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '—',
      ],
      ['pushes received', sum(stats.pushes)],
      ['logins ok / failed', `${stats.logins.ok} / ${stats.logins.failed}`],
      ['fuzz calls set up', stats.calls.set],
      ['ping timeouts (connection dropped)', stats.syncTimeouts],
      ['connect failures', stats.connectFailures],
      ['server RSS before (MiB)', mib(stats.rss.before)],
      ['server RSS after (MiB)', mib(stats.rss.after)],
      ['server RSS peak (MiB)', mib(stats.rss.peak)],
      [
        'control calls during: ok / failed',
        `${stats.control.during.ok} / ${stats.control.during.failed}`,
      ],
      [
        'control calls after: ok / failed',
        `${stats.control.after.ok} / ${stats.control.after.failed}`,
      ],
      [
        'calls to __proto__ & co: ok / failed',
        `${stats.control.proto.ok} / ${stats.control.proto.failed}`,
      ],
      ['requests left unanswered', stats.misbehaviour.unanswered],
      ['errors without a registered code', stats.misbehaviour.uncoded],
      ['INTERNAL (50000) answers', stats.misbehaviour.internal],
      ['CRASHES', stats.crashes.length],
    ],
    ['', ''],
  );
  for (const m of stats.misbehaviour.samples) console.log(`  misbehaviour: ${m}`);
  for (const f of stats.control.failures.slice(0, 10)) {
    console.log(`  control call failed (${f.phase}, t=${f.at} s): ${f.failure}`);
  }
  for (const [i, c] of stats.crashes.entries()) {
    console.log(`\n  crash ${i + 1} at t=${c.at} s after ${c.framesSent} frames: ${c.signature}`);
  }
  for (const f of stats.findings) {
    if (f.chaos) {
      console.log(`\n  reproducer (connection abuse ${f.chaos}): ${f.signature}`);
      continue;
    }
    console.log(`\n  reproducer (${f.phase} login, ${f.bytes} bytes, ${f.kind}): ${f.signature}`);
    console.log(
      `    ${f.frame.length > 400 ? `${f.frame.slice(0, 200)} … ${f.frame.slice(-80)}` : f.frame}`,
    );
  }
  if (stats.logged && Object.keys(stats.logged).length > 0) {
    table(
      'What the server logged (warn/error)',
      Object.entries(stats.logged).map(([m, e]) => [
        m.slice(0, 70),
        e.n,
        (e.sample ?? '').slice(0, 70),
      ]),
      ['message', 'n', 'first error'],
    );
  }
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

async function main() {
  await setUp();
  stats.rss.before = (await server.memory())?.rss;
  console.log(
    `fuzz: server pid ${server.pid} at ${server.url}; ${FRAMES} frames or ${DEADLINE_S} s, ` +
      `${CONNECTIONS} connections before login, ${USERS + 5} users, seed ${SEED}` +
      (SKIP_KNOWN ? ', known crashes skipped' : ''),
  );
  await replaySeeds();

  const userIDs = Array.from({ length: USERS }, (_, i) => `fz-${i}`);
  // The names issue 10 #8 found breaking lookups.
  const protoUsers = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
  const workers = [
    ...Array.from({ length: CONNECTIONS }, () => preLoginWorker()),
    ...userIDs.map((u, i) => userWorker(u, i % 2 === 0 ? userIDs[i + 1] : undefined)),
    // Users named after Object.prototype members (issue 10 #8), calling each other.
    ...protoUsers.map((u, i, all) => userWorker(u, i % 2 === 0 ? all[i + 1] : undefined)),
    chaosWorker(),
    controlLoop(),
    watchdog(),
  ];
  const progress = setInterval(async () => {
    const m = await server.memory();
    if (m) stats.rss.peak = Math.max(stats.rss.peak ?? 0, m.hwm);
    const s = (Date.now() - started) / 1000;
    console.log(
      `  t=${s.toFixed(0)} s  frames ${stats.sent}  (${Math.round(stats.sent / s)}/s)  ` +
        `rss ${mib(m?.rss)} MiB  control ok ${stats.control.during.ok} failed ${stats.control.during.failed}  ` +
        `crashes ${stats.crashes.length}`,
    );
  }, 10_000);
  await Promise.all(workers);
  clearInterval(progress);
  const seconds = (Date.now() - started) / 1000;
  for (const w of [...live]) {
    if (w !== control.wires?.a && w !== control.wires?.b) w.drop();
  }
  await triaging;
  if (!server.running) await server.start().catch(() => {});
  for (let i = 0; i < CONTROL_AFTER; i++) await recordControl('after');
  await endFuzzSessions([...userIDs, ...protoUsers]);
  await protoCalls(protoUsers);
  const m = await server.memory();
  stats.rss.after = m?.rss;
  if (m) stats.rss.peak = Math.max(stats.rss.peak ?? 0, m.hwm);
  stats.logged = await server.logged();
  control.wires?.a.drop();
  control.wires?.b.drop();
  await server.stop();

  report(seconds);
  const results = {
    seed: SEED,
    seconds,
    framesPerSecond: stats.sent / seconds,
    serverOptions: { ...SERVER_OPTIONS, secretKey: '(random)' },
    ...stats,
    skipped: source.skipped,
  };
  await mkdir(OUT, { recursive: true });
  await writeFile(`${OUT}/fuzz.json`, JSON.stringify(results, null, 2));
  await writeFile(`${OUT}/findings.json`, JSON.stringify(stats.findings, null, 2));
  console.log(`\nresults: ${OUT}/fuzz.json`);
  const failed =
    stats.crashes.length > 0 ||
    stats.control.during.failed > 0 ||
    stats.control.after.failed > 0 ||
    stats.control.proto.failed > 0;
  process.exit(failed ? 1 : 0);
}

main().catch(async (err) => {
  console.error(`fuzz: ${err.stack ?? err}`);
  await server.stop().catch(() => {});
  process.exit(2);
});
