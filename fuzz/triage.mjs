// After a crash: which frame did it? The suspects are the frames no connection had confirmed yet
// (see Wire.inflight). Each is replayed alone, on a fresh connection (logged in if it was sent
// after login), smallest first, against a restarted server; the first that kills the server is
// then shrunk, step by step, to the smallest variant that still does.
import { genUserSig } from '@ringline/server';
import { runChaos } from './chaos.mjs';
import { Wire } from './wire.mjs';

/**
 * @typedef {{kind: string, data: string | Buffer, binary: boolean, phase: 'pre' | 'post'}} Suspect
 * @typedef {{frame: Suspect, crashes: number, steps: number, stderr: string}} Reproducer
 */

/**
 * @param {import('./server.mjs').ServerUnderTest} server
 * @param {{sdkAppID: number, secretKey: string}} app
 */
export function makeReplayer(server, app) {
  let triageUser = 0;
  /**
   * Sends `frame` alone on a fresh connection; resolves with the crash's stderr when the server
   * died of it, else undefined. Leaves a server running either way.
   */
  return async function replay(frame, timeoutMs = 3000) {
    if (!server.running) await server.start();
    let onExit;
    const exited = new Promise((resolve) => server.once('exit', (onExit = resolve)));
    let wire;
    try {
      if (frame.chaos) {
        await runChaos(frame.chaos, server.url);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 300))]);
      } else {
        wire = await Wire.open(server.url);
        if (frame.phase === 'post') {
          const userID = `triage-${++triageUser}`;
          await wire.request('login', {
            sdkAppID: app.sdkAppID,
            userID,
            userSig: genUserSig({ ...app, userID }),
          });
        }
        wire.send(frame.data, frame.binary);
        const answered = await Promise.race([wire.sync(timeoutMs), exited.then(() => 'exit')]);
        if (answered !== 'exit') {
          // A server that closed this connection (invalid UTF-8, too big) may still be dying.
          await Promise.race([exited, new Promise((r) => setTimeout(r, answered ? 20 : 200))]);
        }
      }
    } catch {
      // Could not connect or log in: decided by whether the server is gone.
    } finally {
      wire?.drop();
    }
    const info = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r(undefined), 100)),
    ]);
    server.off('exit', onExit);
    if (info === undefined) return undefined;
    await server.start();
    return info.stderr;
  };
}

/**
 * The first suspect that crashes the server alone (smallest first), the way the run's crash did
 * (`matches(stderr)`), or undefined.
 */
export async function findCulprit(
  replay,
  suspects,
  { matches = () => true, maxTries = 3000, deadline = Infinity } = {},
) {
  const sorted = [...suspects].sort((a, b) => a.data.length - b.data.length);
  let tries = 0;
  for (const s of sorted) {
    if (++tries > maxTries || Date.now() > deadline) break;
    const stderr = await replay(s);
    if (stderr !== undefined && matches(stderr)) return { frame: s, stderr, tries };
  }
  return undefined;
}

/** Smaller variants of a frame's text, most promising first. */
function* smaller(text) {
  // Nesting: halve the longest run of `[` (and its closing run), then take off quarters, eighths.
  for (const [open, close] of [
    ['[', ']'],
    ['{"a":', '}'],
    ['[{"a":', '}]'],
  ]) {
    const run = longestRun(text, open);
    if (run.count >= 2) {
      const closeAt = text.indexOf(close.repeat(run.count), run.index + run.count * open.length);
      if (closeAt > 0) {
        const leaf = text.slice(run.index + run.count * open.length, closeAt);
        const before = text.slice(0, run.index);
        const after = text.slice(closeAt + run.count * close.length);
        for (const keep of [
          run.count >> 1,
          run.count - (run.count >> 2),
          run.count - (run.count >> 3),
        ]) {
          if (keep > 0 && keep < run.count)
            yield before + open.repeat(keep) + leaf + close.repeat(keep) + after;
        }
      }
    }
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    if (text.length > 1) yield text.slice(0, text.length >> 1);
    return;
  }
  // Too deep to take apart as objects (that recursion would overflow here): the runs above are
  // the only way down.
  if (value === null || typeof value !== 'object' || nesting(text) > 200) return;
  // Leave out one key at a time; keep one element of each array; halve long strings.
  for (const path of paths(value)) {
    const { parent, key } = path;
    const copy = structuredClone(value);
    const target = path.keys.slice(0, -1).reduce((o, k) => o[k], copy);
    if (Array.isArray(parent)) {
      if (parent.length > 1) {
        target.splice(0, target.length, target[key]);
        yield JSON.stringify(copy);
      }
    } else {
      delete target[key];
      yield JSON.stringify(copy);
    }
    const v = parent[key];
    if (typeof v === 'string' && v.length > 8) {
      const c2 = structuredClone(value);
      path.keys.slice(0, -1).reduce((o, k) => o[k], c2)[key] = v.slice(0, v.length >> 1);
      yield JSON.stringify(c2);
    }
  }
}

/** Every property path in `value` (shallow values only, as JSON.parse made them). */
function paths(value, keys = [], out = []) {
  if (keys.length > 20) return out;
  for (const key of Object.keys(value)) {
    out.push({ parent: value, key, keys: [...keys, key] });
    const v = value[key];
    if (v !== null && typeof v === 'object') paths(v, [...keys, key], out);
  }
  return out;
}

/** How deep the JSON text nests (brackets outside strings). */
function nesting(text) {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

function longestRun(text, unit) {
  let best = { index: -1, count: 0 };
  let i = text.indexOf(unit);
  while (i >= 0) {
    let n = 0;
    while (text.startsWith(unit, i + n * unit.length)) n++;
    if (n > best.count) best = { index: i, count: n };
    i = text.indexOf(unit, i + Math.max(1, n) * unit.length);
  }
  return best;
}

/**
 * Shrinks a crashing frame: keeps taking the first smaller variant that still crashes the server
 * with the same signature, up to `maxSteps` replays.
 */
export async function shrink(
  replay,
  culprit,
  signatureOf,
  { maxSteps = 150, deadline = Infinity } = {},
) {
  const want = signatureOf(culprit.stderr);
  let frame = culprit.frame;
  let steps = 0;
  let crashes = 0;
  outer: while (steps < maxSteps && Date.now() < deadline && typeof frame.data === 'string') {
    for (const candidate of smaller(frame.data)) {
      if (++steps > maxSteps || Date.now() > deadline) break outer;
      if (candidate.length >= frame.data.length) continue;
      const stderr = await replay({ ...frame, data: candidate });
      if (stderr !== undefined && signatureOf(stderr) === want) {
        crashes++;
        frame = { ...frame, data: candidate };
        continue outer;
      }
    }
    break;
  }
  return { frame, steps, crashes };
}
