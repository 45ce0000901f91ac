/** The persistent store (Kysely; SQLite by default). */
export {
  openStore,
  storageFailure,
  StoreError,
  STORE_FILE,
  type Store,
  type StoreOptions,
} from './store.js';
export {
  CallRecordStore,
  type CallEnd,
  type CallRecord,
  type CallStart,
  type RecordEndReason,
} from './call-records.js';
export {
  WebhookOutboxStore,
  type OutboxEntry,
  type OutboxRow,
  type StoredOutboxRow,
} from './webhook-outbox.js';
export {
  CallHistory,
  decodeCursor,
  encodeCursor,
  isMemberOutcome,
  type CallFilter,
  type PageOptions,
  type SeenSelector,
} from './call-history.js';
export type { Database } from './schema.js';
