/**
 * Reading the call history: every call (the admin API) and one user's calls with their missed
 * ones (the user API). Pages go newest first by (start, call ID) with an opaque cursor, so a page
 * never repeats or skips a call when new calls come in. Writes are CallRecordStore's; every read
 * here first waits for the writes already made.
 */
import {
  DEFAULT_HISTORY_PAGE,
  DEVICE_ID_PATTERN,
  MAX_HISTORY_PAGE,
  MAX_MARK_SEEN_IDS,
  MISSED_OUTCOMES,
  MemberOutcome,
  USER_ID_PATTERN,
  type CallHistoryCall,
  type CallHistoryMember,
  type CallHistoryPage,
  type MissedCalls,
  type UserCallHistoryCall,
} from '@ringline/protocol';
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { ServerError } from '../errors.js';
import { callFields, type CallRecordStore } from './call-records.js';
import type { CallMembersTable, CallRecordsTable, Database } from './schema.js';

/** Filters of the admin list; each one given narrows it. */
export interface CallFilter {
  /** Calls this user was invited into, started or joined. */
  userID?: string | undefined;
  groupID?: string | undefined;
  /** Calls started at or after this (Unix ms). */
  from?: number | undefined;
  /** Calls started before this (Unix ms). */
  to?: number | undefined;
  /** Calls in which a member (with `userID`: that user) had this outcome. */
  outcome?: MemberOutcome | undefined;
}

export interface PageOptions {
  /** The `next` of the previous page. */
  cursor?: string | undefined;
  /** 1..MAX_HISTORY_PAGE; default DEFAULT_HISTORY_PAGE. */
  limit?: number | undefined;
}

/** Which missed calls to mark seen: all up to a time, or the ones named. */
export type SeenSelector = { before: number } | { callIDs: readonly string[] };

const OUTCOMES = new Set<string>(Object.values(MemberOutcome));
const userIdRe = new RegExp(USER_ID_PATTERN);
const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);
const MISSED = [...MISSED_OUTCOMES];

/** True if `value` is one of the member outcomes. */
export function isMemberOutcome(value: unknown): value is MemberOutcome {
  return typeof value === 'string' && OUTCOMES.has(value);
}

/** A page position as the client sees it: base64url of `[startedAt, callID]`. */
export function encodeCursor(startedAt: number, callID: string): string {
  return Buffer.from(JSON.stringify([startedAt, callID])).toString('base64url');
}

/** The position in a cursor; INVALID_CURSOR for anything this server did not hand out. */
export function decodeCursor(cursor: string): { startedAt: number; callID: string } {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw ServerError.invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw ServerError.invalidCursor();
  }
  if (!Array.isArray(value) || value.length !== 2) throw ServerError.invalidCursor();
  const [startedAt, callID] = value as unknown[];
  if (!Number.isSafeInteger(startedAt) || (startedAt as number) < 0) {
    throw ServerError.invalidCursor();
  }
  if (typeof callID !== 'string' || callID.length === 0 || callID.length > 64) {
    throw ServerError.invalidCursor();
  }
  return { startedAt: startedAt as number, callID };
}

function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_HISTORY_PAGE;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_HISTORY_PAGE) {
    throw ServerError.invalidField('/limit', `must be an integer from 1 to ${MAX_HISTORY_PAGE}`);
  }
  return n;
}

function checkUserID(path: string, userID: string): void {
  if (!userIdRe.test(userID)) throw ServerError.invalidUserID(path, userID);
}

function checkDeviceID(deviceID: string): void {
  if (typeof deviceID !== 'string' || !deviceIdRe.test(deviceID)) {
    throw ServerError.invalidField('/deviceID', 'must be a session ID the server gave at login');
  }
}

export class CallHistory {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly records: CallRecordStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every call matching `filter`, newest first. INVALID_FIELD / INVALID_CURSOR for bad input. */
  async list(filter: CallFilter = {}, page: PageOptions = {}): Promise<CallHistoryPage> {
    const limit = checkLimit(page.limit);
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const { userID, groupID, from, to, outcome } = filter;
    if (userID !== undefined) checkUserID('/userID', userID);
    if (outcome !== undefined && !isMemberOutcome(outcome)) {
      throw ServerError.invalidField('/outcome', `must be one of ${[...OUTCOMES].join(', ')}`);
    }
    await this.records.flushed();
    let query = this.db.selectFrom('call_records as r').selectAll('r');
    if (groupID !== undefined) query = query.where('r.group_id', '=', groupID);
    if (from !== undefined) query = query.where('r.started_at', '>=', from);
    if (to !== undefined) query = query.where('r.started_at', '<', to);
    if (userID !== undefined || outcome !== undefined) {
      query = query.where((eb) => {
        let member = eb
          .selectFrom('call_members as m')
          .select('m.call_id')
          .whereRef('m.call_id', '=', 'r.call_id');
        if (userID !== undefined) member = member.where('m.user_id', '=', userID);
        if (outcome !== undefined) member = member.where('m.outcome', '=', outcome);
        return eb.exists(member);
      });
    }
    if (after) query = query.where((eb) => before(eb, 'r', after));
    const rows = await query
      .orderBy('r.started_at', 'desc')
      .orderBy('r.call_id', 'desc')
      .limit(limit + 1)
      .execute();
    const calls = await this.#withMembers(rows.slice(0, limit));
    return paged(calls, rows.length > limit);
  }

  /** One call with its members, or undefined. */
  async get(callID: string): Promise<CallHistoryCall | undefined> {
    if (callID.length > 64) return undefined;
    await this.records.flushed();
    const row = await this.db
      .selectFrom('call_records')
      .selectAll()
      .where('call_id', '=', callID)
      .executeTakeFirst();
    if (!row) return undefined;
    return (await this.#withMembers([row]))[0];
  }

  /**
   * `userID`'s own calls (invited, started or joined), newest first; `missed` only those. Asked
   * by one of the user's devices (`deviceID`), a call another of them answered is
   * `answered_elsewhere`. Other users' devices are never shown.
   */
  async forUser(
    userID: string,
    page: PageOptions & { missed?: boolean; deviceID?: string | undefined } = {},
  ): Promise<CallHistoryPage<UserCallHistoryCall>> {
    checkUserID('/userID', userID);
    const { deviceID } = page;
    if (deviceID !== undefined) checkDeviceID(deviceID);
    const limit = checkLimit(page.limit);
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    await this.records.flushed();
    let query = this.db
      .selectFrom('call_members as m')
      .innerJoin('call_records as r', 'r.call_id', 'm.call_id')
      .selectAll('r')
      .select([
        'm.role as my_role',
        'm.outcome as my_outcome',
        'm.seen_at as my_seen_at',
        'm.call_started_at as my_started_at',
        'm.answered_device as my_device',
      ])
      .where('m.user_id', '=', userID);
    if (page.missed) {
      query = query.where('m.role', '=', 'invitee').where('m.outcome', 'in', MISSED);
    }
    if (after) query = query.where((eb) => before(eb, 'm', after));
    const rows = await query
      .orderBy('m.call_started_at', 'desc')
      .orderBy('m.call_id', 'desc')
      .limit(limit + 1)
      .execute();
    const shown = rows.slice(0, limit);
    const calls = await this.#withMembers(shown, false);
    const mine: UserCallHistoryCall[] = calls.map((c, i) => {
      const r = shown[i]!;
      const missed = r.my_role === 'invitee' && r.my_outcome !== null && isMissed(r.my_outcome);
      const call: UserCallHistoryCall = {
        ...c,
        // The member row's copy of the start is what the page is ordered by.
        startedAt: Number(r.my_started_at),
        role: r.my_role,
        missed,
        seen: !missed || r.my_seen_at !== null,
      };
      if (r.my_outcome !== null) call.outcome = r.my_outcome;
      // Another device took it: from this one it was answered elsewhere, however it went on.
      if (deviceID !== undefined && r.my_device !== null && r.my_device !== deviceID) {
        call.outcome = MemberOutcome.ANSWERED_ELSEWHERE;
      }
      return call;
    });
    return paged(mine, rows.length > limit);
  }

  /** How many of `userID`'s missed calls are not marked seen. */
  async unreadMissed(userID: string): Promise<number> {
    checkUserID('/userID', userID);
    await this.records.flushed();
    const row = await this.db
      .selectFrom('call_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userID)
      .where('seen_at', 'is', null)
      .where('role', '=', 'invitee')
      .where('outcome', 'in', MISSED)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** `userID`'s missed calls: the unread count and a page of them. */
  async missed(
    userID: string,
    page: PageOptions & { deviceID?: string | undefined } = {},
  ): Promise<MissedCalls> {
    const list = await this.forUser(userID, { ...page, missed: true });
    return { unread: await this.unreadMissed(userID), ...list };
  }

  /**
   * Marks `userID`'s missed calls seen: those of calls started at or before `before`, or the
   * calls named (at most MAX_MARK_SEEN_IDS). Resolves with how many were unread.
   */
  async markSeen(userID: string, which: SeenSelector): Promise<number> {
    checkUserID('/userID', userID);
    if ('callIDs' in which) {
      if (which.callIDs.length === 0) return 0;
      if (which.callIDs.length > MAX_MARK_SEEN_IDS) {
        throw ServerError.invalidField('/callIDs', `at most ${MAX_MARK_SEEN_IDS} call IDs`);
      }
    } else if (!Number.isSafeInteger(which.before) || which.before < 0) {
      throw ServerError.invalidField('/before', 'must be a time in Unix ms');
    }
    await this.records.flushed();
    let query = this.db
      .updateTable('call_members')
      .set({ seen_at: this.now() })
      .where('user_id', '=', userID)
      .where('seen_at', 'is', null)
      .where('role', '=', 'invitee')
      .where('outcome', 'in', MISSED);
    query =
      'callIDs' in which
        ? query.where('call_id', 'in', [...which.callIDs])
        : query.where('call_started_at', '<=', which.before);
    const res = await query.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /**
   * The rows as calls, each with its members in the order they came; with `devices`, the device
   * that answered (session IDs: the admin's to see, not other users').
   */
  async #withMembers(
    rows: Selectable<CallRecordsTable>[],
    devices = true,
  ): Promise<CallHistoryCall[]> {
    if (rows.length === 0) return [];
    const members = await this.db
      .selectFrom('call_members')
      .selectAll()
      .where(
        'call_id',
        'in',
        rows.map((r) => r.call_id),
      )
      .execute();
    const byCall = new Map<string, Selectable<CallMembersTable>[]>();
    for (const m of members) {
      const list = byCall.get(m.call_id) ?? [];
      list.push(m);
      byCall.set(m.call_id, list);
    }
    return rows.map((r) => toCall(r, byCall.get(r.call_id) ?? [], devices));
  }
}

/** Strictly after `cursor` in newest-first order. */
function before(
  eb: ExpressionBuilder<{ r: CallRecordsTable; m: CallMembersTable }, 'r' | 'm'>,
  table: 'r' | 'm',
  cursor: { startedAt: number; callID: string },
) {
  const start = table === 'r' ? 'r.started_at' : 'm.call_started_at';
  const id = table === 'r' ? 'r.call_id' : 'm.call_id';
  return eb.or([
    eb(start, '<', cursor.startedAt),
    eb.and([eb(start, '=', cursor.startedAt), eb(id, '<', cursor.callID)]),
  ]);
}

function isMissed(outcome: MemberOutcome): boolean {
  return MISSED_OUTCOMES.includes(outcome);
}

function paged<C extends CallHistoryCall>(calls: C[], more: boolean): CallHistoryPage<C> {
  const last = calls[calls.length - 1];
  return more && last ? { calls, next: encodeCursor(last.startedAt, last.callID) } : { calls };
}

/** The moment a member came into the call, for their order. */
const cameAt = (m: Selectable<CallMembersTable>): number =>
  Number(m.invited_at ?? m.joined_at ?? m.call_started_at);

function toCall(
  row: Selectable<CallRecordsTable>,
  members: Selectable<CallMembersTable>[],
  devices: boolean,
): CallHistoryCall {
  return {
    ...callFields(row),
    durationMs:
      row.connected_at !== null && row.ended_at !== null
        ? Math.max(0, Number(row.ended_at) - Number(row.connected_at))
        : 0,
    members: members
      .sort((a, b) => {
        // The inviter first, then by arrival, then by ID (one invitation's invitees share a time).
        const ra = a.role === 'inviter' ? 0 : 1;
        const rb = b.role === 'inviter' ? 0 : 1;
        return ra - rb || cameAt(a) - cameAt(b) || (a.user_id < b.user_id ? -1 : 1);
      })
      .map((m) => toMember(m, devices)),
  };
}

function toMember(m: Selectable<CallMembersTable>, devices: boolean): CallHistoryMember {
  const member: CallHistoryMember = { userID: m.user_id, role: m.role };
  if (m.invited_at !== null) member.invitedAt = Number(m.invited_at);
  if (m.answered_at !== null) member.answeredAt = Number(m.answered_at);
  if (m.joined_at !== null) member.joinedAt = Number(m.joined_at);
  if (m.left_at !== null) member.leftAt = Number(m.left_at);
  if (m.outcome !== null) member.outcome = m.outcome;
  if (devices && m.answered_device !== null) member.deviceID = m.answered_device;
  return member;
}
