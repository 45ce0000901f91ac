/**
 * Which node wrote each call record, and when each node was last alive: several nodes share one
 * Postgres, and a node that restarts must close only the records it left open, not the calls
 * other nodes are carrying. Records written before this migration belong to the default node ('').
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('call_records')
    .addColumn('node_id', 'varchar(64)', (c) => c.notNull().defaultTo(''))
    .execute();
  // Recovery looks for one node's open records; open records are few, so the index stays small.
  await db.schema
    .createIndex('call_records_open_by_node')
    .on('call_records')
    .column('node_id')
    .where(sql.ref('ended_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('store_nodes')
    .addColumn('node_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('alive_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('store_nodes').execute();
  await db.schema.dropIndex('call_records_open_by_node').execute();
  await db.schema.alterTable('call_records').dropColumn('node_id').execute();
}
