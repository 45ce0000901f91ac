/**
 * The call transaction: every operation on a call runs under that call's lock, loads the call with
 * all its invitations in one read, changes them through the two state setters below (the call's
 * and an invitee's), then commits: one store write, timers, the domain events to the observers,
 * and finally the pushes, still inside the lock so that every member sees the pushes of one call
 * in the order the operations happened. SFU work the change needs is queued last, on the call's
 * SFU queue, and awaited by the operation after the lock is released.
 *
 * Layers: calls/ → invitations/ (CallTx is their RingingTx), media/ (SFU work), cluster/.
 */
import { MediaMode, type CallEndReason } from '@ringline/protocol';
import type {
  CallRecord,
  CallStore,
  InvitationRecord,
  InviteeState,
  LockManager,
  PushBody,
} from '../cluster/types.js';
import { callLockKey } from '../cluster/keys.js';
import { ServerError } from '../errors.js';
import {
  inviteeTransitions,
  ringingIn,
  type InvitationTimers,
  type RingingTx,
} from '../invitations/index.js';
import type { Logger } from '../log.js';
import type { SfuCoordinator, SfuOp } from '../media/index.js';
import {
  CallEventType,
  type CallEvent,
  type CallEventPayloads,
  type CallObserver,
} from './events.js';

export type CallState = CallRecord['state'] | 'ended';

/** Which call-state changes are allowed; anything else is a bug and throws. */
const callTransitions: Record<CallState, readonly CallState[]> = {
  ringing: ['connected', 'ended'],
  connected: ['ended'],
  ended: [],
};

/** The domain event an invitee's new state is. */
const inviteeEvents: Record<
  Exclude<InviteeState, 'ringing'>,
  (inv: InvitationRecord, userID: string) => EventInput
> = {
  accepted: ({ inviteID }, userID) => [CallEventType.ANSWERED, { inviteID, userID }],
  rejected: ({ inviteID }, userID) => [
    CallEventType.REJECTED,
    { inviteID, userID, reason: 'declined' },
  ],
  busy: ({ inviteID }, userID) => [CallEventType.REJECTED, { inviteID, userID, reason: 'busy' }],
  timeout: (inv, userID) => missed(inv, userID, 'timeout'),
  cancelled: (inv, userID) => missed(inv, userID, 'cancelled'),
};

/** A `missed` event carries the invitation's offlinePushInfo: an app's own push needs it. */
function missed(
  inv: InvitationRecord,
  userID: string,
  reason: 'timeout' | 'cancelled',
): EventInput {
  const { inviteID, inviter, offlinePushInfo } = inv;
  const offline = inv.offline?.includes(userID) ?? false;
  return [
    CallEventType.MISSED,
    { inviteID, userID, reason, offline, inviter, ...(offlinePushInfo && { offlinePushInfo }) },
  ];
}
type EventInput = { [T in CallEventType]: [T, CallEventPayloads[T]] }[CallEventType];

/** One operation's working copy of a call and what it will do on commit. */
export class CallTx implements RingingTx {
  state: CallState;
  /** Whether commit writes the records back; operations that only read turn it off. */
  dirty = true;
  /** When the operation happened (the time of its events), Unix ms. */
  readonly time: number;
  readonly pushes: Array<[userID: string, push: PushBody]> = [];
  readonly releases = new Set<string>();
  readonly timersToArm: Array<[inviteID: string, delayMs: number]> = [];
  readonly timersToCancel = new Set<string>();
  /** SFU work the commit queues, in order, on the call's SFU queue. */
  sfuOps: SfuOp[] = [];
  /** What the operation's caller awaits once the call lock is released. */
  sfuDone: Promise<void> = Promise.resolve();
  /** Why the call ended, once it has. */
  endReason: CallEndReason | undefined;
  /** What happened, in order, for the observers. */
  readonly events: CallEvent[] = [];
  /** Invitations this operation created or changed: the ones commit writes. */
  readonly changedInvitations = new Set<string>();
  readonly ringingBefore: string;

  constructor(
    readonly call: CallRecord,
    readonly invitations: Map<string, InvitationRecord>,
    private readonly log: Logger,
    time = Date.now(),
  ) {
    this.state = call.state;
    this.time = time;
    this.ringingBefore = this.ringing().join(',');
  }

  member(userID: string) {
    return this.call.members.find((m) => m.userID === userID);
  }
  /** Users with an invitation into this call still ringing. */
  ringing(): string[] {
    const out: string[] = [];
    for (const inv of this.invitations.values()) {
      out.push(...ringingIn(inv));
    }
    return out;
  }
  push(userID: string, push: PushBody): void {
    this.pushes.push([userID, push]);
  }
  pushToMembers(push: PushBody, except?: string): void {
    for (const m of this.call.members) if (m.userID !== except) this.push(m.userID, push);
  }
  releaseUser(userID: string): void {
    this.releases.add(userID);
  }
  armTimer(inviteID: string, delayMs: number): void {
    this.timersToArm.push([inviteID, delayMs]);
  }
  cancelTimer(inviteID: string): void {
    this.timersToCancel.add(inviteID);
  }

  /** Records a domain event, stamped with the call's fields as they are now. */
  emit(...[type, payload]: EventInput): void {
    const { call } = this;
    // Counted in the call's record, which commit writes: each event of a call gets the next number.
    call.eventSeq = (call.eventSeq ?? 0) + 1;
    const event = {
      type,
      callID: call.callID,
      seq: call.eventSeq,
      time: this.time,
      roomID: call.roomID,
      sponsor: call.sponsor,
      callType: call.callType,
      media: call.media,
      ...(call.groupID !== undefined && { groupID: call.groupID }),
      ...payload,
    } as CallEvent;
    this.events.push(event);
  }

  /**
   * Adds a new invitation to the call (`createInvitation` made it, its invitees claimed): the
   * `invited` event, and a `rejected` one for each invitee who was busy.
   */
  addInvitation(inv: InvitationRecord, created: boolean): void {
    const { call } = this;
    this.invitations.set(inv.inviteID, inv);
    this.changedInvitations.add(inv.inviteID);
    call.inviteIDs.push(inv.inviteID);
    if (call.inviteIDs.length > 1 || inv.userIDList.length > 1) call.group = true;
    this.emit(CallEventType.INVITED, {
      inviteID: inv.inviteID,
      inviter: inv.inviter,
      invitees: [...inv.userIDList],
      timeout: inv.timeout,
      created,
      offline: [...(inv.offline ?? [])],
      ...(inv.offlinePushInfo && { offlinePushInfo: inv.offlinePushInfo }),
    });
    inv.userIDList.forEach((userID, i) => {
      if (inv.states[i] === 'busy') {
        this.emit(CallEventType.REJECTED, { inviteID: inv.inviteID, userID, reason: 'busy' });
      }
    });
  }

  /** The call's state setter: logs `prev -> next`, rejects what the table does not allow. */
  setState(next: CallState): void {
    const prev = this.state;
    if (prev === next) return;
    if (!callTransitions[prev].includes(next)) {
      throw ServerError.internal(`call ${this.call.callID}: ${prev} -> ${next} is not allowed`);
    }
    this.log.debug(`call ${this.call.callID}: ${prev} -> ${next}`);
    this.state = next;
    if (next !== 'ended') this.call.state = next;
  }

  /** Ends the call for everyone still in it, with `reason`. */
  end(reason: CallEndReason): void {
    if (this.state === 'ended') return;
    this.setState('ended');
    this.endReason = reason;
    const { createdAt, connectedAt } = this.call;
    this.emit(CallEventType.ENDED, {
      reason,
      startedAt: createdAt,
      ...(connectedAt !== undefined && { connectedAt }),
      joined: [...this.call.joined],
    });
    for (const m of this.call.members) {
      this.push(m.userID, { type: 'callEnded', callID: this.call.callID, reason });
      this.releases.add(m.userID);
    }
  }

  /** An invitee's state setter: only `ringing` may change (`inviteeTransitions`). */
  setInvitee(inv: InvitationRecord, userID: string, next: InviteeState): void {
    const i = inv.userIDList.indexOf(userID);
    const prev = inv.states[i];
    if (prev === undefined || next === 'ringing' || !inviteeTransitions[prev].includes(next)) {
      throw ServerError.internal(
        `invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next} is not allowed`,
      );
    }
    this.log.debug(`invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next}`);
    inv.states[i] = next;
    this.changedInvitations.add(inv.inviteID);
    this.emit(...inviteeEvents[next](inv, userID));
    // A pre-connection it made while ringing (its handles in the SFU room) closes; accepted, it
    // becomes the member's media (`enter` queues its unhold).
    if (next !== 'accepted' && this.call.media === MediaMode.SFU) {
      this.sfuOps.push({ kind: 'leave', userID });
    }
  }

  /** The invitee has a session now: a miss of this invitation is no longer an offline one. */
  reached(inv: InvitationRecord, userID: string): void {
    const left = inv.offline?.filter((u) => u !== userID);
    if (!left || left.length === inv.offline!.length) return;
    if (left.length) inv.offline = left;
    else delete inv.offline;
    this.changedInvitations.add(inv.inviteID);
    this.dirty = true;
  }
}

export interface CallTransactionsOptions {
  store: CallStore;
  locks: LockManager;
  timers: InvitationTimers;
  /** Delivers a push, logging (not throwing) when the recipient cannot be reached. */
  deliver: (userID: string, push: PushBody) => Promise<void>;
  media: SfuCoordinator;
  observers: readonly CallObserver[];
  logger: Logger;
}

/** Runs call transactions: load under the call's lock, the operation, commit. */
export class CallTransactions {
  readonly #o: CallTransactionsOptions;

  constructor(options: CallTransactionsOptions) {
    this.#o = options;
  }

  /** A transaction on a call that is not stored yet (the operation creates it). */
  newTx(call: CallRecord): CallTx {
    return new CallTx(call, new Map(), this.#o.logger, call.createdAt);
  }

  /** Runs `fn` under the call's lock (no load, no commit). */
  locked<T>(callID: string, fn: () => Promise<T>): Promise<T> {
    return this.#o.locks.run(callLockKey(callID), fn);
  }

  /**
   * Runs `fn` on the call under its lock and commits what it did; nothing is committed if it
   * throws. Resolves after the SFU work the commit queued has run.
   */
  async withCall<T>(
    callID: string,
    notFound: (callID: string) => ServerError,
    fn: (tx: CallTx) => T | Promise<T>,
  ): Promise<T> {
    const { result, tx } = await this.locked(callID, async () => {
      const loaded = await this.#o.store.load(callID);
      if (!loaded) throw notFound(callID);
      const byID = new Map(loaded.invitations.map((inv) => [inv.inviteID, inv]));
      // In the order they were made (the store returns them as a set).
      const invitations = new Map<string, InvitationRecord>();
      for (const id of loaded.call.inviteIDs) {
        const inv = byID.get(id);
        if (inv) invitations.set(id, inv);
      }
      const tx = new CallTx(loaded.call, invitations, this.#o.logger);
      const result = await fn(tx);
      await this.commit(tx);
      return { result, tx };
    });
    // The SFU catches up outside the lock, but before the sender hears back.
    await tx.sfuDone;
    return result;
  }

  /** Runs `fn` on the call an invitation belongs to; INVITATION_NOT_FOUND when there is none. */
  async withInvitation<T>(
    inviteID: string,
    fn: (tx: CallTx, inv: InvitationRecord) => T | Promise<T>,
    /** The invitation's call, when the caller looked it up already. */
    knownCallID?: string,
  ): Promise<T> {
    const callID = knownCallID ?? (await this.#o.store.invitationCall(inviteID));
    if (callID === undefined) throw ServerError.invitationNotFound(inviteID);
    return this.withCall(
      callID,
      () => ServerError.invitationNotFound(inviteID),
      (tx) => {
        const inv = tx.invitations.get(inviteID);
        if (!inv) throw ServerError.invitationNotFound(inviteID);
        return fn(tx, inv);
      },
    );
  }

  /** Commits the transaction; call it under the call's lock. */
  async commit(tx: CallTx): Promise<void> {
    const { store, timers, media, logger: log } = this.#o;
    const { call } = tx;
    if (tx.state === 'ended') {
      // Only invitations still ringing have a timer (the rest lost it with their last answer).
      for (const [id, inv] of tx.invitations) if (ringingIn(inv).length) tx.cancelTimer(id);
      await store.commit(call.callID, { call: null });
      if (call.groupID !== undefined) await store.releaseGroup(call.groupID, call.callID);
      // Closing the room drops every handle in it, so no per-member leave is needed.
      if (call.media === MediaMode.SFU) tx.sfuOps = [{ kind: 'close' }];
      // Everyone still bound to the call is free now.
      for (const m of call.members) tx.releases.add(m.userID);
      for (const u of tx.ringing()) tx.releases.add(u);
      log.debug('call ended', { callID: call.callID });
    } else if (tx.dirty || tx.events.length > 0) {
      // Events advanced the call's event counter (`seq`): it must be stored with them.
      const invitations = [...tx.changedInvitations].map((id) => tx.invitations.get(id)!);
      await store.commit(call.callID, { call, invitations });
      const ringingNow = tx.ringing();
      if (call.group && ringingNow.join(',') !== tx.ringingBefore) {
        tx.pushToMembers({
          type: 'inviteeListUpdate',
          callID: call.callID,
          userIDList: ringingNow,
        });
      }
    }
    this.#notify(tx);
    for (const u of tx.releases) await store.releaseUser(u, call.callID);
    for (const id of tx.timersToCancel) await timers.cancel(id);
    if (tx.state !== 'ended') {
      for (const [id, delay] of tx.timersToArm) await timers.arm(id, delay);
    }
    for (const [userID, push] of tx.pushes) await this.#o.deliver(userID, push);
    // Queued now, in commit order; awaited by the operation once the call lock is released.
    if (tx.sfuOps.length) {
      // On the node that drives the call's room, wherever this commit ran.
      tx.sfuDone = media.afterCommit(call.callID, tx.sfuOps.splice(0), call.sfu?.node);
    }
  }

  /** Hands the commit's events to every observer; one that throws is logged and skipped. */
  #notify(tx: CallTx): void {
    if (!tx.events.length) return;
    for (const observer of this.#o.observers) {
      try {
        observer(tx.events);
      } catch (err) {
        this.#o.logger.error('a call observer failed', { callID: tx.call.callID, err });
      }
    }
  }
}
