// Child process of bench/signal.mjs: one share of the simulated clients. It holds its sessions
// (real logins with real userSigs, or the relay baseline's hello), pings them the way the SDK does,
// and on the parent's command drives call set-ups or relayed messages at a fixed rate, timing each
// on this process's clock. Commands arrive over IPC as {id, cmd, ...}; each gets {id, ...result}.
import WebSocket from 'ws';
import { genUserSig } from '@ringline/server';

/** Longest a request or an awaited push may take before it counts as an error. */
const STEP_TIMEOUT_MS = 10_000;
const now = () => performance.now();

class Client {
  /** @param {WebSocket} ws */
  constructor(userID, ws) {
    this.userID = userID;
    this.ws = ws;
    this.nextID = 1;
    this.lastSeq = 0;
    /** request id → {resolve, reject, t} */
    this.pending = new Map();
    /** push type → {resolve, reject, t}: the next push of that type settles it */
    this.waits = new Map();
    /** the relay phase's receive hook */
    this.onSignal = undefined;
    /** called with each `error` frame (a refused notification) */
    this.onError = undefined;
  }

  request(type, fields) {
    const id = this.nextID++;
    this.ws.send(JSON.stringify({ id, type, ...fields }));
    return new Promise((resolve, reject) =>
      this.pending.set(id, { type, resolve, reject, t: now() }),
    );
  }

  /** Resolves with the next push of `type` (register before the action that causes it). */
  expect(type) {
    const p = new Promise((resolve, reject) => this.waits.set(type, { resolve, reject, t: now() }));
    // Not awaited when the step before it fails; its own timeout must not crash the process.
    p.catch(() => {});
    return p;
  }

  onMessage(text) {
    const msg = JSON.parse(text);
    if (msg.type === 'reply') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new BenchError(msg.error.name ?? String(msg.error.code)));
      return;
    }
    if (msg.type === 'error') {
      this.onError?.(msg);
      return;
    }
    if (typeof msg.seq === 'number') this.lastSeq = msg.seq;
    if ((msg.type === 'signal' || msg.type === 'relay') && this.onSignal) {
      this.onSignal(msg);
      return;
    }
    const w = this.waits.get(msg.type);
    if (w) {
      this.waits.delete(msg.type);
      w.resolve(msg);
    }
  }

  /** Rejects whatever has waited longer than the step timeout. */
  expire(deadline) {
    for (const [id, p] of this.pending) {
      if (p.t < deadline) {
        this.pending.delete(id);
        p.reject(new BenchError(`TIMEOUT: no reply to ${p.type}`));
      }
    }
    for (const [type, w] of this.waits) {
      if (w.t < deadline) {
        this.waits.delete(type);
        w.reject(new BenchError(`TIMEOUT waiting for ${type}`));
      }
    }
  }
}

class BenchError extends Error {}

const zeroMask = (mask) => mask.fill(0);

/** @type {Client[]} */
const clients = [];
let kind = 'ringline';
/** Connections the server closed (none should be, while the bench runs). */
let closedByServer = 0;
let pingTimer;

const sweep = setInterval(() => {
  const deadline = now() - STEP_TIMEOUT_MS;
  for (const c of clients) c.expire(deadline);
}, 1000);

/** How many times one session is tried, and which failures are worth another try. */
const OPEN_ATTEMPTS = 4;
const RETRIED = /408|503|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up/;

function count(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}

/**
 * The node user `i` connects to, of `n`: spread as a round-robin balancer would, but scattered so
 * that a call's two users (see pairs()) are on different nodes (n - 1) times in n, as they would be.
 */
function nodeFor(i, n) {
  return (Math.imul(i, 2654435761) >>> 0) % n;
}

/**
 * Opens and logs in users [from, to), `concurrency` at a time, spread over `addresses` and, with
 * several server `urls` (the bench's --nodes), over the nodes.
 */
async function open({
  kind: k,
  urls,
  from,
  to,
  addresses,
  concurrency,
  sdkAppID,
  secretKey,
  pingInterval,
}) {
  kind = k;
  const errors = {};
  let next = from;
  const t0 = now();
  // A node that falls behind answers an upgrade 408 (its headers deadline) or resets it: the SDK
  // would connect again after a backoff, and so does the generator, a bounded number of times.
  // Each retry is counted (under `retried: …`), and a session that never opens is an error.
  const one = async (i) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openOne(i);
      } catch (err) {
        const what = err.code ?? err.message;
        if (attempt >= OPEN_ATTEMPTS || !RETRIED.test(String(what))) throw err;
        count(errors, `retried: ${what}`);
        await new Promise((r) => setTimeout(r, attempt * 500 + Math.random() * 500));
      }
    }
  };
  const openOne = async (i) => {
    const userID = `u${i}`;
    const localAddress = addresses[i % addresses.length];
    // A zero masking key (RFC 6455 allows any key) spares the generator masking every frame on
    // the cores it shares with the server; the server unmasks as it would any client's frames.
    const ws = new WebSocket(urls[nodeFor(i, urls.length)], {
      localAddress,
      perMessageDeflate: false,
      generateMask: zeroMask,
    });
    const client = new Client(userID, ws);
    ws.on('message', (data) => client.onMessage(data.toString()));
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (kind === 'ringline') {
      const userSig = genUserSig({ sdkAppID, secretKey, userID });
      await client.request('login', { sdkAppID, userID, userSig });
    } else {
      const ready = client.expect('ready');
      ws.send(JSON.stringify({ type: 'hello', userID }));
      await ready;
    }
    ws.on('close', () => closedByServer++);
    clients.push(client);
  };
  const worker = async () => {
    while (next < to) {
      const i = next++;
      await one(i).catch((err) => count(errors, err.code ?? err.message));
    }
  };
  // Sessions ping from the moment they are open, as the SDK's do: a generator opening thousands
  // would otherwise leave its first ones silent long enough for the node to drop them.
  if (kind === 'ringline') startPings(pingInterval);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = now() - t0;
  return { sessions: clients.length, ms, errors };
}

/** Every session pings once per `intervalS` with its ack, spread evenly, as the SDK does. */
function startPings(intervalS) {
  clearInterval(pingTimer);
  const tickMs = 100;
  let cursor = 0;
  let carry = 0;
  let last = now();
  pingTimer = setInterval(() => {
    // By the clock, not by ticks: a busy loop runs fewer, later ticks, and every session must
    // still ping once per interval or the server rightly drops it as silent.
    const t = now();
    carry += (clients.length * (t - last)) / (intervalS * 1000);
    last = t;
    for (; carry >= 1; carry -= 1) {
      const c = clients[cursor++ % clients.length];
      c.request('ping', { ack: c.lastSeq }).catch(() => {});
    }
  }, tickMs);
}

/** Calls `fn` `rate` times a second for `seconds`, then waits for the started ones to finish. */
async function atRate(rate, seconds, fn) {
  const t0 = now();
  const total = Math.round(rate * seconds);
  let started = 0;
  let maxLagMs = 0;
  const running = new Set();
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const elapsed = now() - t0;
      const due = Math.min(total, Math.floor((elapsed / 1000) * rate));
      if (due - started > 1) maxLagMs = Math.max(maxLagMs, ((due - started) / rate) * 1000);
      for (; started < due; started++) {
        const p = fn(started).finally(() => running.delete(p));
        running.add(p);
      }
      if (started >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  await Promise.allSettled([...running]);
  return { started, ms: now() - t0, maxLagMs };
}

/**
 * Clients whose call state the server may still hold after a step failed (a request that timed
 * out can still be served later, leaving them in a call): they take no further part in the run.
 */
const unsettled = new Set();

/** Pairs of this process's clients, the first half calling the second half; settled ones only. */
function pairs() {
  const half = Math.floor(clients.length / 2);
  return Array.from({ length: half }, (_, i) => [clients[i], clients[half + i]]).filter(
    ([a, b]) => !unsettled.has(a) && !unsettled.has(b),
  );
}

/** invite → INVITED → accept → (caller sees userEnter) → hangup → (callee sees callEnded). */
async function calls({ rate, seconds }) {
  const free = pairs();
  const errors = {};
  const inviteMs = [];
  const setupMs = [];
  let completed = 0;
  const run = await atRate(rate, seconds, async () => {
    const pair = free.shift();
    if (!pair) return count(errors, 'generator: no idle pair');
    const [caller, callee] = pair;
    try {
      const t0 = now();
      const invited = callee.expect('invited');
      const { inviteID, callID } = await caller.request('invite', {
        userIDList: [callee.userID],
        callType: 1,
      });
      await invited;
      inviteMs.push(now() - t0);
      const entered = caller.expect('userEnter');
      await callee.request('accept', { inviteID });
      await entered;
      const ended = callee.expect('callEnded');
      await caller.request('hangup', { callID });
      await ended;
      setupMs.push(now() - t0);
      completed++;
      free.push(pair);
    } catch (err) {
      count(errors, err.message);
      for (const c of pair) unsettled.add(c);
    }
  });
  return { ...run, completed, errors, inviteMs, setupMs };
}

const candidate = (n) => ({
  candidate: `candidate:842163049 1 udp 1677729535 10.77.0.1 ${40000 + (n % 20000)} typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag 4ZcD network-cost 999`,
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: `m${n}`,
});

/** The pairs the message phase uses; for ringline, the members of one connected call each. */
let messagePairs = [];
/** Each member's call, for ringline. */
const callIDs = new Map();

/** Readies `pairCount` pairs for the message phase: ringline's are put in a call each. */
async function pairUp({ pairCount }) {
  const errors = {};
  messagePairs = pairs().slice(0, pairCount);
  if (kind !== 'ringline') return { pairs: messagePairs.length, errors };
  for (const [caller, callee] of messagePairs) {
    try {
      const invited = callee.expect('invited');
      const { inviteID, callID } = await caller.request('invite', {
        userIDList: [callee.userID],
        callType: 1,
      });
      await invited;
      await callee.request('accept', { inviteID });
      callIDs.set(caller, callID).set(callee, callID);
    } catch (err) {
      count(errors, `call set-up: ${err.message}`);
      unsettled.add(caller).add(callee);
    }
  }
  messagePairs = messagePairs.filter(([caller]) => callIDs.has(caller));
  return { pairs: messagePairs.length, errors };
}

/** Messages from one member of a pair to the other at `rate`/s; ringline's go through calls. */
async function relay({ rate, seconds }) {
  const use = messagePairs;
  const errors = {};
  if (use.length === 0) return { started: 0, ms: 0, delivered: 0, errors, latencyMs: [] };
  const sentAt = new Map();
  const latencyMs = [];
  /** Set once the last message is sent: called when every one has arrived. */
  let allArrived;
  const onSignal = (msg) => {
    const n = Number(msg.data.candidate.usernameFragment.slice(1));
    const t = sentAt.get(n);
    if (t === undefined) return;
    sentAt.delete(n);
    latencyMs.push(now() - t);
    if (sentAt.size === 0) allArrived?.();
  };
  const onError = (msg) => count(errors, msg.error.name ?? String(msg.error.code));
  for (const [a, b] of use) {
    a.onSignal = b.onSignal = onSignal;
    a.onError = b.onError = onError;
  }
  const run = await atRate(rate, seconds, async (n) => {
    const [a, b] = use[n % use.length];
    const [from, to] = n % 2 ? [b, a] : [a, b];
    sentAt.set(n, now());
    const data = { candidate: candidate(n) };
    if (kind === 'ringline') {
      // A notification, as the SDK sends it: no reply; a refusal comes back as an `error` frame.
      from.ws.send(
        JSON.stringify({ type: 'signal', callID: callIDs.get(from), to: to.userID, data }),
      );
    } else {
      from.ws.send(JSON.stringify({ type: 'relay', to: to.userID, data }));
    }
  });
  // Whatever has not arrived a step timeout after the last send is lost.
  if (sentAt.size > 0) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, STEP_TIMEOUT_MS);
      allArrived = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (sentAt.size > 0) errors['not delivered'] = sentAt.size;
  for (const [a, b] of use) a.onSignal = b.onSignal = a.onError = b.onError = undefined;
  return { ...run, delivered: latencyMs.length, errors, latencyMs };
}

/** Ends the message phase's calls. */
async function pairDown() {
  const errors = {};
  for (const [caller, callee] of kind === 'ringline' ? messagePairs : []) {
    try {
      const ended = callee.expect('callEnded');
      await caller.request('hangup', { callID: callIDs.get(caller) });
      await ended;
    } catch (err) {
      count(errors, `hang-up: ${err.message}`);
      unsettled.add(caller).add(callee);
    }
  }
  messagePairs = [];
  callIDs.clear();
  return { errors };
}

async function close() {
  clearInterval(pingTimer);
  clearInterval(sweep);
  for (const c of clients) c.ws.terminate();
  clients.length = 0;
  return {};
}

const commands = { open, calls, pairUp, relay, pairDown, close };
process.on('message', async (msg) => {
  try {
    const cpu = process.cpuUsage();
    const closed = closedByServer;
    const result = await commands[msg.cmd](msg);
    if (closedByServer > closed && result.errors) {
      result.errors['connections closed by the server'] = closedByServer - closed;
    }
    const { user, system } = process.cpuUsage(cpu);
    process.send({ id: msg.id, ok: true, cpuS: (user + system) / 1e6, ...result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
