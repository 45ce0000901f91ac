/**
 * Presence, sessions' outboxes, SharedSessions and NodeRegistry in the state file: what the Redis
 * adapters do (cluster/redis/sessions.ts), so that a restarted node's clients resume their
 * sessions with the pushes they missed, exactly as they resume on another node with Redis.
 *
 * Expiry is a column (epoch ms): a row past it is absent to every read, deleted when touched, and
 * swept now and then (`purge`), as Redis's TTLs are.
 */
import { sessionTimerKey } from '../keys.js';
import type {
  MessageBus,
  NodeRegistry,
  OutboxEntry,
  OutboxStore,
  Presence,
  PresenceStore,
  SharedSessions,
} from '../types.js';
import { guard, type StateDb } from './db.js';

/** As the Redis adapter's LIVE_OUTBOX_TTL_MS: a live session's outbox is kept this long. */
const LIVE_TTL_MS = 24 * 3600_000;

/** Expired outboxes deleted per sweep (bounds one sweep's work; the next takes the rest). */
const PURGE_BATCH = 1000;

export class SqlitePresenceStore implements PresenceStore {
  readonly #db: StateDb;
  readonly #get;
  readonly #set;
  readonly #remove;

  constructor(db: StateDb) {
    this.#db = db;
    this.#get = db.prepare<[string], { session_id: string; node_id: string }>(
      'SELECT session_id, node_id FROM presence WHERE user_id = ?',
    );
    this.#set = db.prepare<[string, string, string]>(
      'INSERT OR REPLACE INTO presence (user_id, session_id, node_id) VALUES (?, ?, ?)',
    );
    this.#remove = db.prepare<[string, string]>(
      'DELETE FROM presence WHERE user_id = ? AND session_id = ?',
    );
  }

  async get(userID: string): Promise<Presence | undefined> {
    return guard('presence get', this.#db, () => this.peek(userID));
  }
  /** `get` without the promise, inside another operation's transaction. */
  peek(userID: string): Presence | undefined {
    const row = this.#get.get(userID);
    return row && { userID, sessionID: row.session_id, nodeID: row.node_id };
  }
  async set(presence: Presence): Promise<void> {
    guard('presence set', this.#db, () => this.put(presence));
  }
  put(p: Presence): void {
    this.#set.run(p.userID, p.sessionID, p.nodeID);
  }
  async remove(userID: string, sessionID: string): Promise<boolean> {
    return guard(
      'presence remove',
      this.#db,
      () => this.#remove.run(userID, sessionID).changes > 0,
    );
  }
}

export class SqliteOutboxStore implements OutboxStore {
  readonly #db: StateDb;
  readonly #q;

  constructor(db: StateDb) {
    this.#db = db;
    this.#q = {
      head: db.prepare<[string], { head: number; expires_at: number }>(
        'SELECT head, expires_at FROM outboxes WHERE session_id = ?',
      ),
      putHead: db.prepare<[string, number, number]>(
        'INSERT OR REPLACE INTO outboxes (session_id, head, expires_at) VALUES (?, ?, ?)',
      ),
      setExpiry: db.prepare<[number, string]>(
        'UPDATE outboxes SET expires_at = ? WHERE session_id = ?',
      ),
      deleteHead: db.prepare<[string]>('DELETE FROM outboxes WHERE session_id = ?'),
      deleteEntries: db.prepare<[string]>('DELETE FROM outbox_entries WHERE session_id = ?'),
      put: db.prepare<[string, number, string]>(
        'INSERT INTO outbox_entries (session_id, seq, json) VALUES (?, ?, ?)',
      ),
      trim: db.prepare<[string, number]>(
        'DELETE FROM outbox_entries WHERE session_id = ? AND seq <= ?',
      ),
      first: db.prepare<[string], { seq: number | null }>(
        'SELECT min(seq) AS seq FROM outbox_entries WHERE session_id = ?',
      ),
      after: db.prepare<[string, number], OutboxEntry>(
        'SELECT seq, json FROM outbox_entries WHERE session_id = ? AND seq > ? ORDER BY seq',
      ),
      expired: db.prepare<[number, number], { session_id: string }>(
        'SELECT session_id FROM outboxes WHERE expires_at <= ? LIMIT ?',
      ),
    };
    this.appendNow = db.transaction(this.appendNow.bind(this));
    this.readNow = db.transaction(this.readNow.bind(this));
    this.openNow = db.transaction(this.openNow.bind(this));
    this.deleteNow = db.transaction(this.deleteNow.bind(this));
  }

  async open(sessionID: string, ttlMs: number): Promise<void> {
    guard('outbox open', this.#db, () => this.openNow(sessionID, ttlMs));
  }
  async append(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): Promise<number | undefined> {
    return guard('outbox append', this.#db, () => this.appendNow(sessionID, json, options));
  }
  async read(sessionID: string, afterSeq: number): Promise<OutboxEntry[] | undefined> {
    return guard('outbox read', this.#db, () => this.readNow(sessionID, afterSeq));
  }
  async ack(sessionID: string, seq: number): Promise<void> {
    guard('outbox ack', this.#db, () => this.#q.trim.run(sessionID, seq));
  }
  async expire(sessionID: string, ttlMs: number): Promise<void> {
    guard('outbox expire', this.#db, () => this.expireNow(sessionID, ttlMs));
  }
  async delete(sessionID: string): Promise<void> {
    guard('outbox delete', this.#db, () => this.deleteNow(sessionID));
  }

  // The synchronous forms, for SharedSessions' transactions (a nested call is a savepoint).

  /** Starts the outbox (empty, head 0) unless a live one exists; either way for `ttlMs`. */
  openNow(sessionID: string, ttlMs: number): void {
    if (this.#live(sessionID) === undefined) this.openAt(sessionID, 0, ttlMs);
    else this.expireNow(sessionID, ttlMs);
  }
  /** Starts an empty outbox with head `seq` (whatever was there goes). */
  openAt(sessionID: string, seq: number, ttlMs: number): void {
    this.#q.deleteEntries.run(sessionID);
    this.#q.putHead.run(sessionID, seq, expiry(ttlMs));
  }
  appendNow(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): number | undefined {
    const head = this.#live(sessionID);
    if (head === undefined) return undefined;
    const seq = head + 1;
    this.#q.put.run(sessionID, seq, json);
    this.#q.trim.run(sessionID, seq - Math.max(1, Math.floor(options.limit)));
    this.#q.putHead.run(sessionID, seq, expiry(options.ttlMs));
    return seq;
  }
  readNow(sessionID: string, afterSeq: number): OutboxEntry[] | undefined {
    const head = this.#live(sessionID);
    if (head === undefined || afterSeq > head || afterSeq < 0) return undefined;
    if (afterSeq === head) return [];
    const first = this.#q.first.get(sessionID)?.seq;
    if (first === null || first === undefined || first > afterSeq + 1) return undefined;
    return this.#q.after.all(sessionID, afterSeq);
  }
  /** Keeps a live outbox `ttlMs` from now; touches nothing else. */
  expireNow(sessionID: string, ttlMs: number): void {
    if (this.#live(sessionID) !== undefined) this.#q.setExpiry.run(expiry(ttlMs), sessionID);
  }
  deleteNow(sessionID: string): void {
    this.#q.deleteEntries.run(sessionID);
    this.#q.deleteHead.run(sessionID);
  }
  /** The live outbox's head; an expired one is deleted and reads as none. */
  liveHead(sessionID: string): number | undefined {
    return this.#live(sessionID);
  }

  /** Deletes up to PURGE_BATCH expired outboxes; how many went. */
  purge(): number {
    return guard('outbox sweep', this.#db, () =>
      this.#db.transaction(() => {
        const gone = this.#q.expired.all(Date.now(), PURGE_BATCH);
        for (const { session_id } of gone) this.deleteNow(session_id);
        return gone.length;
      })(),
    );
  }

  #live(sessionID: string): number | undefined {
    const row = this.#q.head.get(sessionID);
    if (!row) return undefined;
    if (row.expires_at > Date.now()) return row.head;
    this.deleteNow(sessionID);
    return undefined;
  }
}

export class SqliteSharedSessions implements SharedSessions {
  readonly #db: StateDb;
  readonly #outbox: SqliteOutboxStore;
  readonly #bus: MessageBus;
  readonly #limit: number;
  readonly #open: (p: Presence) => void;
  readonly #append: (
    userID: string,
    json: string,
    sessionID?: string,
  ) => (Presence & { seq: number }) | undefined;
  readonly #takeOver: (
    userID: string,
    sessionID: string,
    nodeID: string,
    afterSeq: number,
  ) => { entries: OutboxEntry[]; head: number; previousNode: string } | undefined;
  readonly #relist: (nodeID: string, sessions: ReadonlyArray<Listed>) => void;
  readonly #end: (sessionID: string, nodeID: string) => void;

  constructor(
    db: StateDb,
    presence: SqlitePresenceStore,
    outbox: SqliteOutboxStore,
    bus: MessageBus,
    options: { outboxLimit: number },
  ) {
    this.#db = db;
    this.#outbox = outbox;
    this.#bus = bus;
    this.#limit = Math.max(1, Math.floor(options.outboxLimit));
    const q = {
      hold: db.prepare<[string, string, string]>(
        'INSERT OR REPLACE INTO node_sessions (node_id, session_id, user_id) VALUES (?, ?, ?)',
      ),
      unhold: db.prepare<[string, string]>(
        'DELETE FROM node_sessions WHERE node_id = ? AND session_id = ?',
      ),
    };
    this.#open = db.transaction((p: Presence) => {
      presence.put(p);
      outbox.openAt(p.sessionID, 0, LIVE_TTL_MS);
      q.hold.run(p.nodeID, p.sessionID, p.userID);
    });
    this.#append = db.transaction((userID: string, json: string, sessionID?: string) => {
      const p = presence.peek(userID);
      if (!p || (sessionID !== undefined && sessionID !== p.sessionID)) return undefined;
      const seq = outbox.appendNow(p.sessionID, json, { limit: this.#limit, ttlMs: LIVE_TTL_MS });
      return seq === undefined ? undefined : { ...p, seq };
    });
    this.#takeOver = db.transaction(
      (userID: string, sessionID: string, nodeID: string, afterSeq: number) => {
        const p = presence.peek(userID);
        if (!p || p.sessionID !== sessionID) return undefined;
        const entries = outbox.readNow(sessionID, afterSeq);
        if (!entries) return undefined;
        const head = outbox.liveHead(sessionID)!;
        presence.put({ userID, sessionID, nodeID });
        if (p.nodeID !== nodeID) q.unhold.run(p.nodeID, sessionID);
        q.hold.run(nodeID, sessionID, userID);
        outbox.expireNow(sessionID, LIVE_TTL_MS);
        return { entries, head, previousNode: p.nodeID };
      },
    );
    this.#relist = db.transaction((nodeID: string, sessions: ReadonlyArray<Listed>) => {
      for (const s of sessions) {
        q.hold.run(nodeID, s.sessionID, s.userID);
        if (!presence.peek(s.userID)) presence.put({ ...s, nodeID });
        if (
          presence.peek(s.userID)?.sessionID === s.sessionID &&
          outbox.liveHead(s.sessionID) === undefined
        ) {
          outbox.openAt(s.sessionID, s.seq, LIVE_TTL_MS);
        }
      }
    });
    this.#end = db.transaction((sessionID: string, nodeID: string) => {
      outbox.deleteNow(sessionID);
      q.unhold.run(nodeID, sessionID);
    });
  }

  async open(p: Presence): Promise<void> {
    guard('session open', this.#db, () => this.#open(p));
  }

  async deliver(userID: string, json: string, sessionID?: string): Promise<boolean> {
    const at = guard('session push', this.#db, () => this.#append(userID, json, sessionID));
    if (!at) return false;
    // Appended and handed to the (in-process) bus in one synchronous step: pushes reach the
    // session's node in seq order. A node that is gone (a restart) finds them in the outbox.
    await this.#bus.send(at.nodeID, {
      kind: 'pushed',
      userID,
      sessionID: at.sessionID,
      seq: at.seq,
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
    return guard('session take-over', this.#db, () =>
      this.#takeOver(userID, sessionID, nodeID, afterSeq),
    );
  }

  async ack(sessionID: string, seq: number): Promise<void> {
    await this.#outbox.ack(sessionID, seq);
  }

  async keepAlive(sessionIDs: readonly string[]): Promise<void> {
    guard('session keep-alive', this.#db, () =>
      this.#db.transaction(() => {
        for (const sid of sessionIDs) this.#outbox.expireNow(sid, LIVE_TTL_MS);
      })(),
    );
    // The sweep that keeps live outboxes is also when expired ones go.
    this.#outbox.purge();
  }

  async relist(
    nodeID: string,
    sessions: ReadonlyArray<{ sessionID: string; userID: string; seq: number }>,
  ): Promise<void> {
    guard('session relist', this.#db, () => this.#relist(nodeID, sessions));
  }

  async end(sessionID: string, nodeID: string): Promise<void> {
    guard('session end', this.#db, () => this.#end(sessionID, nodeID));
  }
}

export class SqliteNodeRegistry implements NodeRegistry {
  readonly #db: StateDb;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  readonly #beat: (nodeID: string, resumeWindowMs: number) => { dead: string[]; rejoined: boolean };
  readonly #alive;
  readonly #leave: (nodeID: string) => void;

  /**
   * `single`: one node runs on the file at a time (it is opened exclusively), so every other node
   * listed when this one starts is a previous process of it, dead: claimed at the first beat, its
   * sessions' resume windows starting then, without waiting `deadAfterMs`.
   */
  constructor(
    db: StateDb,
    options: { heartbeatMs: number; deadAfterMs: number; single?: boolean },
  ) {
    this.#db = db;
    this.heartbeatMs = options.heartbeatMs;
    this.deadAfterMs = options.deadAfterMs;
    const deadAfter = options.deadAfterMs;
    const q = {
      mine: db.prepare<[string], { beat: number }>('SELECT beat FROM nodes WHERE node_id = ?'),
      put: db.prepare<[string, number]>(
        'INSERT OR REPLACE INTO nodes (node_id, beat) VALUES (?, ?)',
      ),
      stale: db.prepare<[number, string, number], { node_id: string }>(
        'SELECT node_id FROM nodes WHERE beat < ? AND node_id <> ? ORDER BY beat LIMIT ?',
      ),
      held: db.prepare<[string], { session_id: string; user_id: string }>(
        'SELECT session_id, user_id FROM node_sessions WHERE node_id = ?',
      ),
      arm: db.prepare<[string, number]>('INSERT OR REPLACE INTO timers (key, due) VALUES (?, ?)'),
      drop: db.prepare<[string]>('DELETE FROM nodes WHERE node_id = ?'),
      unholdAll: db.prepare<[string]>('DELETE FROM node_sessions WHERE node_id = ?'),
    };
    const claim = (node: string, due: number): void => {
      q.drop.run(node);
      for (const s of q.held.all(node)) q.arm.run(sessionTimerKey(s.session_id, s.user_id), due);
      q.unholdAll.run(node);
    };
    this.#beat = db.transaction((nodeID: string, resumeWindowMs: number) => {
      const now = Date.now();
      const mine = q.mine.get(nodeID)?.beat;
      q.put.run(nodeID, now);
      const due = now + Math.max(0, Math.round(resumeWindowMs));
      if (mine === undefined) {
        if (!options.single) return { dead: [], rejoined: true };
        const dead = q.stale.all(Number.MAX_SAFE_INTEGER, nodeID, 10).map((r) => r.node_id);
        for (const node of dead) claim(node, due);
        return { dead, rejoined: true };
      }
      if (now - mine > deadAfter) return { dead: [], rejoined: false };
      const dead = q.stale.all(now - deadAfter, nodeID, 10).map((r) => r.node_id);
      for (const node of dead) claim(node, due);
      return { dead, rejoined: false };
    });
    this.#alive = q.mine;
    this.#leave = db.transaction((nodeID: string) => {
      q.drop.run(nodeID);
      q.unholdAll.run(nodeID);
    });
  }

  async beat(
    nodeID: string,
    resumeWindowMs: number,
  ): Promise<{ dead: string[]; rejoined: boolean }> {
    return guard('node heartbeat', this.#db, () => this.#beat(nodeID, resumeWindowMs));
  }

  async alive(nodeID: string): Promise<boolean> {
    const at = guard('node alive', this.#db, () => this.#alive.get(nodeID)?.beat);
    return at !== undefined && Date.now() - at <= this.deadAfterMs;
  }

  async leave(nodeID: string): Promise<void> {
    guard('node leave', this.#db, () => this.#leave(nodeID));
  }
}

/** A session a node lists as its own again (SharedSessions.relist). */
type Listed = { sessionID: string; userID: string; seq: number };

/** Epoch ms `ttlMs` from now (at least 1 ms, as Redis's PEXPIRE). */
function expiry(ttlMs: number): number {
  return Date.now() + Math.max(1, Math.round(ttlMs));
}
