/**
 * Call history: one row per call, started when the call is created and finished when it ends.
 * Written by the call layer; nothing here is needed for a call to work, so callers may log and
 * carry on if a write fails. A failed write (disk full, I/O error) is dropped, not retried: it is
 * counted in `failedWrites` and its caller's promise rejects (the call layer logs it). A record
 * whose end was dropped stays open until the next start closes it with `server_restart`.
 */
import {
  MISSED_OUTCOMES,
  type CallEndReason,
  type CallHistoryCall,
  type CallType,
  type MediaMode,
  type MemberOutcome,
} from '@ringline/protocol';
import {
  sql,
  type CompiledQuery,
  type Kysely,
  type QueryResult,
  type RawBuilder,
  type Selectable,
  type Transaction,
} from 'kysely';
import type { SyncBatch } from './dialect.js';
import { commitMemberOps, type MemberOp } from './call-members.js';
import { storageFailure } from './failures.js';
import { prepare, slot } from './prepared.js';
import type { CallRecordsTable, Database } from './schema.js';

/** What is known when a call is created. */
export interface CallStart {
  callID: string;
  roomID: number;
  /** The user who started the call. */
  sponsor: string;
  /** The group the call was made into, if any. */
  groupID?: string | undefined;
  callType: CallType;
  media: MediaMode;
  /** Users in the call at the start (usually the sponsor). Default: the sponsor. */
  members?: readonly string[];
  /** Unix ms. Default now. */
  startedAt?: number;
}

/**
 * Why a record ended: a call's end reason, or `server_restart` — the server stopped (crashed)
 * while the call was in progress, and the next start closed the record.
 */
export type RecordEndReason = CallEndReason | 'server_restart';

/** What is known when a call ends. */
export interface CallEnd {
  reason: CallEndReason;
  /** Everyone who joined the call over its life; replaces the stored list when given. */
  members?: readonly string[];
  /** The media mode the call ended in (a 1:1 call may have moved to the SFU). */
  media?: MediaMode;
  /** Unix ms. Default now. */
  endedAt?: number;
}

/** The fields of a stored call that every view of it shares (the history APIs add the rest). */
export type CallFields = Omit<CallHistoryCall, 'durationMs' | 'members'>;

/** A stored call. */
export type CallRecord = CallFields & {
  /** Everyone who joined the call (the sponsor first). */
  members: string[];
  /** The node that carried the call; absent for the default node. */
  nodeID?: string;
};

type StartValues = Parameters<ReturnType<typeof prepareWrites>['start']['bind']>[0];
type ConnectedValues = Parameters<ReturnType<typeof prepareWrites>['connected']['bind']>[0];
type EndValues = Parameters<ReturnType<typeof prepareWrites>['end']['bind']>[0];

/** A write, as its own statement and as what a grouped statement needs. */
type Write =
  | { kind: 'start'; values: StartValues }
  | { kind: 'connected'; values: ConnectedValues }
  | { kind: 'end'; values: EndValues }
  // A member row's change: its own statement, or grouped with others (call-members.ts).
  | { kind: 'member'; values: MemberOp };

interface PendingWrite {
  write: Write;
  query: CompiledQuery;
  resolve: (result: QueryResult<unknown>) => void;
  reject: (err: unknown) => void;
}

const ONE_ROW: QueryResult<unknown> = { rows: [], numAffectedRows: 1n };
const NO_ROW: QueryResult<unknown> = { rows: [], numAffectedRows: 0n };

/** A batch this large commits at once instead of waiting for the end of the event-loop turn. */
const MAX_BATCH = 512;

/** Call records closed per statement when some are left open (`closeInterrupted` with live calls). */
const CLOSE_BATCH = 500;

export class CallRecordStore {
  /** Writes waiting for the next group commit, in the order they were made. */
  #pending: PendingWrite[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #failedWrites = 0;
  /** The last commit that went through Kysely (the synchronous path needs none). */
  #flushing: Promise<void> = Promise.resolve();
  /** Commits through Kysely not yet finished: later ones must queue behind them. */
  #inFlight = 0;
  readonly #queries: ReturnType<typeof prepareWrites>;

  /**
   * @param syncBatch SQLite's synchronous batch (store/dialect.ts): a commit without a promise per
   *   query, about half the cost of one through Kysely. Without it, writes go through `db`.
   * @param nodeID The node whose calls these are: its records carry it, and `closeInterrupted`
   *   closes only records that carry it. '' is the default, single node.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
    private readonly syncBatch?: SyncBatch,
    readonly nodeID = '',
  ) {
    this.#queries = prepareWrites(db);
  }

  /** History writes that failed and were dropped since the store was opened. */
  get failedWrites(): number {
    return this.#failedWrites;
  }

  /**
   * Group commit: writes made in one turn of the event loop (under load, those of every frame read
   * in that turn) go to the database in one transaction, instead of one transaction — and one
   * WAL append — each. The commit runs at the end of the turn (setImmediate), not after a timer,
   * so a crash loses at most the writes of the turn in progress. Writes commit in the order they
   * were made. If a batch fails, its writes are retried one by one, so one bad write fails only
   * its caller (unless Postgres cannot be reached: then they all fail at once).
   */
  #write(write: Write, query: CompiledQuery): Promise<QueryResult<unknown>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ write, query, resolve, reject });
      if (this.#pending.length >= MAX_BATCH) void this.#commitPending();
      else if (this.#pending.length === 1) {
        this.#immediate = setImmediate(() => void this.#commitPending());
      }
    });
  }

  /** Commits every queued write, after the commits already started. */
  #commitPending(): Promise<void> {
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return this.#flushing;
    if (this.#inFlight === 0 && this.#commitSync(batch)) return this.#flushing;
    this.#inFlight += 1;
    this.#flushing = this.#flushing
      .then(() => this.#commit(batch))
      .finally(() => void (this.#inFlight -= 1));
    return this.#flushing;
  }

  /** Resolves once every write made so far is committed (or has failed). */
  flushed(): Promise<void> {
    return this.#commitPending();
  }

  /** Commits on the synchronous path; false (nothing done) without one or while it is busy. */
  #commitSync(batch: PendingWrite[]): boolean {
    const run = this.syncBatch;
    if (!run) return false;
    let results: QueryResult<unknown>[] | undefined;
    try {
      results = run(batch.map((w) => w.query));
    } catch {
      for (const w of batch) {
        try {
          const one = run([w.query]);
          if (!one) throw new Error('the store is busy with another transaction');
          w.resolve(one[0]!);
        } catch (err) {
          this.#dropped(w, err);
        }
      }
      return true;
    }
    if (!results) return false;
    batch.forEach((w, i) => w.resolve(results[i]!));
    return true;
  }

  async #commit(batch: PendingWrite[]): Promise<void> {
    // Without SQLite's synchronous path (Postgres), each statement costs a round trip and the
    // server's parse and plan: a batch goes as at most three statements when it can.
    if (!this.syncBatch && batch.length > 1 && (await this.#commitGrouped(batch))) return;
    const results: QueryResult<unknown>[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const { query } of batch) results.push(await trx.executeQuery(query));
      });
    } catch (err) {
      // Postgres unreachable: one by one would fail alike, each after its own connect timeout.
      if (!this.syncBatch && storageFailure(err)) {
        for (const w of batch) this.#dropped(w, err);
        return;
      }
      for (const w of batch) {
        await this.db
          .executeQuery(w.query)
          .then(w.resolve, (err: unknown) => this.#dropped(w, err));
      }
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }

  /**
   * Commits a batch as one insert of its starts, one update of its first connected() per call and
   * one of its first end() per call, in one transaction; later marks of a call in the batch
   * resolve false, as they would have one by one. False (nothing done) when the batch cannot be
   * grouped (a call marked before it is started) or the transaction fails: then the caller
   * commits it statement by statement, which finds the write that failed.
   */
  async #commitGrouped(batch: PendingWrite[]): Promise<boolean> {
    const starts: StartValues[] = [];
    const connected = new Map<string, ConnectedValues>();
    const ends = new Map<string, EndValues>();
    const members: PendingWrite[] = [];
    let memberResults: QueryResult<unknown>[] = [];
    for (const pending of batch) {
      const { write } = pending;
      const id = write.values.callID;
      if (write.kind === 'member') {
        members.push(pending);
      } else if (write.kind === 'start') {
        if (connected.has(id) || ends.has(id)) return false;
        starts.push(write.values);
      } else if (write.kind === 'connected') {
        if (!connected.has(id)) connected.set(id, write.values);
      } else if (!ends.has(id)) {
        ends.set(id, write.values);
      }
    }
    const memberIndex = new Map(members.map((m, i) => [m, i]));
    let connectedNow = new Set<string>();
    let endedNow = new Set<string>();
    try {
      await this.db.transaction().execute(async (trx) => {
        if (starts.length > 0) await insertStarts(trx, starts);
        if (connected.size > 0) connectedNow = await markConnected(trx, [...connected.values()]);
        if (ends.size > 0) endedNow = await markEnded(trx, [...ends.values()]);
        // Member rows touch only call_members; the starts they read are in by now.
        if (members.length > 0) {
          memberResults = await commitMemberOps(
            trx,
            members.map((m) => m.write.values as MemberOp),
          );
        }
      });
    } catch (err) {
      if (!storageFailure(err)) return false;
      // The database is unreachable: one by one would fail alike, each after its own wait.
      for (const w of batch) this.#dropped(w, err);
      return true;
    }
    for (const pending of batch) {
      const { write, resolve } = pending;
      if (write.kind === 'start') resolve(ONE_ROW);
      else if (write.kind === 'member') resolve(memberResults[memberIndex.get(pending)!]!);
      else {
        const [first, now] =
          write.kind === 'connected' ? [connected, connectedNow] : [ends, endedNow];
        const id = write.values.callID;
        resolve(first.get(id) === write.values && now.has(id) ? ONE_ROW : NO_ROW);
      }
    }
    return true;
  }

  #dropped(write: PendingWrite, err: unknown): void {
    this.#failedWrites += 1;
    write.reject(err);
  }

  /** Records a new call. Rejects if a record with that callID exists. */
  async start(call: CallStart): Promise<void> {
    const values = {
      callID: call.callID,
      roomID: call.roomID,
      sponsor: call.sponsor,
      groupID: call.groupID ?? null,
      callType: call.callType,
      media: call.media,
      startedAt: call.startedAt ?? this.now(),
      members: JSON.stringify(call.members ?? [call.sponsor]),
      nodeID: this.nodeID,
    };
    await this.#write({ kind: 'start', values }, this.#queries.start.bind(values));
  }

  /** Marks the moment the first invitee joined. Only the first mark counts; true if it was this one. */
  async connected(callID: string, at: number = this.now()): Promise<boolean> {
    const values = { callID, at };
    const res = await this.#write(
      { kind: 'connected', values },
      this.#queries.connected.bind(values),
    );
    return (res.numAffectedRows ?? 0n) > 0n;
  }

  /**
   * Finishes a call's record. Idempotent: only the first end counts; resolves true if it was this
   * one, false for an unknown or already ended call.
   */
  async end(callID: string, end: CallEnd): Promise<boolean> {
    const values = {
      callID,
      endedAt: end.endedAt ?? this.now(),
      reason: end.reason,
      members: end.members ? JSON.stringify(end.members) : null,
      media: end.media ?? null,
    };
    const res = await this.#write({ kind: 'end', values }, this.#queries.end.bind(values));
    return (res.numAffectedRows ?? 0n) > 0n;
  }

  /**
   * Records that `invitees` were invited into a call at `at` (and, for the call's first
   * invitation, its `inviter`, in the call from the start). Someone invited again after their
   * part ended starts a new part: their answer, leave and outcome are cleared.
   */
  async invited(
    callID: string,
    invitees: readonly string[],
    at: number = this.now(),
    inviter?: string,
  ): Promise<void> {
    // One prepared upsert per row: compiling a multi-row insert per invitation cost more than
    // the rows' writes themselves.
    const rows = invitees.filter((u) => u !== inviter).map((userID) => ({ callID, userID, at }));
    const writes = rows.map((v) => this.#member({ kind: 'invitee', ...v }));
    if (inviter !== undefined) {
      writes.unshift(this.#member({ kind: 'inviter', callID, userID: inviter, at }));
    }
    await Promise.all(writes);
  }

  /**
   * Marks that an invitee answered — on `deviceID` when the user has several devices (ring-all).
   * True if they had an open part in the call.
   */
  async answered(
    callID: string,
    userID: string,
    at: number = this.now(),
    deviceID?: string,
  ): Promise<boolean> {
    return this.#member({ kind: 'answered', callID, userID, at, deviceID: deviceID ?? null });
  }

  /**
   * Marks that a user entered the call; someone not invited (a group member joining) gets a row
   * of their own. A rejoin after leaving reopens their part.
   */
  async joined(callID: string, userID: string, at: number = this.now()): Promise<void> {
    await this.#member({ kind: 'joined', callID, userID, at });
  }

  /**
   * Ends one member's part with `outcome` (rejected, busy, no_answer, cancelled, left,
   * disconnected). Only an open part ends; true if this one was. A missed call stays unseen.
   */
  async memberEnded(
    callID: string,
    userID: string,
    outcome: MemberOutcome,
    at: number = this.now(),
  ): Promise<boolean> {
    const seenAt = MISSED_OUTCOMES.includes(outcome) ? null : at;
    return this.#member({ kind: 'ended', callID, userID, outcome, at, seenAt });
  }

  /**
   * Ends every part still open when the call ends: those in the call (or who answered) get
   * `closing`, invitees still ringing `cancelled`. Resolves with how many parts it ended.
   */
  async membersClosed(
    callID: string,
    closing: MemberOutcome,
    at: number = this.now(),
  ): Promise<number> {
    const res = await this.#write(
      { kind: 'member', values: { kind: 'closed', callID, closing, at } },
      this.#queries.membersClosed.bind({ callID, closing, at }),
    );
    return Number(res.numAffectedRows ?? 0n);
  }

  /** Queues one member-row change: its prepared statement, and what a grouped commit needs. */
  async #member(op: Exclude<MemberOp, { kind: 'closed' }>): Promise<boolean> {
    const q = this.#queries;
    const query =
      op.kind === 'ended'
        ? q.memberEnded.bind(op)
        : op.kind === 'answered'
          ? q.answered.bind(op)
          : q[op.kind].bind(op);
    const res = await this.#write({ kind: 'member', values: op }, query);
    return (res.numAffectedRows ?? 0n) > 0n;
  }

  /**
   * Closes every record this node left open — calls that were in progress when its server stopped
   * without ending them (a crash, a kill) — with reason `server_restart`. Other nodes' records
   * are theirs: on a shared database they are calls still going on. Their end time is `lastAliveAt`
   * (the last moment the stopped server is known to have been running, e.g. its last write to the
   * store), or the record's own start/connect time if that is later. Resolves with how many were
   * closed. Run it once at start, before any call is made.
   *
   * `liveCalls` names which of the open records' calls are still live in the cluster's shared
   * state (the node stopped, its calls went on): those records stay open.
   */
  async closeInterrupted(
    lastAliveAt: number,
    liveCalls?: (callIDs: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<number> {
    await this.flushed();
    if (!liveCalls) return this.#closeOpen(lastAliveAt);
    const rows = await this.db
      .selectFrom('call_records')
      .select('call_id')
      .where('ended_at', 'is', null)
      .where('node_id', '=', this.nodeID)
      .execute();
    const open = rows.map((r) => r.call_id);
    if (open.length === 0) return 0;
    const live = await liveCalls(open);
    if (live.size === 0) return this.#closeOpen(lastAliveAt);
    // Only the others, named: a `not in` over every live call could pass the database's limit.
    const gone = open.filter((id) => !live.has(id));
    let closed = 0;
    for (let i = 0; i < gone.length; i += CLOSE_BATCH) {
      closed += await this.#closeOpen(lastAliveAt, gone.slice(i, i + CLOSE_BATCH));
    }
    return closed;
  }

  async #closeOpen(lastAliveAt: number, only?: readonly string[]): Promise<number> {
    if (only && only.length === 0) return 0;
    let query = this.db
      .updateTable('call_records')
      .set((eb) => {
        const known = eb.fn.coalesce('connected_at', 'started_at');
        return {
          ended_at: eb.case().when(known, '>', lastAliveAt).then(known).else(lastAliveAt).end(),
          end_reason: 'server_restart',
        };
      })
      .where('ended_at', 'is', null)
      .where('node_id', '=', this.nodeID);
    if (only) query = query.where('call_id', 'in', only);
    const res = await query.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** The record of a call, or undefined; sees every write made before it. */
  async get(callID: string): Promise<CallRecord | undefined> {
    await this.flushed();
    const row = await this.db
      .selectFrom('call_records')
      .selectAll()
      .where('call_id', '=', callID)
      .executeTakeFirst();
    return row && toRecord(row);
  }
}

/** The call's start as stored, or `at` if its record is missing (its write failed). */
function callStart(): RawBuilder<number> {
  return sql<number>`coalesce((select started_at from call_records where call_id = ${slot('callID')}), cast(${slot('at')} as bigint))`;
}

/**
 * One row of an invitation, as an upsert: an invitee ringing, or the inviter, in the call (and
 * having seen it) from its start. Someone invited again after their part ended starts a new part.
 */
function prepareMemberRow(db: Kysely<Database>, role: 'inviter' | 'invitee') {
  const inviter = role === 'inviter';
  return prepare<{ callID: string; userID: string; at: number }>(
    db
      .insertInto('call_members')
      .values({
        call_id: slot('callID'),
        user_id: slot('userID'),
        role: sql.lit(role),
        call_started_at: callStart(),
        invited_at: slot('at'),
        answered_at: sql`null`,
        answered_device: sql`null`,
        joined_at: inviter ? slot('at') : sql`null`,
        left_at: sql`null`,
        outcome: sql`null`,
        seen_at: inviter ? slot('at') : sql`null`,
      })
      .onConflict((oc) =>
        oc.columns(['call_id', 'user_id']).doUpdateSet((eb) => ({
          invited_at: eb.ref('excluded.invited_at'),
          answered_at: sql`null`,
          answered_device: sql`null`,
          left_at: sql`null`,
          outcome: sql`null`,
          seen_at: sql`null`,
        })),
      ),
  );
}

/** The writes, compiled once (see prepared.ts). */
function prepareWrites(db: Kysely<Database>) {
  return {
    start: prepare<{
      callID: string;
      roomID: number;
      sponsor: string;
      groupID: string | null;
      callType: CallType;
      media: MediaMode;
      startedAt: number;
      members: string;
      nodeID: string;
    }>(
      db.insertInto('call_records').values({
        call_id: slot('callID'),
        room_id: slot('roomID'),
        sponsor: slot('sponsor'),
        group_id: slot('groupID'),
        call_type: slot('callType'),
        media: slot('media'),
        started_at: slot('startedAt'),
        members_json: slot('members'),
        node_id: slot('nodeID'),
      }),
    ),
    connected: prepare<{ callID: string; at: number }>(
      db
        .updateTable('call_records')
        .set({ connected_at: slot('at') })
        .where('call_id', '=', slot<string>('callID'))
        .where('connected_at', 'is', null),
    ),
    inviter: prepareMemberRow(db, 'inviter'),
    invitee: prepareMemberRow(db, 'invitee'),
    // A user entering the call: their row's join time, or a joiner's new row; a rejoin reopens it.
    joined: prepare<{ callID: string; userID: string; at: number }>(
      db
        .insertInto('call_members')
        .values({
          call_id: slot('callID'),
          user_id: slot('userID'),
          role: sql.lit('joiner'),
          call_started_at: callStart(),
          invited_at: sql`null`,
          answered_at: sql`null`,
          answered_device: sql`null`,
          joined_at: slot('at'),
          left_at: sql`null`,
          outcome: sql`null`,
          seen_at: slot('at'),
        })
        .onConflict((oc) =>
          oc.columns(['call_id', 'user_id']).doUpdateSet((eb) => ({
            joined_at: eb.ref('excluded.joined_at'),
            left_at: sql`null`,
            outcome: sql`null`,
          })),
        ),
    ),
    answered: prepare<{ callID: string; userID: string; at: number; deviceID: string | null }>(
      db
        .updateTable('call_members')
        .set({ answered_at: slot('at'), answered_device: slot('deviceID') })
        .where('call_id', '=', slot<string>('callID'))
        .where('user_id', '=', slot<string>('userID'))
        .where('outcome', 'is', null),
    ),
    memberEnded: prepare<{
      callID: string;
      userID: string;
      outcome: MemberOutcome;
      at: number;
      seenAt: number | null;
    }>(
      db
        .updateTable('call_members')
        .set({ outcome: slot('outcome'), left_at: slot('at'), seen_at: slot('seenAt') })
        .where('call_id', '=', slot<string>('callID'))
        .where('user_id', '=', slot<string>('userID'))
        .where('outcome', 'is', null),
    ),
    membersClosed: prepare<{ callID: string; closing: MemberOutcome; at: number }>(
      db
        .updateTable('call_members')
        .set((eb) => {
          const ringing = eb.and([eb('answered_at', 'is', null), eb('joined_at', 'is', null)]);
          return {
            outcome: eb
              .case()
              .when(ringing)
              .then(sql.lit<MemberOutcome>('cancelled'))
              .else(sql<MemberOutcome>`cast(${slot('closing')} as varchar(24))`)
              .end(),
            left_at: slot('at'),
            // A ringing invitee's cancelled call is missed, so unseen.
            seen_at: eb
              .case()
              .when(ringing)
              .then(sql<number | null>`null`)
              .else(sql<number>`cast(${slot('at')} as bigint)`)
              .end(),
          };
        })
        .where('call_id', '=', slot<string>('callID'))
        .where('outcome', 'is', null),
    ),
    // A null members or media keeps what is stored.
    end: prepare<{
      callID: string;
      endedAt: number;
      reason: CallEndReason;
      members: string | null;
      media: MediaMode | null;
    }>(
      db
        .updateTable('call_records')
        .set((eb) => ({
          ended_at: slot('endedAt'),
          end_reason: slot('reason'),
          members_json: eb.fn.coalesce(eb.val(slot<string | null>('members')), 'members_json'),
          media: eb.fn.coalesce(eb.val(slot<MediaMode | null>('media')), 'media'),
        }))
        .where('call_id', '=', slot<string>('callID'))
        .where('ended_at', 'is', null),
    ),
  };
}

type Writer = Kysely<Database> | Transaction<Database>;

/** Starts as one multi-row insert. */
async function insertStarts(db: Writer, starts: StartValues[]): Promise<void> {
  await db
    .insertInto('call_records')
    .values(
      starts.map((v) => ({
        call_id: v.callID,
        room_id: v.roomID,
        sponsor: v.sponsor,
        group_id: v.groupID,
        call_type: v.callType,
        media: v.media,
        started_at: v.startedAt,
        members_json: v.members,
        node_id: v.nodeID,
      })),
    )
    .execute();
}

/**
 * `CASE call_id WHEN id1 THEN v1 … END`: each row's value for its call, cast to `type` so that
 * Postgres knows the parameters' types.
 */
function byCall<R extends { callID: string }, T>(
  rows: readonly R[],
  value: (row: R) => T,
  type: 'bigint' | 'text',
): RawBuilder<T> {
  const arms = rows.map((r) => sql`when ${r.callID} then cast(${value(r)} as ${sql.raw(type)})`);
  return sql<T>`case call_id ${sql.join(arms, sql` `)} end`;
}

/** The first connected() of each call, as one update; resolves with the calls it marked. */
async function markConnected(db: Writer, rows: ConnectedValues[]): Promise<Set<string>> {
  const marked = await db
    .updateTable('call_records')
    .set({ connected_at: byCall(rows, (r) => r.at, 'bigint') })
    .where(
      'call_id',
      'in',
      rows.map((r) => r.callID),
    )
    .where('connected_at', 'is', null)
    .returning('call_id')
    .execute();
  return new Set(marked.map((r) => r.call_id));
}

/** The first end() of each call, as one update; resolves with the calls it ended. */
async function markEnded(db: Writer, rows: EndValues[]): Promise<Set<string>> {
  const ended = await db
    .updateTable('call_records')
    .set((eb) => ({
      ended_at: byCall(rows, (r) => r.endedAt, 'bigint'),
      end_reason: byCall(rows, (r) => r.reason, 'text'),
      // A null members or media keeps what is stored, as in the single end.
      members_json: eb.fn.coalesce(
        byCall(rows, (r) => r.members, 'text'),
        'members_json',
      ),
      media: eb.fn.coalesce(
        byCall(rows, (r) => r.media, 'text'),
        'media',
      ),
    }))
    .where(
      'call_id',
      'in',
      rows.map((r) => r.callID),
    )
    .where('ended_at', 'is', null)
    .returning('call_id')
    .execute();
  return new Set(ended.map((r) => r.call_id));
}

/** A row's shared fields (see CallFields). */
export function callFields(row: Selectable<CallRecordsTable>): CallFields {
  const call: CallFields = {
    callID: row.call_id,
    roomID: Number(row.room_id),
    sponsor: row.sponsor,
    callType: row.call_type,
    media: row.media,
    startedAt: Number(row.started_at),
  };
  if (row.group_id !== null) call.groupID = row.group_id;
  if (row.connected_at !== null) call.connectedAt = Number(row.connected_at);
  if (row.ended_at !== null) call.endedAt = Number(row.ended_at);
  if (row.end_reason !== null) call.endReason = row.end_reason as RecordEndReason;
  return call;
}

function toRecord(row: Selectable<CallRecordsTable>): CallRecord {
  const record: CallRecord = {
    ...callFields(row),
    members: JSON.parse(row.members_json) as string[],
  };
  if (row.node_id !== '') record.nodeID = row.node_id;
  return record;
}
