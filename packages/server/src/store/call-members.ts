/**
 * The call history's member-row changes, grouped for a database reached over the network
 * (Postgres): a batch's changes go as a few statements instead of one round trip each. Changes of
 * one call keep their order — the i-th change of every call in the batch goes in round i — and
 * changes of different calls commute (they touch different rows), so each round runs one
 * statement per kind of change. SQLite runs the same changes one prepared statement at a time
 * (call-records.ts), which is as cheap there; both must mean the same (the conformance suite
 * runs on both).
 */
import { sql, type Kysely, type QueryResult, type RawBuilder, type Transaction } from 'kysely';
import type { MemberOutcome } from '@ringline/protocol';
import type { Database } from './schema.js';

/** A change of one row that needs only a time: invited, joined. */
interface RowOp {
  kind: 'inviter' | 'invitee' | 'joined';
  callID: string;
  userID: string;
  at: number;
}

/** An invitee answered; `deviceID` is the device that did (ring-all), else null. */
export interface AnsweredOp {
  kind: 'answered';
  callID: string;
  userID: string;
  at: number;
  deviceID: string | null;
}

/** One change of one member row (or, `closed`, of every open row of a call). */
export type MemberOp =
  | RowOp
  | AnsweredOp
  | {
      kind: 'ended';
      callID: string;
      userID: string;
      outcome: MemberOutcome;
      at: number;
      seenAt: number | null;
    }
  | { kind: 'closed'; callID: string; closing: MemberOutcome; at: number };

type Writer = Kysely<Database> | Transaction<Database>;

const rows = (n: number): QueryResult<unknown> => ({ rows: [], numAffectedRows: BigInt(n) });

/** Runs `ops` in rounds as described above; resolves with each op's result, in `ops` order. */
export async function commitMemberOps(
  db: Writer,
  ops: readonly MemberOp[],
): Promise<QueryResult<unknown>[]> {
  const results: QueryResult<unknown>[] = new Array<QueryResult<unknown>>(ops.length);
  const rounds: Map<MemberOp['kind'], number[]>[] = [];
  const seen = new Map<string, number>();
  ops.forEach((op, i) => {
    const round = seen.get(op.callID) ?? 0;
    seen.set(op.callID, round + 1);
    const byKind = (rounds[round] ??= new Map());
    const list = byKind.get(op.kind) ?? [];
    list.push(i);
    byKind.set(op.kind, list);
  });
  for (const byKind of rounds) {
    for (const [kind, indexes] of byKind) {
      const group = indexes.map((i) => ops[i]!);
      const counts = await runGroup(db, kind, group);
      indexes.forEach((i, j) => (results[i] = rows(counts[j]!)));
    }
  }
  return results;
}

/** One statement for ops of one kind, each of another call; resolves with rows per op. */
async function runGroup(db: Writer, kind: MemberOp['kind'], ops: MemberOp[]): Promise<number[]> {
  switch (kind) {
    case 'inviter':
    case 'invitee':
    case 'joined':
      await upsertRows(db, kind, ops as RowOp[]);
      return ops.map(() => 1);
    case 'answered': {
      const rows = (ops as AnsweredOp[]).map(
        (a) => sql`(cast(${a.callID} as text), cast(${a.userID} as text), cast(${a.at} as bigint),
          cast(${a.deviceID} as text))`,
      );
      const set = sql`answered_at = v.at, answered_device = v.device`;
      const columns = sql`call_id, user_id, at, device`;
      return perMember(ops, await updateFrom(db, rows, columns, set, true));
    }
    case 'ended': {
      const rows = (ops as Extract<MemberOp, { kind: 'ended' }>[]).map(
        (e) => sql`(cast(${e.callID} as text), cast(${e.userID} as text),
          cast(${e.outcome} as text), cast(${e.at} as bigint), cast(${e.seenAt} as bigint))`,
      );
      const columns = sql`call_id, user_id, outcome, at, seen_at`;
      const set = sql`outcome = v.outcome, left_at = v.at, seen_at = v.seen_at`;
      return perMember(ops, await updateFrom(db, rows, columns, set, true));
    }
    case 'closed': {
      const rows = (ops as Extract<MemberOp, { kind: 'closed' }>[]).map(
        (c) =>
          sql`(cast(${c.callID} as text), cast(${c.closing} as text), cast(${c.at} as bigint))`,
      );
      // As the prepared membersClosed: a ringing invitee's part ends cancelled, and stays unseen.
      const ringing = sql`m.answered_at is null and m.joined_at is null`;
      const set = sql`outcome = case when ${ringing} then 'cancelled' else v.closing end,
        left_at = v.at, seen_at = case when ${ringing} then null else v.at end`;
      const closed = await updateFrom(db, rows, sql`call_id, closing, at`, set, false);
      const count = new Map<string, number>();
      for (const r of closed) count.set(r.call_id, (count.get(r.call_id) ?? 0) + 1);
      return ops.map((o) => count.get(o.callID) ?? 0);
    }
  }
}

/**
 * `set` on the open rows matching each of `rows` (a values list named by `columns`: the call,
 * and with `byUser` the user); resolves with the rows changed.
 */
async function updateFrom(
  db: Writer,
  rows: RawBuilder<unknown>[],
  columns: RawBuilder<unknown>,
  set: RawBuilder<unknown>,
  byUser: boolean,
): Promise<{ call_id: string; user_id: string }[]> {
  const user = byUser ? sql`and m.user_id = v.user_id` : sql``;
  const res = await sql<{ call_id: string; user_id: string }>`
    update call_members m set ${set}
    from (values ${sql.join(rows)}) as v(${columns})
    where m.call_id = v.call_id ${user} and m.outcome is null
    returning m.call_id, m.user_id`.execute(db);
  return res.rows;
}

/** How many returned rows are each op's (call, user). */
function perMember(ops: MemberOp[], returned: { call_id: string; user_id: string }[]): number[] {
  const hit = new Set(returned.map((r) => `${r.call_id}\u0000${r.user_id}`));
  return ops.map((o) => ('userID' in o && hit.has(`${o.callID}\u0000${o.userID}`) ? 1 : 0));
}

/** Invitation rows (inviter, invitee) or joins, as one multi-row upsert. */
async function upsertRows(
  db: Writer,
  kind: 'inviter' | 'invitee' | 'joined',
  ops: { callID: string; userID: string; at: number }[],
): Promise<void> {
  const joiner = kind === 'joined';
  const inCall = kind !== 'invitee';
  await db
    .insertInto('call_members')
    .values(
      ops.map((o) => ({
        call_id: o.callID,
        user_id: o.userID,
        role: joiner ? 'joiner' : kind,
        call_started_at: sql<number>`coalesce((select started_at from call_records where call_id = ${o.callID}), cast(${o.at} as bigint))`,
        invited_at: joiner ? null : o.at,
        answered_at: null,
        answered_device: null,
        joined_at: inCall ? o.at : null,
        left_at: null,
        outcome: null,
        seen_at: inCall ? o.at : null,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['call_id', 'user_id']).doUpdateSet((eb) =>
        joiner
          ? { joined_at: eb.ref('excluded.joined_at'), left_at: null, outcome: null }
          : {
              invited_at: eb.ref('excluded.invited_at'),
              answered_at: null,
              answered_device: null,
              left_at: null,
              outcome: null,
              seen_at: null,
            },
      ),
    )
    .execute();
}
