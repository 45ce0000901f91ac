// Child process of bench/signal.mjs: runs one signalling server (`ringline` or the raw `relay`
// baseline) on 127.0.0.1 and answers the parent's questions over IPC: memory after a full GC, CPU
// time used (whole process and main thread), stop. Run with --expose-gc so that memory readings
// are of live objects only.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline, Redis } from 'ioredis';
import { startServer } from '@ringline/server';
import { startRelay } from './relay-server.mjs';

const kind = process.argv[2];
if (kind !== 'ringline' && kind !== 'relay') {
  console.error(`server-process: kind must be ringline or relay, got ${kind}`);
  process.exit(2);
}

/**
 * Round trips to Redis so far: every command ioredis sends on its own, and every pipeline (or
 * MULTI) once, however many commands it holds. A script (EVALSHA) is one, whatever it calls.
 */
let redisRoundTrips = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, stream, ...rest) {
  // A pipeline hands its commands over with the stream that batches them.
  if (stream === undefined) redisRoundTrips++;
  return sendCommand.call(this, command, stream, ...rest);
};
const exec = Pipeline.prototype.exec;
Pipeline.prototype.exec = function (...args) {
  redisRoundTrips++;
  return exec.apply(this, args);
};

const dataDir = await mkdtemp(join(tmpdir(), 'ringline-bench-signal-'));
const server =
  kind === 'ringline'
    ? await startServer({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        sdkAppID: Number(process.env.BENCH_SDKAPPID),
        secretKey: process.env.BENCH_SECRET_KEY,
        janus: 'off',
        // The bench's clients do not move when told to drain: stop at once.
        drainTimeoutMs: 0,
        // --nodes N: one of N nodes sharing the bench's redis-server (BENCH_REDIS).
        // One node: its live state in SQLite (the default) or, with BENCH_STATE=memory, in memory.
        ...(process.env.BENCH_REDIS
          ? { redis: process.env.BENCH_REDIS, nodeID: process.env.BENCH_NODE_ID }
          : process.env.BENCH_STATE
            ? { state: process.env.BENCH_STATE }
            : {}),
        // The load comes from a few loopback addresses, thousands of sessions each, logging in
        // as fast as they can: the per-address caps that guard a real server would refuse it.
        limits: {
          maxConnections: 1_000_000,
          maxConnectionsPerAddress: 1_000_000,
          preLoginRateLimit: { burst: 1_000_000, perSecond: 1_000_000 },
          loginTimeout: 600,
        },
      })
    : await startRelay({ host: '127.0.0.1', port: 0 });

function memory() {
  // Two passes: the first frees what finalizers release, the second what they held.
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

/** How late the event loop ran timers: a blocked loop shows here, not in CPU time. */
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
function takeLoopDelay() {
  const out = { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 };
  loopDelay.reset();
  return out;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/**
 * CPU seconds of the main thread alone (the event loop, where every request is handled): the
 * process's figure also counts GC and libuv helper threads, which run beside it.
 */
async function loopThreadCpuS() {
  const stat = await readFile(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
  process.disconnect?.();
  process.exit(0);
}

/** A V8 CPU profile of what the server does between profileStart and profileStop. */
let inspector;
async function profileStart() {
  inspector = new Session();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
  await inspector.post('Profiler.start');
  return {};
}
async function profileStop(file) {
  const { profile } = await inspector.post('Profiler.stop');
  inspector.disconnect();
  await writeFile(file, JSON.stringify(profile));
  return { file };
}

process.on('message', async (msg) => {
  if (msg.type === 'memory') process.send({ type: 'memory', ...memory() });
  else if (msg.type === 'profileStart') process.send({ type: msg.type, ...(await profileStart()) });
  else if (msg.type === 'profileStop')
    process.send({ type: msg.type, ...(await profileStop(msg.file)) });
  else if (msg.type === 'cpu') {
    const loopThreadS = await loopThreadCpuS();
    process.send({
      type: 'cpu',
      ...process.cpuUsage(),
      loopThreadS,
      loop: takeLoopDelay(),
      redisRoundTrips,
    });
  } else if (msg.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send({ type: 'ready', port: server.port, memory: memory() });
