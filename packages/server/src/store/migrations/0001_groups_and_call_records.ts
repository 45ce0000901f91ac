/** Groups, their members, and call records. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('groups')
    .addColumn('group_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(256)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'varchar(64)', (c) =>
      c.notNull().references('groups.group_id').onDelete('cascade'),
    )
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute();
  // "Which groups is this user in" without a full scan.
  await db.schema
    .createIndex('group_members_by_user')
    .on('group_members')
    .columns(['user_id', 'group_id'])
    .execute();

  await db.schema
    .createTable('call_records')
    .addColumn('call_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('sponsor', 'varchar(32)', (c) => c.notNull())
    .addColumn('group_id', 'varchar(64)')
    .addColumn('call_type', 'integer', (c) => c.notNull())
    .addColumn('media', 'varchar(8)', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('connected_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('end_reason', 'varchar(32)')
    .addColumn('members_json', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema
    .createIndex('call_records_by_start')
    .on('call_records')
    .column('started_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('call_records').execute();
  await db.schema.dropTable('group_members').execute();
  await db.schema.dropTable('groups').execute();
}
