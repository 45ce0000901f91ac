/**
 * The peer-to-peer relay: SDP and ICE between two joined members of one call ("Calls" in
 * docs/protocol.md). The most frequent request of all, and one that changes nothing.
 *
 * Layers: calls/ → media/ → cluster/. It takes the call's lock but never a call transaction.
 */
import type { SignalData } from '@ringline/protocol';
import type { CallStore, LockManager, PushBody } from '../cluster/types.js';
import { callLockKey } from '../cluster/keys.js';
import { ServerError } from '../errors.js';

export class SignalRelay {
  constructor(
    private readonly store: CallStore,
    private readonly locks: LockManager,
    /** Delivers a push, logging (not throwing) when the recipient cannot be reached. */
    private readonly deliver: (userID: string, push: PushBody) => Promise<void>,
  ) {}

  /**
   * Relays `data` from `userID` to `to`. Under the call's lock, so a relay never overtakes a change
   * to the call; it reads only who the members are.
   */
  async signal(userID: string, callID: string, to: string, data: SignalData): Promise<void> {
    await this.locks.run(callLockKey(callID), async () => {
      const members = await this.store.callMembers(callID);
      if (!members) throw ServerError.callNotFound(callID);
      if (!members.includes(userID)) throw ServerError.notCallMember(callID);
      if (to === userID) throw ServerError.invalidField('/to', 'cannot signal yourself');
      if (!members.includes(to)) throw ServerError.notCallMember(callID, to);
      await this.deliver(to, { type: 'signal', callID, from: userID, data });
    });
  }
}
