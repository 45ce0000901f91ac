/**
 * The in-memory SharedSessions and NodeRegistry: what the Redis adapter does, for nodes sharing
 * one process (tests, and the conformance suite both adapters pass). A single in-memory node does
 * not use them (its sessions live in its memory, as before): `withSharedSessions` opts in.
 *
 * Each operation runs in one synchronous step (no await inside), which is what the Redis scripts'
 * atomicity gives: a push is appended and handed to its node before anything else runs.
 */
import { sessionTimerKey } from './keys.js';
import type {
  createMemoryCluster,
  MemoryMessageBus,
  MemoryOutboxStore,
  MemoryPresenceStore,
  MemoryScheduler,
} from './memory.js';
import type { NodeRegistry, OutboxEntry, Presence, SharedSessions } from './types.js';

/** As the Redis adapter's LIVE_OUTBOX_TTL_MS: a live session's outbox is kept this long. */
const LIVE_TTL_MS = 24 * 3600_000;

export class MemorySharedSessions implements SharedSessions {
  /** nodeID → sessionID → userID: the sessions each node holds (for the reaper). */
  readonly held = new Map<string, Map<string, string>>();
  readonly #limit: number;

  constructor(
    private readonly presence: MemoryPresenceStore,
    private readonly outbox: MemoryOutboxStore,
    private readonly bus: MemoryMessageBus,
    options: { outboxLimit: number },
  ) {
    this.#limit = options.outboxLimit;
  }

  async open(p: Presence): Promise<void> {
    void this.presence.set(p);
    void this.outbox.delete(p.sessionID);
    void this.outbox.open(p.sessionID, LIVE_TTL_MS);
    this.#hold(p.nodeID, p.sessionID, p.userID);
  }

  async deliver(userID: string, json: string, sessionID?: string): Promise<boolean> {
    const p = this.presence.peek(userID);
    if (!p || (sessionID !== undefined && sessionID !== p.sessionID)) return false;
    const seq = this.outbox.appendNow(p.sessionID, json, {
      limit: this.#limit,
      ttlMs: LIVE_TTL_MS,
    });
    if (seq === undefined) return false;
    // The memory bus calls the node's handler right here: pushes reach it in seq order.
    await this.bus.send(p.nodeID, {
      kind: 'pushed',
      userID,
      sessionID: p.sessionID,
      seq,
      json,
    });
    return true;
  }

  async takeOver(
    userID: string,
    sessionID: string,
    nodeID: string,
    afterSeq: number,
  ): Promise<{ entries: OutboxEntry[]; head: number; previousNode: string } | undefined> {
    const p = this.presence.peek(userID);
    if (!p || p.sessionID !== sessionID) return undefined;
    const entries = await this.outbox.read(sessionID, afterSeq);
    // Re-checked after the read's await: nothing else may have changed presence meanwhile.
    const now = this.presence.peek(userID);
    if (!entries || !now || now.sessionID !== sessionID) return undefined;
    void this.presence.set({ userID, sessionID, nodeID });
    if (now.nodeID !== nodeID) this.held.get(now.nodeID)?.delete(sessionID);
    this.#hold(nodeID, sessionID, userID);
    const head = entries.length ? entries[entries.length - 1]!.seq : afterSeq;
    return { entries, head, previousNode: now.nodeID };
  }

  async ack(sessionID: string, seq: number): Promise<void> {
    await this.outbox.ack(sessionID, seq);
  }

  async keepAlive(sessionIDs: readonly string[]): Promise<void> {
    for (const sid of sessionIDs) await this.outbox.expire(sid, LIVE_TTL_MS);
  }

  async relist(
    nodeID: string,
    sessions: ReadonlyArray<{ sessionID: string; userID: string; seq: number }>,
  ): Promise<void> {
    for (const s of sessions) {
      this.#hold(nodeID, s.sessionID, s.userID);
      if (!this.presence.peek(s.userID)) {
        void this.presence.set({ userID: s.userID, sessionID: s.sessionID, nodeID });
      }
      if (this.presence.peek(s.userID)?.sessionID === s.sessionID) {
        this.outbox.openAt(s.sessionID, s.seq, LIVE_TTL_MS);
      }
    }
  }

  async end(sessionID: string, nodeID: string): Promise<void> {
    await this.outbox.delete(sessionID);
    this.held.get(nodeID)?.delete(sessionID);
  }

  #hold(nodeID: string, sessionID: string, userID: string): void {
    let m = this.held.get(nodeID);
    if (!m) this.held.set(nodeID, (m = new Map()));
    m.set(sessionID, userID);
  }
}

export class MemoryNodeRegistry implements NodeRegistry {
  /** nodeID → its last beat, ms. */
  readonly #beats = new Map<string, number>();

  constructor(
    private readonly sessions: MemorySharedSessions,
    private readonly scheduler: MemoryScheduler,
    readonly heartbeatMs: number,
    readonly deadAfterMs: number,
  ) {}

  async beat(
    nodeID: string,
    resumeWindowMs: number,
  ): Promise<{ dead: string[]; rejoined: boolean }> {
    const now = Date.now();
    const mine = this.#beats.get(nodeID);
    this.#beats.set(nodeID, now);
    if (mine === undefined) return { dead: [], rejoined: true };
    if (now - mine > this.deadAfterMs) return { dead: [], rejoined: false };
    const dead: string[] = [];
    for (const [node, at] of this.#beats) {
      if (now - at <= this.deadAfterMs || dead.length >= 10) continue;
      dead.push(node);
      this.#beats.delete(node);
      for (const [sid, userID] of this.sessions.held.get(node) ?? []) {
        void this.scheduler.schedule(sessionTimerKey(sid, userID), resumeWindowMs);
      }
      this.sessions.held.delete(node);
    }
    return { dead, rejoined: false };
  }

  async alive(nodeID: string): Promise<boolean> {
    const at = this.#beats.get(nodeID);
    return at !== undefined && Date.now() - at <= this.deadAfterMs;
  }

  async leave(nodeID: string): Promise<void> {
    this.#beats.delete(nodeID);
    this.sessions.held.delete(nodeID);
  }

  async handOver(nodeID: string, resumeWindowMs: number): Promise<void> {
    for (const [sid, userID] of this.sessions.held.get(nodeID) ?? []) {
      const key = sessionTimerKey(sid, userID);
      if (!this.scheduler.has(key)) void this.scheduler.schedule(key, resumeWindowMs);
    }
    this.sessions.held.delete(nodeID);
    // Long dead: the next beat of a live node claims it.
    this.#beats.set(nodeID, 0);
  }
}

/**
 * `cluster` with shared sessions and node liveness (its nodes, made with memoryClusterNode, then
 * resume each other's sessions). Defaults as the Redis adapter's: beat every 1 s, dead after 5 s.
 */
export function withSharedSessions<C extends ReturnType<typeof createMemoryCluster>>(
  cluster: C,
  o: { heartbeatMs?: number; deadAfterMs?: number; outboxLimit?: number } = {},
): C & { sessions: MemorySharedSessions; nodes: MemoryNodeRegistry } {
  const presence = cluster.presence as MemoryPresenceStore;
  const sessions = new MemorySharedSessions(presence, cluster.outbox, cluster.bus, {
    outboxLimit: o.outboxLimit ?? 1000,
  });
  const nodes = new MemoryNodeRegistry(
    sessions,
    cluster.scheduler,
    o.heartbeatMs ?? 1000,
    o.deadAfterMs ?? 5000,
  );
  return Object.assign(cluster, { sessions, nodes });
}
