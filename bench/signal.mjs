// Signalling capacity benchmark: how many logged-in users one Ringline node holds, and how fast it
// sets up calls, measured side by side with a raw `ws` relay (bench/signal/relay-server.mjs) in the
// same run. Run with `npm run bench:signal` (builds, then runs this in the test network namespace,
// so every socket is on loopback inside it).
//
// Processes: this one orchestrates; the server under test runs in its own process
// (signal/server-process.mjs, --expose-gc so that memory is read after a full GC); the load comes
// from G generator processes (signal/load-process.mjs), each holding its share of the sessions over
// source addresses 127.0.0.2, .3, … (one address has only so many ports).
//
// For each kind (relay first, then ringline):
//   1. sessions: open N (real userSigs for ringline; a hello for the relay), memory at 4 steps
//   2. idle: server CPU for IDLE_S with every session pinging as the SDK does (ringline only)
//   3. calls (ringline): invite → INVITED → accept → hangup at each rate of BENCH_RATES for
//      BENCH_PHASE_S; call() → INVITED latency, set-ups/s achieved, server CPU per set-up (idle
//      CPU subtracted; whole process, and its main thread alone, whose cost bounds what one
//      process can do), host steal (/proc/stat), errors
//   4. messages: BENCH_MSG_RATE messages/s between call members (ringline: `signal` notifications;
//      relay: a relay frame) for BENCH_PHASE_S; server CPU per message (idle CPU, read again just
//      before, subtracted), latency
// Prints tables and ratios; writes bench/results/signal.json and the charts
// docs/img/signal-*.png. BENCH_PROFILE=1 also profiles each server during each phase (V8 CPU
// profiles in bench/results/profile/, loadable in Chrome DevTools) and prints their top functions.
//
// Cluster: `--nodes N` runs Ringline as N node processes sharing one redis-server (started by the
// bench, loopback, no persistence), each generator spreading its sessions over all the nodes (user i
// on a node picked as a balancer would, so most calls join users of two nodes). No nginx: it would
// take CPU from the same two cores and add a hop of its own, while the question is what the nodes
// and Redis cost. Each process may hold only so many open files (sockets), so the sessions asked
// for are capped at that times the nodes, and there are enough generators to hold them. Reported
// besides: Redis round trips per set-up (counted by the nodes: a command, a pipeline or a script
// each once), Redis commands per set-up (INFO commandstats delta / set-ups: a script's commands
// each count), Redis CPU per set-up, and CPU per set-up of all nodes plus Redis. The
// relay baseline is still one process, holding the sessions one process can. `--sessions` runs
// only the sessions and idle phases (e.g. 100,000 sessions over 6 nodes).
//
// Env: BENCH_SESSIONS (100000), BENCH_RATES (500,1000,2000,3000), BENCH_PHASE_S (10),
//      BENCH_MSG_RATE (10000), BENCH_GENERATORS (2), BENCH_PORTS_PER_ADDRESS (auto),
//      BENCH_IDLE_S (5), BENCH_DEADLINE_S (900), BENCH_PROFILE (0), BENCH_OUT (results in
//      bench/results, charts in docs/img), BENCH_STATE (one node's --state: sqlite, the server's
//      default, or memory).
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderCharts } from './lib/chart.mjs';
import { startRedis } from './lib/redis.mjs';
import { exitAfter, fail, percentile, positiveInt, toPositiveInt } from './lib/util.mjs';
import { summarizeProfile } from './signal/profile.mjs';

let args;
try {
  args = parseArgs({
    options: { nodes: { type: 'string' }, sessions: { type: 'boolean', default: false } },
  }).values;
} catch (err) {
  fail(`${err.message} (usage: signal.mjs [--nodes N] [--sessions])`);
}
/** Ringline nodes sharing Redis; undefined = one process without Redis (the single-node bench). */
const NODES = args.nodes === undefined ? undefined : toPositiveInt(args.nodes, '--nodes');
/** Only open the sessions and measure them idle. */
const SESSIONS_ONLY = args.sessions;

const SESSIONS = positiveInt('BENCH_SESSIONS', 100_000);
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000,3000').split(',').map(Number);
const PHASE_S = positiveInt('BENCH_PHASE_S', 10);
const MSG_RATE = positiveInt('BENCH_MSG_RATE', 10_000);
const DEADLINE_S = positiveInt('BENCH_DEADLINE_S', 900);
const PROFILE = process.env.BENCH_PROFILE === '1';
const IDLE_S = positiveInt('BENCH_IDLE_S', 5);
/** Server ping interval (the server's default; the generators ping at it like the SDK). */
const PING_INTERVAL_S = 15;
/** Call pairs used by the message phase. */
const MSG_PAIRS = 500;
const SDKAPPID = 1400000001;
const SECRET_KEY = randomBytes(32).toString('hex');
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
/** BENCH_OUT puts results, profiles and charts in one folder instead (for the bench's own test). */
const OUT = process.env.BENCH_OUT;
const RESULTS_DIR = OUT ?? here('./results');
const RESULTS = `${RESULTS_DIR}/signal${NODES === undefined ? '' : `-nodes${NODES}`}${SESSIONS_ONLY ? '-sessions' : ''}.json`;
const PROFILE_DIR = `${RESULTS_DIR}/profile`;
const CHART_DIR = OUT ?? here('../docs/img');

if (RATES.some((r) => !Number.isFinite(r) || r <= 0)) fail(`BENCH_RATES: positive numbers only`);

exitAfter(DEADLINE_S);

function stats(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
  };
}

function mergeCounts(list) {
  const out = {};
  for (const m of list) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const sum = (list) => list.reduce((a, b) => a + b, 0);

// ---- limits of this machine ------------------------------------------------------------------

/** The soft limit on open files (every socket is one), which children inherit. */
async function openFileLimit() {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

/**
 * Widens the ephemeral port range when allowed (it is, as root of our own network namespace). Not
 * below 10081: the namespace may be the test run's, where later servers listen on port 0, and
 * Chromium refuses every port up to 10080 that it counts unsafe (6665–6669, 6000, 5060, …).
 */
async function portsPerAddress() {
  const file = '/proc/sys/net/ipv4/ip_local_port_range';
  if (process.env.RINGLINE_NETNS === '1') await writeFile(file, '10081 65535').catch(() => {});
  const [lo, hi] = (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number);
  return Math.min(positiveInt('BENCH_PORTS_PER_ADDRESS', hi - lo), hi - lo) - 1000;
}

// ---- child processes -------------------------------------------------------------------------

/** A child that answers IPC requests; `ask(cmd)` resolves with its reply. */
function child(script, args, execArgv, env = process.env) {
  const proc = fork(here(script), args, {
    execArgv,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextID = 1;
  const waiting = new Map();
  const typed = new Map();
  proc.on('message', (msg) => {
    const w = msg.id !== undefined ? waiting.get(msg.id) : typed.get(msg.type);
    if (!w) return;
    if (msg.id !== undefined) waiting.delete(msg.id);
    else typed.delete(msg.type);
    if (msg.ok === false) w.reject(new Error(msg.error));
    else w.resolve(msg);
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.once('exit', (code) => {
    for (const w of [...waiting.values(), ...typed.values()])
      w.reject(new Error(`${script} exited with ${code}`));
  });
  return {
    proc,
    exited,
    /** A command to a generator (replies carry the id). */
    ask(cmd, fields = {}) {
      const id = nextID++;
      if (!proc.connected) return Promise.reject(new Error(`${script} is gone`));
      proc.send({ id, cmd, ...fields });
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    /** A question to the server process (replies carry the type). */
    query(type, fields = {}) {
      proc.send({ type, ...fields });
      return this.next(type);
    },
    next(type) {
      return new Promise((resolve, reject) => typed.set(type, { resolve, reject }));
    },
  };
}

/** Machine-wide CPU counters (jiffies) from /proc/stat: total, and stolen by the host. */
async function machineCpu() {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0];
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: sum(fields), steal: fields[7] ?? 0 };
}
/** Percent of the machine's CPU time the hypervisor gave to others since `before`. */
async function stealPctSince(before) {
  const now = await machineCpu();
  const total = now.total - before.total;
  return total > 0 ? ((now.steal - before.steal) / total) * 100 : 0;
}

/**
 * CPU seconds the server has used (all threads, and its main thread alone), and its event-loop
 * delay since the last reading.
 */
async function serverCpu(servers) {
  const readings = await Promise.all(servers.map((s) => s.query('cpu')));
  return {
    cpuS: sum(readings.map((r) => (r.user + r.system) / 1e6)),
    // The nodes' main threads together (each node's is what bounds that node).
    loopThreadS: sum(readings.map((r) => r.loopThreadS)),
    loop: { maxMs: Math.max(...readings.map((r) => r.loop.maxMs)) },
    redisRoundTrips: sum(readings.map((r) => r.redisRoundTrips)),
  };
}

/** Memory of all the servers after a full GC each: RSS and heap summed. */
async function serverMemory(servers) {
  const readings = await Promise.all(servers.map((s) => s.query('memory')));
  return { rss: sum(readings.map((m) => m.rss)), heapUsed: sum(readings.map((m) => m.heapUsed)) };
}

/** The server's CPU per second of wall time over IDLE_S while the sessions only keep alive. */
async function idleCpu(servers) {
  const c0 = await serverCpu(servers);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const c1 = await serverCpu(servers);
  const s = (performance.now() - t0) / 1000;
  return {
    cpuPerS: (c1.cpuS - c0.cpuS) / s,
    loopThreadPerS: (c1.loopThreadS - c0.loopThreadS) / s,
  };
}

// ---- one kind ----------------------------------------------------------------------------------

async function runKind(kind, plan, redis) {
  // The relay baseline is always one process; Ringline is NODES nodes on `redis`, or one alone.
  const nodeCount = kind === 'ringline' && redis ? NODES : 1;
  const servers = Array.from({ length: nodeCount }, (_, i) =>
    child('./signal/server-process.mjs', [kind], ['--expose-gc'], {
      ...process.env,
      BENCH_SDKAPPID: String(SDKAPPID),
      BENCH_SECRET_KEY: SECRET_KEY,
      ...(kind === 'ringline' && redis
        ? { BENCH_REDIS: redis.url, BENCH_NODE_ID: `node-${i + 1}` }
        : {}),
    }),
  );
  const readies = await Promise.all(servers.map((s) => s.next('ready')));
  const server = servers[0];
  const urls = readies.map((r) => `ws://127.0.0.1:${r.port}/ws`);
  const gens = plan.shares.map(() => child('./signal/load-process.mjs', [], []));
  const result = { kind, nodes: nodeCount, memory: [], errors: {}, profiles: {} };
  /** Redis's counters now, when this kind runs on it. */
  const redisStats = async () => (kind === 'ringline' && redis ? redis.stats() : undefined);
  /** Runs `fn` with the server profiled (BENCH_PROFILE=1) into PROFILE_DIR/<kind>-<name>. */
  const profiled = async (name, fn) => {
    if (!PROFILE) return fn();
    await server.query('profileStart');
    const out = await fn();
    const file = `${PROFILE_DIR}/${kind}-${name}.cpuprofile`;
    await server.query('profileStop', { file });
    result.profiles[name] = {
      file,
      top: await summarizeProfile(file, 20),
    };
    return out;
  };
  try {
    // 1. sessions, opened in four steps with a memory reading after each
    const base = {
      rss: sum(readies.map((r) => r.memory.rss)),
      heapUsed: sum(readies.map((r) => r.memory.heapUsed)),
    };
    const redisBase = await redisStats();
    result.memory.push({ sessions: 0, rss: base.rss, heapUsed: base.heapUsed });
    let opened = 0;
    let loginMs = 0;
    for (let step = 1; step <= 4; step++) {
      const t0 = performance.now();
      const open = () =>
        Promise.all(
          gens.map((g, i) => {
            const [from, to] = plan.shares[i];
            const size = to - from;
            return g.ask('open', {
              kind,
              urls,
              from: from + Math.floor(((step - 1) * size) / 4),
              to: from + Math.floor((step * size) / 4),
              addresses: plan.addresses,
              concurrency: 200,
              sdkAppID: SDKAPPID,
              secretKey: SECRET_KEY,
              pingInterval: PING_INTERVAL_S,
            });
          }),
        );
      // The last quarter of the logins, profiled when asked.
      const replies = await (step === 4 ? profiled('logins', open) : open());
      loginMs += performance.now() - t0;
      opened = sum(replies.map((r) => r.sessions));
      result.errors = mergeCounts([result.errors, ...replies.map((r) => r.errors)]);
      const m = await serverMemory(servers);
      result.memory.push({ sessions: opened, rss: m.rss, heapUsed: m.heapUsed });
      console.log(
        `bench: ${kind}: ${opened} sessions, rss ${(m.rss / 2 ** 20).toFixed(0)} MiB` +
          (nodeCount > 1 ? ` over ${nodeCount} nodes` : ''),
      );
    }
    const last = result.memory.at(-1);
    result.sessions = opened;
    result.loginPerS = opened / (loginMs / 1000);
    result.rssPerSessionKiB = (last.rss - base.rss) / opened / 1024;
    result.heapPerSessionKiB = (last.heapUsed - base.heapUsed) / opened / 1024;
    const redisAfter = await redisStats();
    if (redisAfter) {
      result.redis = {
        usedMemoryPerSessionB: (redisAfter.usedMemory - redisBase.usedMemory) / opened,
        rss: redisAfter.rss,
        commandsPerLogin: (redisAfter.commands - redisBase.commands) / opened,
      };
    }

    // 2. idle: what holding the sessions costs (pings) — subtracted from the phases' CPU
    const idle = await idleCpu(servers);
    result.idleCpuPerS = idle.cpuPerS;
    result.idleLoopThreadPerS = idle.loopThreadPerS;

    // 3. call set-ups at each rate
    if (SESSIONS_ONLY) return result;
    if (kind === 'ringline') {
      result.calls = [];
      for (const rate of RATES) {
        const c1 = await serverCpu(servers);
        const r1 = await redisStats();
        const m1 = await machineCpu();
        const replies = await profiled(`calls-${rate}`, () =>
          Promise.all(
            gens.map((g, i) => g.ask('calls', { rate: rate * plan.weights[i], seconds: PHASE_S })),
          ),
        );
        const c2 = await serverCpu(servers);
        const r2 = await redisStats();
        const cpu = c2.cpuS - c1.cpuS;
        const loopThread = c2.loopThreadS - c1.loopThreadS;
        const stealPct = await stealPctSince(m1);
        const ms = Math.max(...replies.map((r) => r.ms));
        const completed = sum(replies.map((r) => r.completed));
        const row = {
          rate,
          completed,
          achievedPerS: completed / (ms / 1000),
          invite: stats(replies.flatMap((r) => r.inviteMs)),
          setup: stats(replies.flatMap((r) => r.setupMs)),
          errors: mergeCounts(replies.map((r) => r.errors)),
          serverCpuPct: (cpu / (ms / 1000)) * 100,
          serverCpuMsPerSetup: completed
            ? ((cpu - result.idleCpuPerS * (ms / 1000)) / completed) * 1000
            : null,
          loopThreadMsPerSetup: completed
            ? ((loopThread - result.idleLoopThreadPerS * (ms / 1000)) / completed) * 1000
            : null,
          ...(r1 && {
            redisCommandsPerSetup: completed ? (r2.commands - r1.commands) / completed : null,
            redisRoundTripsPerSetup: completed
              ? (c2.redisRoundTrips - c1.redisRoundTrips) / completed
              : null,
            redisCpuMsPerSetup: completed ? ((r2.cpuS - r1.cpuS) / completed) * 1000 : null,
            redisCpuPct: ((r2.cpuS - r1.cpuS) / (ms / 1000)) * 100,
          }),
          stealPct,
          generatorCpuPct: (sum(replies.map((r) => r.cpuS)) / (ms / 1000)) * 100,
          serverLoopDelayMs: c2.loop,
          generatorLagMs: Math.max(...replies.map((r) => r.maxLagMs)),
        };
        result.calls.push(row);
        console.log(
          `bench: ${rate}/s offered: ${row.achievedPerS.toFixed(0)}/s done, invite p99 ${row.invite.p99?.toFixed(1)} ms, errors ${JSON.stringify(row.errors)}`,
        );
      }
    }

    // 4. messages routed to a user, the per-message cost. The CPU is read around the messages
    // alone: the pairs' calls are set up before and ended after, and a full GC first clears what
    // the call phase left (ringline's heap would otherwise be collected on the messages' time).
    const paired = await Promise.all(
      gens.map((g, i) => g.ask('pairUp', { pairCount: Math.ceil(MSG_PAIRS * plan.weights[i]) })),
    );
    await serverMemory(servers);
    // The idle cost again, just before: a disturbed reading would skew the subtraction below.
    const idleNow = await idleCpu(servers);
    const c3 = await serverCpu(servers);
    const m3 = await machineCpu();
    const t3 = performance.now();
    const replies = await profiled('messages', () =>
      Promise.all(
        gens.map((g, i) => g.ask('relay', { rate: MSG_RATE * plan.weights[i], seconds: PHASE_S })),
      ),
    );
    const cpu = (await serverCpu(servers)).cpuS - c3.cpuS;
    const wallS = (performance.now() - t3) / 1000;
    const stealPct = await stealPctSince(m3);
    const unpaired = await Promise.all(gens.map((g) => g.ask('pairDown')));
    const ms = Math.max(...replies.map((r) => r.ms));
    const delivered = sum(replies.map((r) => r.delivered));
    result.messages = {
      rate: MSG_RATE,
      delivered,
      achievedPerS: delivered / (ms / 1000),
      idleCpuPerS: idleNow.cpuPerS,
      stealPct,
      cpuUsPerMessage: ((cpu - idleNow.cpuPerS * wallS) / delivered) * 1e6,
      latency: stats(replies.flatMap((r) => r.latencyMs)),
      errors: mergeCounts([...paired, ...replies, ...unpaired].map((r) => r.errors)),
    };
  } finally {
    await Promise.allSettled(gens.map((g) => g.ask('close')));
    for (const g of gens) if (g.proc.connected) g.proc.disconnect();
    for (const s of servers) if (s.proc.connected) s.proc.send({ type: 'stop' });
    await Promise.all([...servers.map((s) => s.exited), ...gens.map((g) => g.exited)]);
  }
  return result;
}

// ---- plan, run, report -------------------------------------------------------------------------

const fdLimit = await openFileLimit();
const ports = await portsPerAddress();
// Each socket is one file; keep some for everything else a process opens.
const perProcess = fdLimit - 500;
/** Sessions [0, count) over `generators` processes, from as many source addresses as needed. */
function makePlan(count, generators) {
  const shares = Array.from({ length: generators }, (_, i) => [
    Math.floor((i * count) / generators),
    Math.floor(((i + 1) * count) / generators),
  ]);
  return {
    sessions: count,
    shares,
    weights: shares.map(([a, b]) => (b - a) / count),
    addresses: Array.from({ length: Math.ceil(count / ports) }, (_, i) => `127.0.0.${i + 2}`),
  };
}
// One server process holds at most `perProcess` sessions; N nodes hold N times that.
// Sessions land on nodes by a hash, a little unevenly: 5 % of room for that.
const sessions = Math.min(
  SESSIONS,
  NODES === undefined ? perProcess : Math.floor(perProcess * NODES * 0.95),
);
// A generator holds as many sockets as a server can, so two suffice for one server; more nodes
// need more of them.
const generatorCount = Math.max(
  positiveInt('BENCH_GENERATORS', 2),
  Math.ceil(sessions / perProcess),
);
const plan = makePlan(sessions, generatorCount);
// The relay baseline is one process: it holds what one process can.
const relaySessions = Math.min(sessions, perProcess);
const relayPlan =
  relaySessions === sessions
    ? plan
    : makePlan(relaySessions, Math.max(2, Math.ceil(relaySessions / perProcess)));
console.log(
  `bench: ${sessions} sessions${sessions < SESSIONS ? ` (of ${SESSIONS} asked: this machine allows ${fdLimit} open files per process)` : ''}` +
    `${NODES === undefined ? '' : ` over ${NODES} Ringline node${NODES > 1 ? 's' : ''} sharing one redis-server`}` +
    `${relaySessions < sessions ? ` (the one-process relay baseline: ${relaySessions})` : ''}, ` +
    `${generatorCount} generator processes, source addresses ${plan.addresses.join(' ')}`,
);

if (PROFILE) {
  await rm(PROFILE_DIR, { recursive: true, force: true });
  await mkdir(PROFILE_DIR, { recursive: true });
}
const relay = await runKind('relay', relayPlan);
const redis = NODES === undefined ? undefined : await startRedis();
let ringline;
try {
  ringline = await runKind('ringline', plan, redis);
} finally {
  await redis?.close();
}

const f = (v, d = 1) => (v === null || v === undefined ? '—' : v.toFixed(d));
const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '—');
console.log(
  `\nSessions (${sessions} held; memory after a full GC, per session = growth / sessions` +
    `${ringline.nodes > 1 ? `, Ringline's summed over its ${ringline.nodes} nodes` : ''})`,
);
console.table(
  [relay, ringline].map((r) => ({
    kind: r.kind,
    nodes: r.nodes,
    sessions: r.sessions,
    'login /s': Math.round(r.loginPerS),
    'RSS KiB/session': f(r.rssPerSessionKiB, 2),
    'heap KiB/session': f(r.heapPerSessionKiB, 2),
    'idle CPU %': f(r.idleCpuPerS * 100),
    ...(r.redis && {
      'Redis bytes/session': f(r.redis.usedMemoryPerSessionB, 0),
      'Redis cmds/login': f(r.redis.commandsPerLogin, 1),
    }),
    errors: JSON.stringify(r.errors),
  })),
);
/** The highest rate done with INVITED p99 ≤ 50 ms and no errors: the headline figure. */
const atTarget = (calls) =>
  calls
    .filter(
      (c) => c.invite.p99 !== null && c.invite.p99 <= 50 && Object.keys(c.errors).length === 0,
    )
    .reduce((best, c) => Math.max(best, c.achievedPerS), 0);
if (SESSIONS_ONLY) {
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(
    RESULTS,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        asked: SESSIONS,
        fdLimit,
        nodes: NODES,
        plan,
        relay,
        ringline,
      },
      null,
      2,
    ),
  );
  console.log(`bench: results in ${RESULTS}`);
  process.exit(0);
}
console.log(`Call set-ups (invite → INVITED → accept → hangup), ${PHASE_S} s per rate`);
console.table(
  ringline.calls.map((c) => ({
    'offered /s': c.rate,
    'done /s': Math.round(c.achievedPerS),
    'INVITED p50 ms': f(c.invite.p50),
    'p95 ms': f(c.invite.p95),
    'p99 ms': f(c.invite.p99),
    'set-up p99 ms': f(c.setup.p99),
    'server CPU %': f(c.serverCpuPct, 0),
    'server CPU ms/set-up': f(c.serverCpuMsPerSetup, 3),
    ...(c.redisCommandsPerSetup !== undefined && {
      'Redis round trips/set-up': f(c.redisRoundTripsPerSetup, 1),
      'Redis cmds/set-up': f(c.redisCommandsPerSetup, 1),
      'Redis CPU ms/set-up': f(c.redisCpuMsPerSetup, 3),
      'Redis CPU %': f(c.redisCpuPct, 0),
      'nodes+Redis CPU ms/set-up':
        c.serverCpuMsPerSetup === null ? '—' : f(c.serverCpuMsPerSetup + c.redisCpuMsPerSetup, 3),
    }),
    'main thread ms/set-up': f(c.loopThreadMsPerSetup, 3),
    // Each node's main thread is its own: N of them share the work.
    'one-thread ceiling /s': c.loopThreadMsPerSetup
      ? f((ringline.nodes * 1000) / c.loopThreadMsPerSetup, 0)
      : '—',
    'generators CPU %': f(c.generatorCpuPct, 0),
    'server loop delay max ms': f(c.serverLoopDelayMs.maxMs, 0),
    'host steal %': f(c.stealPct, 1),
    errors: JSON.stringify(c.errors),
  })),
);
console.log(
  `Set-ups/s done at INVITED p99 ≤ 50 ms with no errors: ${Math.round(atTarget(ringline.calls))}` +
    ` (${ringline.nodes} node${ringline.nodes > 1 ? 's' : ''}${redis ? ' + Redis' : ', no Redis'})`,
);
ringline.setupsPerSAtTarget = atTarget(ringline.calls);
console.log(
  `Messages routed to a user at ${MSG_RATE}/s for ${PHASE_S} s (server CPU per message, idle subtracted)`,
);
console.table(
  [relay, ringline].map((r) => ({
    kind: r.kind,
    delivered: r.messages.delivered,
    'idle CPU % before': f(r.messages.idleCpuPerS * 100),
    'CPU µs/msg': f(r.messages.cpuUsPerMessage, 2),
    'p50 ms': f(r.messages.latency.p50, 2),
    'p99 ms': f(r.messages.latency.p99, 2),
    // A server that falls behind reads and writes many frames at a time, which makes each one
    // cheaper: compare per-message figures only from runs where the host took little.
    'host steal %': f(r.messages.stealPct, 1),
    errors: JSON.stringify(r.messages.errors),
  })),
);
console.log('Ringline / relay');
console.table({
  'memory per session (RSS)': ratio(ringline.rssPerSessionKiB, relay.rssPerSessionKiB),
  'CPU per message': ratio(ringline.messages.cpuUsPerMessage, relay.messages.cpuUsPerMessage),
  'message latency p50': ratio(ringline.messages.latency.p50, relay.messages.latency.p50),
  'message latency p99': ratio(ringline.messages.latency.p99, relay.messages.latency.p99),
});
for (const r of [relay, ringline]) {
  for (const [name, p] of Object.entries(r.profiles)) {
    console.log(`CPU profile of the ${r.kind} server during ${name}: ${p.file}; top self time:`);
    console.table(p.top);
  }
}

await mkdir(RESULTS_DIR, { recursive: true });
await writeFile(
  RESULTS,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      asked: SESSIONS,
      fdLimit,
      nodes: NODES,
      plan,
      relay,
      ringline,
    },
    null,
    2,
  ),
);
// The charts in the docs are of the single-node run; a --nodes run leaves them alone.
if (NODES !== undefined) {
  console.log(`bench: results in ${RESULTS}`);
  process.exit(0);
}
await renderCharts([
  {
    pngPath: `${CHART_DIR}/signal-latency.png`,
    chart: {
      title: `call() → INVITED latency vs. offered call set-up rate (${ringline.sessions} sessions held)`,
      xLabel: 'offered set-ups per second',
      yLabel: 'ms (log scale)',
      yLog: true,
      series: ['p50', 'p95', 'p99'].map((p) => ({
        name: p,
        points: ringline.calls
          .filter((c) => c.invite[p] !== null)
          .map((c) => [c.rate, c.invite[p]]),
      })),
      hLines: [{ y: 50, label: 'target p99 50 ms' }],
    },
  },
  {
    pngPath: `${CHART_DIR}/signal-memory.png`,
    chart: {
      title: 'server memory per session (RSS growth / sessions, after GC)',
      xLabel: 'sessions held',
      yLabel: 'KiB per session',
      series: [relay, ringline].map((r) => ({
        name: r.kind === 'relay' ? 'raw ws relay (baseline)' : 'Ringline',
        points: r.memory
          .slice(1)
          .map((m) => [m.sessions, (m.rss - r.memory[0].rss) / m.sessions / 1024]),
      })),
      hLines: [{ y: 16, label: 'target 16 KiB' }],
    },
  },
]);
console.log(`bench: results in ${RESULTS}, charts in ${CHART_DIR}/signal-*.png`);
