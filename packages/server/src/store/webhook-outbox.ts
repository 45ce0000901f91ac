/**
 * The webhook outbox's rows: enqueued when events happen, claimed by delivery workers with a lease
 * (so that nodes sharing a Postgres never send one row at the same time), then marked delivered,
 * rescheduled, or failed. Rows of one endpoint and order key (a call) are claimed one at a time in
 * `seq` order: a row is claimable only while no earlier row of its call is still pending.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, WebhookOutboxTable } from './schema.js';

/** A delivery to enqueue. */
export interface OutboxEntry {
  /** The idempotency id: unique, and the same on every attempt. */
  id: string;
  endpoint: string;
  /** Deliveries with the same key go out one at a time, in `seq` order (a call's ID). */
  orderKey: string;
  seq: number;
  type: string;
  body: string;
  /** Unix ms. */
  createdAt: number;
}

/** A claimed delivery. */
export interface OutboxRow extends OutboxEntry {
  /** Attempts made before this one. */
  attempts: number;
}

/** A row as stored, for tests and tools. */
export type StoredOutboxRow = Selectable<WebhookOutboxTable>;

/** Rows one enqueue() inserts per statement (SQLite's parameter limit is 32766). */
const INSERT_CHUNK = 500;

export class WebhookOutboxStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** Inserts deliveries, due at once, in one transaction. */
  async enqueue(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('webhook_outbox')
          .values(
            entries.slice(i, i + INSERT_CHUNK).map((e) => ({
              id: e.id,
              endpoint: e.endpoint,
              order_key: e.orderKey,
              seq: e.seq,
              type: e.type,
              body: e.body,
              state: 'pending' as const,
              attempts: 0,
              created_at: e.createdAt,
              next_at: e.createdAt,
            })),
          )
          .execute();
      }
    });
  }

  /**
   * Leases up to `limit` of `endpoint`'s due rows to `owner` until `now + leaseMs`: rows that are
   * pending, due, not leased by anyone (or whose lease ran out), and the earliest pending row of
   * their order key. A row whose predecessor (`seq - 1`) is not in the outbox waits `gapMs` from
   * its creation: another node may still be writing it. The update re-checks the lease, so two
   * workers racing for a row cannot both get it.
   */
  async claim(options: {
    endpoint: string;
    owner: string;
    now: number;
    leaseMs: number;
    limit: number;
    gapMs: number;
  }): Promise<OutboxRow[]> {
    const { endpoint, owner, now, leaseMs, limit, gapMs } = options;
    const free = sql<boolean>`(lease_until is null or lease_until <= ${now})`;
    // Postgres: rows another claim is updating are skipped, not waited for.
    const skipLocked = this.dialect === 'postgres' ? sql` for update skip locked` : sql``;
    const rows = await sql<Selectable<WebhookOutboxTable>>`
      update webhook_outbox set lease_owner = ${owner}, lease_until = ${now + leaseMs}
      where id in (
        select o.id from webhook_outbox o
        where o.endpoint = ${endpoint} and o.state = 'pending' and o.next_at <= ${now}
          and (o.lease_until is null or o.lease_until <= ${now})
          and not exists (
            select 1 from webhook_outbox p
            where p.endpoint = o.endpoint and p.order_key = o.order_key
              and p.state = 'pending' and p.seq < o.seq)
          and (o.seq <= 1 or o.created_at <= ${now - gapMs} or exists (
            select 1 from webhook_outbox q
            where q.endpoint = o.endpoint and q.order_key = o.order_key and q.seq = o.seq - 1))
        order by o.next_at, o.created_at, o.seq
        limit ${limit}${skipLocked})
      and state = 'pending' and ${free}
      returning *`.execute(this.db);
    return rows.rows
      .map((r) => ({
        id: r.id,
        endpoint: r.endpoint,
        orderKey: r.order_key,
        seq: Number(r.seq),
        type: r.type,
        body: r.body,
        createdAt: Number(r.created_at),
        attempts: Number(r.attempts),
      }))
      .sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
  }

  /** Marks a leased row delivered; false if `owner` no longer holds its lease. */
  async delivered(id: string, owner: string, now: number): Promise<boolean> {
    return this.#finish(id, owner, {
      state: 'delivered',
      done_at: now,
      attempts: sql`attempts + 1`,
    });
  }

  /** Records a failed attempt and when to try again; false if `owner` lost the lease. */
  async retryAt(id: string, owner: string, nextAt: number, error: string): Promise<boolean> {
    return this.#finish(id, owner, {
      next_at: nextAt,
      attempts: sql`attempts + 1`,
      last_error: error.slice(0, 500),
    });
  }

  /** Gives up on a row: kept, marked failed; false if `owner` lost the lease. */
  async failed(id: string, owner: string, now: number, error: string): Promise<boolean> {
    return this.#finish(id, owner, {
      state: 'failed',
      done_at: now,
      attempts: sql`attempts + 1`,
      last_error: error.slice(0, 500),
    });
  }

  /** Gives back the leases `owner` holds (a worker closing): another worker may take them now. */
  async release(owner: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ lease_owner: null, lease_until: null })
      .where('lease_owner', '=', owner)
      .where('state', '=', 'pending')
      .execute();
  }

  async #finish(id: string, owner: string, values: Record<string, unknown>): Promise<boolean> {
    const res = await this.db
      .updateTable('webhook_outbox')
      .set({ ...values, lease_owner: null, lease_until: null } as never)
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * Deletes delivered rows finished before `deliveredBefore` and failed ones finished before
   * `failedBefore`; resolves with how many.
   */
  async prune(deliveredBefore: number, failedBefore: number): Promise<number> {
    const res = await this.db
      .deleteFrom('webhook_outbox')
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'delivered'), eb('done_at', '<', deliveredBefore)]),
          eb.and([eb('state', '=', 'failed'), eb('done_at', '<', failedBefore)]),
        ]),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Deliveries still to make (due or waiting to be retried), all endpoints. */
  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_outbox')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('state', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Every row, oldest first (tests, tools). */
  async list(): Promise<StoredOutboxRow[]> {
    const rows = await this.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .orderBy('created_at')
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({
      ...r,
      seq: Number(r.seq),
      attempts: Number(r.attempts),
      created_at: Number(r.created_at),
      next_at: Number(r.next_at),
      lease_until: r.lease_until === null ? null : Number(r.lease_until),
      done_at: r.done_at === null ? null : Number(r.done_at),
    }));
  }
}
