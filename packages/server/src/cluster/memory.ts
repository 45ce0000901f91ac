/**
 * In-memory cluster adapters: the default for a single node, and shareable between several nodes
 * in one process (which is how the scale-out path is tested). Records are copied on the way in and
 * out, so nothing above can change shared state without saving it, as with a remote store.
 */
import type {
  BusMessage,
  CallChanges,
  CallRecord,
  CallStore,
  ClusterAdapters,
  InvitationRecord,
  LoadedCall,
  LockManager,
  MessageBus,
  Presence,
  PresenceStore,
  Scheduler,
  Unsubscribe,
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

/**
 * Refuses changes that break CallStore's rules (cluster/types.ts): they are bugs in the caller, and
 * writing them would leave invitations that no call loads.
 */
export function checkChanges(callID: string, changes: CallChanges, stored: boolean): void {
  const written = changes.invitations ?? [];
  const deleted = new Set(changes.deletedInvitations ?? []);
  const refuse = (why: string) => {
    throw new Error(`CallStore.commit(${callID}): ${why}`);
  };
  if (changes.call && changes.call.callID !== callID) {
    refuse(`the call record is ${changes.call.callID}'s`);
  }
  if (!written.length) return;
  if (changes.call === null) refuse('invitations written while the call is deleted');
  if (!stored && !changes.call) refuse('invitations written for a call that is not stored');
  for (const inv of written) {
    if (inv.callID !== callID) refuse(`invitation ${inv.inviteID} belongs to ${inv.callID}`);
    if (deleted.has(inv.inviteID)) refuse(`invitation ${inv.inviteID} both written and deleted`);
  }
}

export class MemoryPresenceStore implements PresenceStore {
  readonly #byUser = new Map<string, Presence>();

  async get(userID: string): Promise<Presence | undefined> {
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

  async send(nodeID: string, message: BusMessage): Promise<void> {
    const handler = this.#handlers.get(nodeID);
    // A node that is gone has no sessions left to deliver to.
    if (handler) await handler(message);
  }
  subscribe(nodeID: string, handler: (message: BusMessage) => void | Promise<void>): Unsubscribe {
    this.#handlers.set(nodeID, handler);
    return () => {
      if (this.#handlers.get(nodeID) === handler) this.#handlers.delete(nodeID);
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
  subscribe(handler: (key: string) => void | Promise<void>): Unsubscribe {
    this.#handlers.push(handler);
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
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

/** A promise chain per key; the entry goes away when its chain drains. */
export class MemoryLockManager implements LockManager {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** Fresh in-memory adapters; pass the same object to several nodes to make them one cluster. */
export function createMemoryCluster(): ClusterAdapters & {
  calls: MemoryCallStore;
  scheduler: MemoryScheduler;
} {
  const scheduler = new MemoryScheduler();
  return {
    presence: new MemoryPresenceStore(),
    calls: new MemoryCallStore(),
    bus: new MemoryMessageBus(),
    scheduler,
    locks: new MemoryLockManager(),
    async close() {
      scheduler.close();
    },
  };
}
