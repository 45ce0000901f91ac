/**
 * The store's tables as Kysely sees them. Column names are snake_case as in SQL; times are Unix
 * milliseconds in integer columns, so that SQLite and Postgres store them alike.
 */
import type { CallType, MediaMode, MemberOutcome, MemberRole } from '@ringline/protocol';
import type { Generated } from 'kysely';

export interface GroupsTable {
  group_id: string;
  name: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  joined_at: number;
}

export interface CallRecordsTable {
  call_id: string;
  room_id: number;
  sponsor: string;
  group_id: string | null;
  call_type: CallType;
  media: MediaMode;
  started_at: number;
  connected_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  /** JSON array of every user who joined the call. */
  members_json: string;
  /** The node that carried the call ('' for the default, single node). */
  node_id: Generated<string>;
}

/** One member's part in a call (the call history's per-member rows). */
export interface CallMembersTable {
  call_id: string;
  user_id: string;
  role: MemberRole;
  /** The call's start, copied so that one user's calls page by an index. */
  call_started_at: number;
  invited_at: number | null;
  answered_at: number | null;
  /** `--multi-device ring-all`: the device (session ID) that answered; null otherwise. */
  answered_device: string | null;
  joined_at: number | null;
  left_at: number | null;
  outcome: MemberOutcome | null;
  /** When a missed call was marked seen; set at once for every other outcome. */
  seen_at: number | null;
}

/** Each node's last sign of life (Postgres): what a restarted node's recovery dates its ends to. */
export interface StoreNodesTable {
  node_id: string;
  /** Unix ms. */
  alive_at: number;
}

/** One webhook delivery: an event for one endpoint (webhooks/, store/webhook-outbox.ts). */
export interface WebhookOutboxTable {
  id: string;
  endpoint: string;
  order_key: string;
  seq: number;
  type: string;
  body: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: number;
  next_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  done_at: number | null;
  last_error: string | null;
}

export interface Database {
  groups: GroupsTable;
  group_members: GroupMembersTable;
  call_records: CallRecordsTable;
  call_members: CallMembersTable;
  store_nodes: StoreNodesTable;
  webhook_outbox: WebhookOutboxTable;
}
