/**
 * Call history: one row per call, started when the call is created and finished when it ends.
 * Written by the call layer; nothing here is needed for a call to work, so callers may log and
 * carry on if a write fails.
 */
import type { CallEndReason, CallType, MediaMode } from '@ringline/protocol';
import type { Kysely, Selectable } from 'kysely';
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

/** A stored call. */
export interface CallRecord {
  callID: string;
  roomID: number;
  sponsor: string;
  groupID?: string;
  callType: CallType;
  media: MediaMode;
  startedAt: number;
  /** When the first invitee joined; absent when nobody did. */
  connectedAt?: number;
  endedAt?: number;
  endReason?: CallEndReason;
  members: string[];
}

interface PendingWrite {
  write: (db: Kysely<Database>) => Promise<unknown>;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export class CallRecordStore {
  /** Writes waiting for the next group commit, in the order they were made. */
  #pending: PendingWrite[] = [];
  /** The group commit in progress. */
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Group commit: the writes made in one turn of the event loop (under load, those of many calls)
   * go to SQLite in one transaction, instead of one transaction — and one WAL append — each. If
   * the batch fails, its writes are retried one by one, so one bad write fails only its caller.
   */
  #write<T>(write: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) {
        setImmediate(() => (this.#flushing = this.#flushing.then(() => this.#flush())));
      }
      this.#pending.push({ write, resolve: resolve as (result: unknown) => void, reject });
    });
  }

  /** Resolves once every write made so far is committed (or has failed). */
  async flushed(): Promise<void> {
    while (this.#pending.length > 0) await new Promise((resolve) => setImmediate(resolve));
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    const results: unknown[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const { write } of batch) results.push(await write(trx));
      });
    } catch {
      for (const { write, resolve, reject } of batch) await write(this.db).then(resolve, reject);
      return;
    }
    batch.forEach(({ resolve }, i) => resolve(results[i]));
  }

  /** Records a new call. Rejects if a record with that callID exists. */
  async start(call: CallStart): Promise<void> {
    const startedAt = call.startedAt ?? this.now();
    await this.#write((db) =>
      db
        .insertInto('call_records')
        .values({
          call_id: call.callID,
          room_id: call.roomID,
          sponsor: call.sponsor,
          group_id: call.groupID ?? null,
          call_type: call.callType,
          media: call.media,
          started_at: startedAt,
          connected_at: null,
          ended_at: null,
          end_reason: null,
          members_json: JSON.stringify(call.members ?? [call.sponsor]),
        })
        .execute(),
    );
  }

  /** Marks the moment the first invitee joined. Only the first mark counts; true if it was this one. */
  async connected(callID: string, at: number = this.now()): Promise<boolean> {
    const res = await this.#write((db) =>
      db
        .updateTable('call_records')
        .set({ connected_at: at })
        .where('call_id', '=', callID)
        .where('connected_at', 'is', null)
        .executeTakeFirst(),
    );
    return res.numUpdatedRows > 0n;
  }

  /**
   * Finishes a call's record. Idempotent: only the first end counts; resolves true if it was this
   * one, false for an unknown or already ended call.
   */
  async end(callID: string, end: CallEnd): Promise<boolean> {
    const endedAt = end.endedAt ?? this.now();
    const res = await this.#write((db) =>
      db
        .updateTable('call_records')
        .set({
          ended_at: endedAt,
          end_reason: end.reason,
          ...(end.members ? { members_json: JSON.stringify(end.members) } : {}),
          ...(end.media ? { media: end.media } : {}),
        })
        .where('call_id', '=', callID)
        .where('ended_at', 'is', null)
        .executeTakeFirst(),
    );
    return res.numUpdatedRows > 0n;
  }

  /** The record of a call, or undefined. */
  async get(callID: string): Promise<CallRecord | undefined> {
    const row = await this.db
      .selectFrom('call_records')
      .selectAll()
      .where('call_id', '=', callID)
      .executeTakeFirst();
    return row && toRecord(row);
  }
}

function toRecord(row: Selectable<CallRecordsTable>): CallRecord {
  const record: CallRecord = {
    callID: row.call_id,
    roomID: Number(row.room_id),
    sponsor: row.sponsor,
    callType: row.call_type,
    media: row.media,
    startedAt: Number(row.started_at),
    members: JSON.parse(row.members_json) as string[],
  };
  if (row.group_id !== null) record.groupID = row.group_id;
  if (row.connected_at !== null) record.connectedAt = Number(row.connected_at);
  if (row.ended_at !== null) record.endedAt = Number(row.ended_at);
  if (row.end_reason !== null) record.endReason = row.end_reason as CallEndReason;
  return record;
}
