/**
 * `/readyz`: whether this node should get new clients — every part a new call needs answers
 * (the store, the cluster's shared state, Janus when group calls are on, TURN when configured),
 * and the node is not draining. Each check is bounded in time; one that throws or is late counts
 * as failed. A check that costs a network probe caches its answer for a few seconds, so a
 * balancer polling every second does not probe that often.
 */

/** One part's check: true when it answers. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface Readiness {
  ready: boolean;
  /** Each check's answer, by name (`draining` is true while the node drains). */
  checks: Record<string, boolean>;
}

/** How long one check may take before it counts as failed. */
export const CHECK_TIMEOUT_MS = 1_000;

/** Runs every check (at once, each bounded); ready when all pass and the node is not draining. */
export async function readiness(
  checks: Record<string, ReadinessCheck | undefined>,
  draining: boolean,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<Readiness> {
  const named = Object.entries(checks).filter(
    (e): e is [string, ReadinessCheck] => e[1] !== undefined,
  );
  const answers = await Promise.all(named.map(([, check]) => bounded(check, timeoutMs)));
  const out: Record<string, boolean> = Object.fromEntries(named.map(([n], i) => [n, answers[i]!]));
  return { ready: !draining && answers.every(Boolean), checks: { ...out, draining } };
}

async function bounded(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** `check`'s answer, reused for `ttlMs` (one probe at a time). */
export function cached(check: () => Promise<boolean>, ttlMs: number): ReadinessCheck {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      last = { at: now, answer: check().catch(() => false) };
    }
    return last.answer;
  };
}
