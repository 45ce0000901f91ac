/**
 * The webhook outbox: one row per event per endpoint, written when the event happens and kept
 * until it is delivered (then pruned after a while) or given up on (kept, marked failed). Nodes
 * sharing a Postgres share it; a worker claims rows with a lease (webhooks/worker.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_outbox')
    // The delivery's idempotency id (Ringline-Event-Id): the same on every retry.
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('endpoint', 'varchar(2048)', (c) => c.notNull())
    // What orders deliveries: a call's ID, or the event's own id for events of no call.
    .addColumn('order_key', 'varchar(128)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    // The exact bytes sent (and signed) on every attempt.
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('next_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_owner', 'varchar(64)')
    .addColumn('lease_until', 'bigint')
    .addColumn('done_at', 'bigint')
    .addColumn('last_error', 'varchar(512)')
    .execute();
  // A worker's claim: an endpoint's pending rows that are due.
  await db.schema
    .createIndex('webhook_outbox_due')
    .on('webhook_outbox')
    .columns(['endpoint', 'state', 'next_at'])
    .execute();
  // "Is an earlier event of this call still pending?"
  await db.schema
    .createIndex('webhook_outbox_by_order')
    .on('webhook_outbox')
    .columns(['endpoint', 'order_key', 'seq'])
    .execute();
  // Pruning finished rows.
  await db.schema
    .createIndex('webhook_outbox_done')
    .on('webhook_outbox')
    .columns(['state', 'done_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_outbox').execute();
}
