/**
 * The peer-to-peer relay: SDP and ICE between two joined members of one call, or between the
 * inviter and a pre-connecting invitee while a one-to-one call rings ("Calls" in docs/protocol.md). The most frequent request of all, and one that changes nothing.
 *
 * Layers: calls/ → media/ → cluster/. It takes the call's lock but never a call transaction.
 */
import { MediaMode, type SignalData } from '@ringline/protocol';
import type { CallStore, LockManager, PushBody } from '../cluster/types.js';
import { callLockKey } from '../cluster/keys.js';
import { ServerError } from '../errors.js';
import { ringsFor } from './ringing.js';

export class SignalRelay {
  constructor(
    private readonly store: CallStore,
    private readonly locks: LockManager,
    /** Delivers a push, logging (not throwing) when the recipient cannot be reached. */
    private readonly deliver: (userID: string, push: PushBody) => Promise<void>,
  ) {}

  /**
   * Relays `data` from `userID` to `to`: two joined members, or (pre-connect) the inviter and a
   * ringing invitee who asked for it. Under the call's lock, so a relay never overtakes a change
   * to the call; members are read alone, the whole call only for a pre-connecting pair.
   */
  async signal(userID: string, callID: string, to: string, data: SignalData): Promise<void> {
    await this.locks.run(callLockKey(callID), async () => {
      const members = await this.store.callMembers(callID);
      if (!members) throw ServerError.callNotFound(callID);
      if (to === userID) {
        if (!members.includes(userID)) throw ServerError.notCallMember(callID);
        throw ServerError.invalidField('/to', 'cannot signal yourself');
      }
      const joined = members.includes(userID) && members.includes(to);
      if (!joined && !(await this.#preconnecting(callID, userID, to))) {
        throw members.includes(userID)
          ? ServerError.notCallMember(callID, to)
          : ServerError.notCallMember(callID);
      }
      await this.deliver(to, { type: 'signal', callID, from: userID, data });
    });
  }

  /**
   * Whether `a` and `b` are the inviter and a pre-connecting invitee of the call while its
   * one-to-one invitation rings (peer-to-peer: nobody else is in it).
   */
  async #preconnecting(callID: string, a: string, b: string): Promise<boolean> {
    const loaded = await this.store.load(callID);
    if (!loaded) return false;
    const { call, invitations } = loaded;
    if (call.state !== 'ringing' || call.group || call.media !== MediaMode.P2P) return false;
    return invitations.some((inv) => {
      const invitee = inv.inviter === a ? b : inv.inviter === b ? a : undefined;
      if (invitee === undefined || !inv.preconnect?.includes(invitee)) return false;
      return ringsFor(inv, invitee) && call.members.some((m) => m.userID === inv.inviter);
    });
  }
}
