/**
 * In-memory cluster adapters: the default for a single node, and shareable between several nodes
 * in one process (which is how the scale-out path is tested). Records are copied on the way in and
 * out, so nothing above can change shared state without saving it, as with a remote store.
 */
import { checkChanges } from './changes.js';
import { ClusterUnavailableError } from './errors.js';
import type {
  BusMessage,
  CallChanges,
  CallRecord,
  CallStore,
  ClusterAdapters,
  DeviceStore,
  InvitationRecord,
  LoadedCall,
  LockManager,
  MessageBus,
  OutboxEntry,
  OutboxStore,
  Presence,
  PresenceStore,
  Scheduler,
  Unsubscribe,
  UserDevices,
} from './types.js';

/**
 * A deep copy of a record: plain objects, arrays and primitives only, as a remote store would hold
 * them. Several times cheaper than structuredClone, which was most of a relayed message's cost.
 */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copy) as T;
  const out: Record<string, unknown> = {};
  // Records are plain objects: for-in sees exactly their own keys, without Object.entries' arrays.
  for (const k in value) {
    const v = copy((value as Record<string, unknown>)[k]);
    // An own `__proto__` key (JSON.parse makes one) must stay data, not become the prototype.
    if (k === '__proto__') {
      Object.defineProperty(out, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[k] = v;
  }
  return out as T;
}

export class MemoryPresenceStore implements PresenceStore {
  readonly #byUser = new Map<string, Presence>();

  async get(userID: string): Promise<Presence | undefined> {
    return this.peek(userID);
  }
  /** `get` without the promise (MemorySharedSessions reads and appends in one synchronous step). */
  peek(userID: string): Presence | undefined {
    const p = this.#byUser.get(userID);
    return p && { ...p };
  }
  async set(presence: Presence): Promise<void> {
    this.#byUser.set(presence.userID, { ...presence });
  }
  async remove(userID: string, sessionID: string): Promise<boolean> {
    if (this.#byUser.get(userID)?.sessionID !== sessionID) return false;
    this.#byUser.delete(userID);
    return true;
  }
}

export class MemoryDeviceStore implements DeviceStore {
  readonly #byUser = new Map<string, UserDevices>();

  async add(userID: string, sessionID: string, max: number): Promise<boolean> {
    const entry = this.#byUser.get(userID) ?? { sessionIDs: [] };
    if (entry.sessionIDs.includes(sessionID)) return true;
    if (entry.sessionIDs.length >= max) return false;
    entry.sessionIDs.push(sessionID);
    this.#byUser.set(userID, entry);
    return true;
  }
  async remove(userID: string, sessionID: string): Promise<boolean> {
    const entry = this.#byUser.get(userID);
    const at = entry ? entry.sessionIDs.indexOf(sessionID) : -1;
    if (!entry || at < 0) return false;
    entry.sessionIDs.splice(at, 1);
    if (entry.active?.sessionID === sessionID) delete entry.active;
    if (!entry.sessionIDs.length) this.#byUser.delete(userID);
    return true;
  }
  async get(userID: string): Promise<UserDevices> {
    return copy(this.#byUser.get(userID) ?? { sessionIDs: [] });
  }
  async setActive(userID: string, sessionID: string, callID: string): Promise<boolean> {
    const entry = this.#byUser.get(userID);
    if (!entry?.sessionIDs.includes(sessionID)) return false;
    entry.active = { sessionID, callID };
    return true;
  }
  async clearActive(userID: string, callID: string): Promise<void> {
    const entry = this.#byUser.get(userID);
    if (entry?.active?.callID === callID) entry.active.released = true;
  }
  /** Users with a device listed (leak checks in tests). */
  get size(): number {
    return this.#byUser.size;
  }
}

export class MemoryCallStore implements CallStore {
  /** Each call with its invitations, by inviteID: one entry, so a commit replaces it whole. */
  readonly #calls = new Map<
    string,
    { call: CallRecord; invitations: Map<string, InvitationRecord> }
  >();
  readonly #inviteCall = new Map<string, string>();
  readonly #userCall = new Map<string, string>();
  readonly #groupCall = new Map<string, string>();

  async load(callID: string): Promise<LoadedCall | undefined> {
    const entry = this.#calls.get(callID);
    if (!entry) return undefined;
    return { call: copy(entry.call), invitations: [...entry.invitations.values()].map(copy) };
  }
  async invitationCall(inviteID: string): Promise<string | undefined> {
    return this.#inviteCall.get(inviteID);
  }
  async commit(callID: string, changes: CallChanges): Promise<void> {
    const written = changes.invitations ?? [];
    const deleted = changes.deletedInvitations ?? [];
    // Every check before the first write, so that a refused commit writes nothing.
    checkChanges(callID, changes, this.#calls.has(callID));
    if (changes.call === null) {
      const entry = this.#calls.get(callID);
      if (!entry) return;
      for (const id of entry.invitations.keys()) this.#inviteCall.delete(id);
      this.#calls.delete(callID);
      return;
    }
    let entry = this.#calls.get(callID);
    if (changes.call) {
      const call = copy(changes.call);
      if (entry) entry.call = call;
      else this.#calls.set(callID, (entry = { call, invitations: new Map() }));
    }
    if (!entry) return;
    for (const inv of written) {
      entry.invitations.set(inv.inviteID, copy(inv));
      this.#inviteCall.set(inv.inviteID, callID);
    }
    for (const id of deleted) {
      if (entry.invitations.delete(id)) this.#inviteCall.delete(id);
    }
  }
  async sfuCalls(nodeID: string): Promise<string[]> {
    // A scan: node death is rare, and one process holds few calls.
    return [...this.#calls.values()]
      .filter((entry) => entry.call.sfu?.node === nodeID)
      .map((entry) => entry.call.callID);
  }
  async callMembers(callID: string): Promise<string[] | undefined> {
    return this.#calls.get(callID)?.call.members.map((m) => m.userID);
  }
  async claimUser(userID: string, callID: string): Promise<boolean> {
    const current = this.#userCall.get(userID);
    if (current !== undefined && current !== callID) return false;
    this.#userCall.set(userID, callID);
    return true;
  }
  async userCall(userID: string): Promise<string | undefined> {
    return this.#userCall.get(userID);
  }
  async releaseUser(userID: string, callID: string): Promise<void> {
    if (this.#userCall.get(userID) === callID) this.#userCall.delete(userID);
  }
  async claimGroup(groupID: string, callID: string): Promise<boolean> {
    const current = this.#groupCall.get(groupID);
    if (current !== undefined && current !== callID) return false;
    this.#groupCall.set(groupID, callID);
    return true;
  }
  async groupCall(groupID: string): Promise<string | undefined> {
    return this.#groupCall.get(groupID);
  }
  async releaseGroup(groupID: string, callID: string): Promise<void> {
    if (this.#groupCall.get(groupID) === callID) this.#groupCall.delete(groupID);
  }
  /** How many records are held (leak checks in tests). */
  get size(): { calls: number; invitations: number; users: number; groups: number } {
    return {
      calls: this.#calls.size,
      invitations: this.#inviteCall.size,
      users: this.#userCall.size,
      groups: this.#groupCall.size,
    };
  }
}

/**
 * Delivers to the subscribed node's handler directly. Handlers deliver synchronously (they queue
 * the push on a session), so messages from one sender reach a node in the order sent.
 */
export class MemoryMessageBus implements MessageBus {
  readonly #handlers = new Map<string, (message: BusMessage) => void | Promise<void>>();

  async send(nodeID: string, message: BusMessage): Promise<boolean> {
    const handler = this.#handlers.get(nodeID);
    // A node that is gone has no sessions left to deliver to.
    if (!handler) return false;
    await handler(message);
    return true;
  }
  subscribe(nodeID: string, handler: (message: BusMessage) => void | Promise<void>): Unsubscribe {
    this.#handlers.set(nodeID, handler);
    return () => {
      if (this.#handlers.get(nodeID) === handler) this.#handlers.delete(nodeID);
    };
  }
  async whenSubscribed(): Promise<void> {}
  /** One node's use of this bus: its subscriptions end with `close()` (the node went away). */
  view(): MessageBus & { close(): void } {
    const subs = new Set<Unsubscribe>();
    return {
      send: (nodeID, message) => this.send(nodeID, message),
      subscribe: (nodeID, handler) => {
        const unsubscribe = this.subscribe(nodeID, handler);
        subs.add(unsubscribe);
        return () => {
          subs.delete(unsubscribe);
          unsubscribe();
        };
      },
      whenSubscribed: () => this.whenSubscribed(),
      close: () => {
        for (const unsubscribe of subs) unsubscribe();
        subs.clear();
      },
    };
  }
}

/** setTimeout by key; a due key goes to one subscriber (the oldest still subscribed). */
export class MemoryScheduler implements Scheduler {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #handlers: Array<(key: string) => void | Promise<void>> = [];
  readonly #onError: (err: unknown, key: string) => void;

  constructor(onError: (err: unknown, key: string) => void = () => {}) {
    this.#onError = onError;
  }

  async schedule(key: string, delayMs: number): Promise<void> {
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      const handler = this.#handlers[0];
      if (!handler) return;
      Promise.resolve()
        .then(() => handler(key))
        .catch((err: unknown) => this.#onError(err, key));
    }, delayMs);
    this.#timers.set(key, timer);
  }
  async cancel(key: string): Promise<void> {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
  }
  /** Whether `key` has a timer pending. */
  has(key: string): boolean {
    return this.#timers.has(key);
  }
  subscribe(handler: (key: string) => void | Promise<void>): Unsubscribe {
    this.#handlers.push(handler);
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }
  /**
   * One node's use of these timers: its subscription ends with `close()` (the node went away), and
   * what it scheduled still fires, on another node's subscriber.
   */
  view(): Scheduler & { close(): void } {
    const subs = new Set<Unsubscribe>();
    return {
      schedule: (key, delayMs) => this.schedule(key, delayMs),
      cancel: (key) => this.cancel(key),
      subscribe: (handler) => {
        const unsubscribe = this.subscribe(handler);
        subs.add(unsubscribe);
        return () => {
          subs.delete(unsubscribe);
          unsubscribe();
        };
      },
      close: () => {
        for (const unsubscribe of subs) unsubscribe();
        subs.clear();
      },
    };
  }
  /** Keys with a pending timer. */
  get pending(): number {
    return this.#timers.size;
  }
  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}

/** A node holding locks through `MemoryLockManager.view()`: what it holds, and whether it is gone. */
interface LockOwner {
  closed: boolean;
  held: Set<() => void>;
}

/**
 * A promise chain per key; the entry goes away when its chain drains. Views emulate the Redis
 * lease for nodes sharing one manager: a view closed mid-`fn` (its node died) holds its keys for
 * `ttlMs` more, then they free themselves (types.ts, LockManager).
 */
export class MemoryLockManager implements LockManager {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #ttlMs: number;

  constructor(options: { ttlMs?: number } = {}) {
    this.#ttlMs = options.ttlMs ?? 5000;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#run(key, fn, undefined);
  }

  /** One node's use of these locks; `close()` is that node dying (its leases expire after the TTL). */
  view(): LockManager & { close(): void } {
    const owner: LockOwner = { closed: false, held: new Set() };
    return {
      run: (key, fn) => this.#run(key, fn, owner),
      close: () => {
        if (owner.closed) return;
        owner.closed = true;
        for (const release of owner.held) setTimeout(release, this.#ttlMs).unref();
        owner.held.clear();
      },
    };
  }

  async #run<T>(key: string, fn: () => Promise<T>, owner: LockOwner | undefined): Promise<T> {
    if (owner?.closed) throw new ClusterUnavailableError('this node is closed');
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    let holding = false;
    try {
      if (owner?.closed) throw new ClusterUnavailableError('this node is closed');
      holding = true;
      owner?.held.add(release);
      return await fn();
    } finally {
      // A lease its node abandoned mid-fn is released by the TTL timer, not when the dead node's
      // fn settles; a waiter that never held the key lets the next one in at once.
      if (!(holding && owner?.closed)) {
        owner?.held.delete(release);
        release();
      }
      // The entry goes once this lease is released, unless someone queued behind it.
      void mine.then(() => {
        if (this.#tails.get(key) === tail) this.#tails.delete(key);
      });
    }
  }
}

/** Outboxes in a Map, each with its expiry timer. */
export class MemoryOutboxStore implements OutboxStore {
  readonly #boxes = new Map<
    string,
    { entries: OutboxEntry[]; head: number; timer: NodeJS.Timeout | undefined }
  >();

  async open(sessionID: string, ttlMs: number): Promise<void> {
    if (!this.#boxes.has(sessionID)) {
      this.#boxes.set(sessionID, { entries: [], head: 0, timer: undefined });
    }
    this.#expireIn(sessionID, ttlMs);
  }
  async append(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): Promise<number | undefined> {
    return this.appendNow(sessionID, json, options);
  }
  /** Starts the outbox with head `seq` unless it exists (a session listed again). */
  openAt(sessionID: string, seq: number, ttlMs: number): void {
    if (this.#boxes.has(sessionID)) return;
    this.#boxes.set(sessionID, { entries: [], head: seq, timer: undefined });
    this.#expireIn(sessionID, ttlMs);
  }
  /** `append` without the promise (MemorySharedSessions appends and publishes in one step). */
  appendNow(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): number | undefined {
    const box = this.#boxes.get(sessionID);
    if (!box) return undefined;
    const seq = ++box.head;
    box.entries.push({ seq, json });
    if (box.entries.length > options.limit)
      box.entries.splice(0, box.entries.length - options.limit);
    this.#expireIn(sessionID, options.ttlMs);
    return seq;
  }
  async read(sessionID: string, afterSeq: number): Promise<OutboxEntry[] | undefined> {
    const box = this.#boxes.get(sessionID);
    if (!box || afterSeq > box.head || afterSeq < 0) return undefined;
    if (afterSeq === box.head) return [];
    const first = box.entries[0];
    if (!first || first.seq > afterSeq + 1) return undefined;
    return box.entries.filter((e) => e.seq > afterSeq).map((e) => ({ ...e }));
  }
  async ack(sessionID: string, seq: number): Promise<void> {
    const box = this.#boxes.get(sessionID);
    if (!box) return;
    const keep = box.entries.findIndex((e) => e.seq > seq);
    box.entries.splice(0, keep < 0 ? box.entries.length : keep);
  }
  async expire(sessionID: string, ttlMs: number): Promise<void> {
    if (this.#boxes.has(sessionID)) this.#expireIn(sessionID, ttlMs);
  }
  async delete(sessionID: string): Promise<void> {
    clearTimeout(this.#boxes.get(sessionID)?.timer);
    this.#boxes.delete(sessionID);
  }
  /** Sessions with an outbox (leak checks in tests). */
  get size(): number {
    return this.#boxes.size;
  }
  close(): void {
    for (const box of this.#boxes.values()) clearTimeout(box.timer);
    this.#boxes.clear();
  }

  #expireIn(sessionID: string, ttlMs: number): void {
    const box = this.#boxes.get(sessionID);
    if (!box) return;
    clearTimeout(box.timer);
    box.timer = setTimeout(() => this.#boxes.delete(sessionID), ttlMs);
    box.timer.unref();
  }
}

/** Fresh in-memory adapters; pass the same object to several nodes to make them one cluster. */
export function createMemoryCluster(options: { lockTtlMs?: number } = {}): ClusterAdapters & {
  calls: MemoryCallStore;
  bus: MemoryMessageBus;
  scheduler: MemoryScheduler;
  locks: MemoryLockManager;
  outbox: MemoryOutboxStore;
  devices: MemoryDeviceStore;
} {
  const scheduler = new MemoryScheduler();
  const outbox = new MemoryOutboxStore();
  return {
    presence: new MemoryPresenceStore(),
    devices: new MemoryDeviceStore(),
    calls: new MemoryCallStore(),
    bus: new MemoryMessageBus(),
    scheduler,
    locks: new MemoryLockManager({ ttlMs: options.lockTtlMs }),
    outbox,
    async close() {
      scheduler.close();
      outbox.close();
    },
  };
}

/**
 * One node's adapters over `cluster`'s shared state (what a second process would get from Redis):
 * its subscriptions and held locks are its own, and `close()` is that node going away without
 * cleaning up (timers it armed still fire elsewhere; locks it held free themselves after the TTL).
 */
export function memoryClusterNode(
  cluster: ReturnType<typeof createMemoryCluster>,
): Omit<ClusterAdapters, 'calls'> & { outbox: MemoryOutboxStore } {
  const bus = cluster.bus.view();
  const scheduler = cluster.scheduler.view();
  const locks = cluster.locks.view();
  return {
    presence: cluster.presence,
    devices: cluster.devices,
    bus,
    scheduler,
    locks,
    outbox: cluster.outbox,
    // Shared sessions when the cluster has them (memory-sessions.ts, withSharedSessions).
    ...(cluster.sessions && { sessions: cluster.sessions }),
    ...(cluster.nodes && { nodes: cluster.nodes }),
    async close() {
      bus.close();
      scheduler.close();
      locks.close();
    },
  };
}
