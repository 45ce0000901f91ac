/**
 * Each member's part in a call (issue 14's call history): who invited whom, when each answered,
 * joined and left, how their part ended, and whether a missed call was seen. One row per call and
 * user; `call_started_at` is the call's start again, so that one user's history pages by an index.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('call_members')
    .addColumn('call_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('role', 'varchar(8)', (c) => c.notNull())
    .addColumn('call_started_at', 'bigint', (c) => c.notNull())
    .addColumn('invited_at', 'bigint')
    .addColumn('answered_at', 'bigint')
    .addColumn('joined_at', 'bigint')
    .addColumn('left_at', 'bigint')
    .addColumn('outcome', 'varchar(24)')
    // Null only while a missed call is unread (or the member's part is still going on).
    .addColumn('seen_at', 'bigint')
    .addPrimaryKeyConstraint('call_members_pk', ['call_id', 'user_id'])
    .execute();
  // One user's calls, newest first (the user API, the admin API's user filter).
  await db.schema
    .createIndex('call_members_by_user')
    .on('call_members')
    .columns(['user_id', 'call_started_at', 'call_id'])
    .execute();
  // The unread missed-call count: only unseen rows, which are few.
  await db.schema
    .createIndex('call_members_unseen')
    .on('call_members')
    .column('user_id')
    .where(sql.ref('seen_at'), 'is', null)
    .execute();
  // The admin API pages every call newest first, ties broken by call ID.
  await db.schema
    .createIndex('call_records_by_start_id')
    .on('call_records')
    .columns(['started_at', 'call_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('call_records_by_start_id').execute();
  await db.schema.dropTable('call_members').execute();
}
