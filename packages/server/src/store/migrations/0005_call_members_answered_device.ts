/**
 * Which of a user's devices answered (`--multi-device ring-all`: the session that accepted), so
 * that the user's other devices see the call as answered elsewhere rather than answered by them.
 * Null when the user has one device (`kick`), for parts not answered, and for rows written before
 * this migration.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('call_members').addColumn('answered_device', 'varchar(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('call_members').dropColumn('answered_device').execute();
}
