// What the shared session outbox costs per push (issue 13, node loss). A push to a user on a Redis
// cluster used to be two round trips (HGETALL presence, then PUBLISH to the session's node); with
// sessions that survive their node it is one script that reads presence, appends to the session's
// outbox and publishes (cluster/redis/sessions.ts). This measures both paths and a bare PUBLISH
// (the baseline) against a real redis-server it starts on loopback, each delivered to a
// subscribed node: latency one push at a time, throughput with CONCURRENCY pushes in flight, and
// Redis's own CPU per push (INFO commandstats).
//
// Issue 14 (`--multi-device`): `kick` (the default) pushes exactly as above. `ring-all` reads the
// user's device index first (one HGETALL), then runs the same script once per device it pushes
// to: one device for a call's pushes (the device in the call), every device for an invitation.
//
// Run: npx tsc -b && node bench/outbox-push.mjs
// Env: BENCH_PUSHES (20000), BENCH_CONCURRENCY (64), BENCH_USERS (1000).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisCluster } from '../packages/server/dist/cluster/redis/index.js';
import {
  createDeviceDelivery,
  createSharedDelivery,
} from '../packages/server/dist/cluster/delivery.js';
import { deviceKey } from '../packages/server/dist/cluster/keys.js';
import { exitAfter, fail, percentile, positiveInt } from './lib/util.mjs';

const PUSHES = positiveInt('BENCH_PUSHES', 20_000);
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 64);
const USERS = positiveInt('BENCH_USERS', 1000);
const deadline = exitAfter(300);

const body = JSON.stringify({
  type: 'signal',
  callID: '6f0b6c1e-8f7d-4a4e-9d55-1d1c2b3a4f5e',
  from: 'alice',
  data: { candidate: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 51234 typ host' } },
});

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'ringline-bench-outbox-'));
const redisProc = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
  { stdio: 'ignore' },
);
const url = `redis://127.0.0.1:${port}`;
try {
  await waitForRedis(url);
  const prefix = 'bench';
  const sender = await createRedisCluster({ url, prefix });
  const receiver = await createRedisCluster({ url, prefix });
  const admin = new Redis(url);
  let received = 0;
  receiver.bus.subscribe('node-r', () => {
    received++;
  });
  await receiver.bus.whenSubscribed();
  for (let i = 0; i < USERS; i++) {
    await sender.sessions.open({ userID: `u${i}`, sessionID: `s${i}`, nodeID: 'node-r' });
    // ring-all: `d…` users have two devices, the first of them in a call.
    for (const sid of [`a${i}`, `b${i}`]) {
      await sender.devices.add(`d${i}`, sid, 5);
      await sender.sessions.open({
        userID: deviceKey(`d${i}`, sid),
        sessionID: sid,
        nodeID: 'node-r',
      });
    }
    await sender.devices.setActive(`d${i}`, `a${i}`, 'call');
    await sender.devices.add(`r${i}`, `a${i}`, 5);
    await sender.devices.add(`r${i}`, `b${i}`, 5);
    for (const sid of [`a${i}`, `b${i}`]) {
      await sender.sessions.open({
        userID: deviceKey(`r${i}`, sid),
        sessionID: sid,
        nodeID: 'node-r',
      });
    }
  }
  const ringAll = createDeviceDelivery(sender.devices, createSharedDelivery(sender.sessions));
  const invited = JSON.stringify({ ...JSON.parse(body), type: 'invited', callID: 'other' });

  const paths = {
    'PUBLISH only (baseline)': (i) =>
      sender.bus.send('node-r', {
        kind: 'push',
        userID: `u${i % USERS}`,
        sessionID: `s${i % USERS}`,
        push: JSON.parse(body),
      }),
    'presence GET + PUBLISH (before)': async (i) => {
      const where = await sender.presence.get(`u${i % USERS}`);
      await sender.bus.send(where.nodeID, {
        kind: 'push',
        userID: where.userID,
        sessionID: where.sessionID,
        push: JSON.parse(body),
      });
    },
    'shared outbox script (now)': (i) => sender.sessions.deliver(`u${i % USERS}`, body),
    'ring-all: call push, 2 devices': (i) => ringAll(`d${i % USERS}`, JSON.parse(body)),
    'ring-all: invitation, 2 devices': (i) => ringAll(`r${i % USERS}`, JSON.parse(invited)),
  };

  // The commands each path sends (a script's inner commands are counted inside its own time).
  const topLevel = {
    'PUBLISH only (baseline)': ['publish'],
    'presence GET + PUBLISH (before)': ['hgetall', 'publish'],
    'shared outbox script (now)': ['evalsha', 'eval'],
    'ring-all: call push, 2 devices': ['hgetall', 'evalsha', 'eval'],
    'ring-all: invitation, 2 devices': ['hgetall', 'evalsha', 'eval'],
  };
  const rows = [];
  for (const [name, push] of Object.entries(paths)) {
    await admin.config('RESETSTAT');
    received = 0;
    // One at a time: the latency a push adds.
    const lat = [];
    const serial = Math.min(PUSHES, 5000);
    for (let i = 0; i < serial; i++) {
      const t = process.hrtime.bigint();
      await push(i);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    // CONCURRENCY in flight: what one connection carries.
    let next = 0;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < PUSHES) await push(next++);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const total = serial + PUSHES;
    // An invitation to a user with two devices is two deliveries.
    const expected = name.startsWith('ring-all: invitation') ? 2 * total : total;
    for (let i = 0; i < 1000 && received < expected; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const stats = await admin.info('commandstats');
    // Top-level commands only (a script's inner commands are counted inside its own time): the
    // round trips a push makes, and Redis's CPU for them.
    let usec = 0;
    let calls = 0;
    for (const m of stats.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)) {
      if (!topLevel[name].includes(m[1])) continue;
      calls += Number(m[2]);
      usec += Number(m[3]);
    }
    rows.push({
      path: name,
      'p50 ms': percentile(lat, 50).toFixed(3),
      'p99 ms': percentile(lat, 99).toFixed(3),
      'pushes/s': Math.round(PUSHES / seconds),
      'round trips/push': (calls / total).toFixed(2),
      'redis µs/push': (usec / total).toFixed(2),
      delivered: `${received}/${expected}`,
    });
  }
  console.table(rows);
  admin.disconnect();
  await sender.close();
  await receiver.close();
} catch (err) {
  fail(String(err?.stack ?? err));
} finally {
  redisProc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  clearTimeout(deadline);
}

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port: p } = srv.address();
  await new Promise((r) => srv.close(r));
  return p;
}

async function waitForRedis(u) {
  for (let i = 0; i < 100; i++) {
    const c = new Redis(u, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('redis-server did not start');
}
