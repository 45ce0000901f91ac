/**
 * Each user's devices (`--multi-device ring-all`) in the state file: one JSON row per user with
 * their sessions, oldest first, and the one in a call. Each operation is one transaction.
 */
import type { DeviceStore, UserDevices } from '../types.js';
import { guard, type StateDb } from './db.js';

export class SqliteDeviceStore implements DeviceStore {
  readonly #db: StateDb;
  readonly #q;

  constructor(db: StateDb) {
    this.#db = db;
    this.#q = {
      get: db.prepare<[string], { record: string }>('SELECT record FROM devices WHERE user_id = ?'),
      put: db.prepare<[string, string]>(
        'INSERT OR REPLACE INTO devices (user_id, record) VALUES (?, ?)',
      ),
      delete: db.prepare<[string]>('DELETE FROM devices WHERE user_id = ?'),
    };
  }

  async add(userID: string, sessionID: string, max: number): Promise<boolean> {
    return this.#change('devices add', userID, (entry) => {
      if (entry.sessionIDs.includes(sessionID)) return true;
      if (entry.sessionIDs.length >= max) return false;
      entry.sessionIDs.push(sessionID);
      return true;
    });
  }

  async remove(userID: string, sessionID: string): Promise<boolean> {
    return this.#change('devices remove', userID, (entry) => {
      const at = entry.sessionIDs.indexOf(sessionID);
      if (at < 0) return false;
      entry.sessionIDs.splice(at, 1);
      if (entry.active?.sessionID === sessionID) delete entry.active;
      return true;
    });
  }

  async get(userID: string): Promise<UserDevices> {
    return guard('devices get', this.#db, () => this.#read(userID));
  }

  async setActive(userID: string, sessionID: string, callID: string): Promise<boolean> {
    return this.#change('devices setActive', userID, (entry) => {
      if (!entry.sessionIDs.includes(sessionID)) return false;
      entry.active = { sessionID, callID };
      return true;
    });
  }

  async clearActive(userID: string, callID: string): Promise<void> {
    this.#change('devices clearActive', userID, (entry) => {
      if (entry.active?.callID !== callID) return false;
      entry.active.released = true;
      return true;
    });
  }

  #read(userID: string): UserDevices {
    const row = this.#q.get.get(userID);
    return row ? (JSON.parse(row.record) as UserDevices) : { sessionIDs: [] };
  }

  /** Reads the user's entry, lets `fn` change it, and writes it back (or deletes it, emptied). */
  #change(what: string, userID: string, fn: (entry: UserDevices) => boolean): boolean {
    return guard(what, this.#db, () =>
      this.#db.transaction(() => {
        const entry = this.#read(userID);
        if (!fn(entry)) return false;
        if (entry.sessionIDs.length) this.#q.put.run(userID, JSON.stringify(entry));
        else this.#q.delete.run(userID);
        return true;
      })(),
    );
  }
}
