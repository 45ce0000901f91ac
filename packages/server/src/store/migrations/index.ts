/**
 * Every migration, in order. Listed in code rather than read from a folder at run time, so the same
 * list works from the TypeScript sources (tests) and from dist/ (production). Names sort in the
 * order they must run; never rename or edit one that has shipped — add a new one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_groups_and_call_records.js';
import * as m0002 from './0002_call_records_by_node.js';
import * as m0003 from './0003_call_members.js';
import * as m0004 from './0004_webhook_outbox.js';
import * as m0005 from './0005_call_members_answered_device.js';

export const migrations: Record<string, Migration> = {
  '0001_groups_and_call_records': m0001,
  '0002_call_records_by_node': m0002,
  '0003_call_members': m0003,
  '0004_webhook_outbox': m0004,
  '0005_call_members_answered_device': m0005,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
