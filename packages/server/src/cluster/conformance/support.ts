/** What the conformance suites share: how they get nodes, and how they wait. */
import type { ClusterAdapters, OutboxStore } from '../types.js';

/** One node's adapters; `close()` is the node going away without cleaning up after itself. */
export type ClusterNode = Omit<ClusterAdapters, 'calls' | 'health' | 'outbox'> & {
  outbox: OutboxStore;
};

export interface NodeOptions {
  /** Lock lease TTL, ms; suites that wait for a dead holder's lease ask for a short one. */
  lockTtlMs?: number;
}

/**
 * Makes `count` nodes sharing one fresh backend (nothing left from other tests). `close` closes
 * the nodes still open and whatever the backend holds.
 */
export type MakeNodes = (
  count: number,
  options?: NodeOptions,
) => Promise<{ nodes: ClusterNode[]; close(): Promise<void> }>;

/** Polls `check` until it holds; fails after `timeoutMs` naming `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A promise with its resolve at hand (gates that hold a lock until the test opens them). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
