/**
 * Calls and invitations in the state file: a call's record and each invitation's are JSON rows
 * (records are values: written and read whole), the invitation's call is its row's `call_id`, and
 * the user and group claims are rows of their own. A commit is one transaction.
 */
import { checkChanges } from '../changes.js';
import type { CallChanges, CallRecord, CallStore, InvitationRecord, LoadedCall } from '../types.js';
import { guard, type StateDb } from './db.js';

export class SqliteCallStore implements CallStore {
  readonly #db: StateDb;
  readonly #q;
  readonly #load: (callID: string) => LoadedCall | undefined;
  readonly #commit: (callID: string, changes: CallChanges) => void;
  readonly #claim: (table: 'user' | 'group', id: string, callID: string) => boolean;

  constructor(db: StateDb) {
    this.#db = db;
    const q = {
      call: db.prepare<[string], { record: string }>('SELECT record FROM calls WHERE call_id = ?'),
      invitations: db.prepare<[string], { record: string }>(
        'SELECT record FROM invitations WHERE call_id = ?',
      ),
      putCall: db.prepare<[string, string, string | null]>(
        'INSERT OR REPLACE INTO calls (call_id, record, sfu_node) VALUES (?, ?, ?)',
      ),
      deleteCall: db.prepare<[string]>('DELETE FROM calls WHERE call_id = ?'),
      deleteCallInvitations: db.prepare<[string]>('DELETE FROM invitations WHERE call_id = ?'),
      putInvitation: db.prepare<[string, string, string]>(
        'INSERT OR REPLACE INTO invitations (invite_id, call_id, record) VALUES (?, ?, ?)',
      ),
      deleteInvitation: db.prepare<[string, string]>(
        'DELETE FROM invitations WHERE invite_id = ? AND call_id = ?',
      ),
      invitationCall: db.prepare<[string], { call_id: string }>(
        'SELECT call_id FROM invitations WHERE invite_id = ?',
      ),
      sfuCalls: db.prepare<[string], { call_id: string }>(
        'SELECT call_id FROM calls WHERE sfu_node = ?',
      ),
      user: claimStatements(db, 'user_calls', 'user_id'),
      group: claimStatements(db, 'group_calls', 'group_id'),
    };
    this.#q = q;
    this.#load = db.transaction((callID: string) => {
      const row = q.call.get(callID);
      if (!row) return undefined;
      const invitations = q.invitations
        .all(callID)
        .map((r) => JSON.parse(r.record) as InvitationRecord);
      return { call: JSON.parse(row.record) as CallRecord, invitations };
    });
    this.#commit = db.transaction((callID: string, changes: CallChanges) => {
      // Every check before the first write, so that a refused commit writes nothing.
      checkChanges(callID, changes, q.call.get(callID) !== undefined);
      if (changes.call === null) {
        q.deleteCallInvitations.run(callID);
        q.deleteCall.run(callID);
        return;
      }
      if (changes.call) {
        q.putCall.run(callID, JSON.stringify(changes.call), changes.call.sfu?.node ?? null);
      } else if (!q.call.get(callID)) {
        return;
      }
      for (const inv of changes.invitations ?? []) {
        q.putInvitation.run(inv.inviteID, callID, JSON.stringify(inv));
      }
      for (const id of changes.deletedInvitations ?? []) q.deleteInvitation.run(id, callID);
    });
    this.#claim = db.transaction((table: 'user' | 'group', id: string, callID: string) => {
      const s = q[table];
      const current = s.get.get(id)?.call_id;
      if (current !== undefined && current !== callID) return false;
      if (current === undefined) s.put.run(id, callID);
      return true;
    });
  }

  async load(callID: string): Promise<LoadedCall | undefined> {
    return guard('call load', this.#db, () => this.#load(callID));
  }
  async invitationCall(inviteID: string): Promise<string | undefined> {
    return guard(
      'invitation lookup',
      this.#db,
      () => this.#q.invitationCall.get(inviteID)?.call_id,
    );
  }
  async commit(callID: string, changes: CallChanges): Promise<void> {
    guard('call commit', this.#db, () => this.#commit(callID, changes));
  }
  async callMembers(callID: string): Promise<string[] | undefined> {
    const row = guard('call members', this.#db, () => this.#q.call.get(callID));
    return row && (JSON.parse(row.record) as CallRecord).members.map((m) => m.userID);
  }
  async sfuCalls(nodeID: string): Promise<string[]> {
    return guard('sfu calls', this.#db, () => this.#q.sfuCalls.all(nodeID).map((r) => r.call_id));
  }
  async claimUser(userID: string, callID: string): Promise<boolean> {
    return guard('claim', this.#db, () => this.#claim('user', userID, callID));
  }
  async userCall(userID: string): Promise<string | undefined> {
    return guard('user call', this.#db, () => this.#q.user.get.get(userID)?.call_id);
  }
  async releaseUser(userID: string, callID: string): Promise<void> {
    guard('release', this.#db, () => this.#q.user.release.run(userID, callID));
  }
  async claimGroup(groupID: string, callID: string): Promise<boolean> {
    return guard('claim', this.#db, () => this.#claim('group', groupID, callID));
  }
  async groupCall(groupID: string): Promise<string | undefined> {
    return guard('group call', this.#db, () => this.#q.group.get.get(groupID)?.call_id);
  }
  async releaseGroup(groupID: string, callID: string): Promise<void> {
    guard('release', this.#db, () => this.#q.group.release.run(groupID, callID));
  }
}

/** A claim table's statements (user → call, group → call). */
function claimStatements(db: StateDb, table: string, key: string) {
  return {
    get: db.prepare<[string], { call_id: string }>(`SELECT call_id FROM ${table} WHERE ${key} = ?`),
    put: db.prepare<[string, string]>(`INSERT INTO ${table} (${key}, call_id) VALUES (?, ?)`),
    release: db.prepare<[string, string]>(`DELETE FROM ${table} WHERE ${key} = ? AND call_id = ?`),
  };
}
