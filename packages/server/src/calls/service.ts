/**
 * Invitations and calls, owned by the server (docs/protocol.md "Invitations and calls").
 *
 * State lives in the cluster's CallStore; every operation on a call runs under that call's lock,
 * loads the call with all its invitations, changes them through the two state setters below,
 * then commits: store writes, timers, and finally the pushes, still inside the lock so that every
 * member sees the pushes of one call in the order the operations happened.
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  CallEndReason,
  CallType,
  InviteEndReason,
  type ClientRequestOf,
  type RequestResults,
  type SignalData,
} from '@ringline/protocol';
import type {
  CallRecord,
  CallStore,
  InvitationRecord,
  InviteeState,
  LockManager,
  PushBody,
  Scheduler,
  Unsubscribe,
} from '../cluster/types.js';
import type { DeliverFn } from '../cluster/delivery.js';
import { ServerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

export interface CallServiceOptions {
  store: CallStore;
  scheduler: Scheduler;
  locks: LockManager;
  deliver: DeliverFn;
  /** Seconds an invitation rings when the invite does not say (0 = no timeout). */
  defaultInviteTimeout: number;
  logger?: Logger;
}

type CallState = CallRecord['state'] | 'ended';

/** Which call-state changes are allowed; anything else is a bug and throws. */
const callTransitions: Record<CallState, readonly CallState[]> = {
  ringing: ['connected', 'ended'],
  connected: ['ended'],
  ended: [],
};

/** An invitee's answer is final: only `ringing` may change. */
const inviteeTransitions: Record<InviteeState, readonly InviteeState[]> = {
  ringing: ['accepted', 'rejected', 'busy', 'timeout', 'cancelled'],
  accepted: [],
  rejected: [],
  busy: [],
  timeout: [],
  cancelled: [],
};

/** One operation's working copy of a call and what it will do on commit. */
class CallTx {
  state: CallState;
  /** Whether commit writes the records back; only pure relays turn it off. */
  dirty = true;
  readonly pushes: Array<[userID: string, push: PushBody]> = [];
  readonly release = new Set<string>();
  readonly schedule: Array<[key: string, delayMs: number]> = [];
  readonly cancelTimers = new Set<string>();
  readonly ringingBefore: string;

  constructor(
    readonly call: CallRecord,
    readonly invitations: Map<string, InvitationRecord>,
  ) {
    this.state = call.state;
    this.ringingBefore = this.ringing().join(',');
  }

  member(userID: string) {
    return this.call.members.find((m) => m.userID === userID);
  }
  /** Users with an invitation into this call still ringing. */
  ringing(): string[] {
    const out: string[] = [];
    for (const inv of this.invitations.values()) {
      for (const u of inv.userIDList) if (inv.states[u] === 'ringing') out.push(u);
    }
    return out;
  }
  push(userID: string, push: PushBody): void {
    this.pushes.push([userID, push]);
  }
  pushToMembers(push: PushBody, except?: string): void {
    for (const m of this.call.members) if (m.userID !== except) this.push(m.userID, push);
  }
}

const timerKey = (inviteID: string) => `invite:${inviteID}`;
const lockKey = (callID: string) => `call:${callID}`;

export class CallService {
  readonly #store: CallStore;
  readonly #scheduler: Scheduler;
  readonly #locks: LockManager;
  readonly #deliver: DeliverFn;
  readonly #defaultTimeout: number;
  readonly #log: Logger;
  readonly #unsubscribe: Unsubscribe;

  constructor(options: CallServiceOptions) {
    this.#store = options.store;
    this.#scheduler = options.scheduler;
    this.#locks = options.locks;
    this.#deliver = options.deliver;
    this.#defaultTimeout = options.defaultInviteTimeout;
    this.#log = options.logger ?? silentLogger;
    this.#unsubscribe = this.#scheduler.subscribe((key) =>
      this.#onTimer(key).catch((err: unknown) =>
        this.#log.error('invitation timer failed', { key, err }),
      ),
    );
  }

  /** Stops taking timer callbacks (state stays in the store for other nodes). */
  close(): void {
    this.#unsubscribe();
  }

  /** Starts a call (or, with `callID`, invites into the sender's call) and rings every invitee. */
  async invite(
    userID: string,
    req: Omit<ClientRequestOf<'invite'>, 'id' | 'type'>,
  ): Promise<RequestResults['invite']> {
    const list = [...new Set(req.userIDList)];
    if (list.includes(userID)) throw ServerError.cannotCallSelf();
    const timeout = req.timeout ?? this.#defaultTimeout;

    if (req.callID !== undefined) {
      const callID = req.callID;
      return this.#withCall(callID, ServerError.callNotFound, (tx) => {
        if (!tx.member(userID)) throw ServerError.notCallMember(callID);
        return this.#addInvitation(tx, userID, list, req, timeout);
      });
    }

    const callID = randomUUID();
    return this.#locks.run(lockKey(callID), async () => {
      if (!(await this.#store.claimUser(userID, callID))) throw ServerError.alreadyInCall();
      const call: CallRecord = {
        callID,
        // TRTC room ids are 32-bit unsigned; stay within a signed int for every client.
        roomID: randomInt(1, 2 ** 31),
        callType: req.callType,
        sponsor: userID,
        group: list.length > 1 || req.groupID !== undefined,
        state: 'ringing',
        members: [{ userID, audio: true, video: req.callType === CallType.VIDEO }],
        inviteIDs: [],
        createdAt: Date.now(),
      };
      if (req.groupID !== undefined) call.groupID = req.groupID;
      const tx = new CallTx(call, new Map());
      try {
        const result = await this.#addInvitation(tx, userID, list, req, timeout);
        await this.#commit(tx);
        return result;
      } catch (err) {
        // Undo the claims this invite made before it failed.
        for (const u of [userID, ...list]) await this.#store.releaseUser(u, callID);
        throw err;
      }
    });
  }

  /** The invitee joins the call. */
  async accept(userID: string, inviteID: string): Promise<RequestResults['accept']> {
    return this.#withInvitation(userID, inviteID, (tx, inv) => {
      this.#checkRinging(inv, userID);
      this.#setInvitee(inv, userID, 'accepted');
      const { call } = tx;
      const others = call.members.map((m) => ({ ...m }));
      const me = { userID, audio: true, video: call.callType === CallType.VIDEO };
      call.members.push(me);
      if (tx.state === 'ringing' && call.members.length >= 2) this.#setCallState(tx, 'connected');
      tx.pushToMembers({ type: 'userEnter', callID: call.callID, ...me }, userID);
      if (!inv.userIDList.some((u) => inv.states[u] === 'ringing')) {
        tx.cancelTimers.add(timerKey(inviteID));
      }
      return { callID: call.callID, roomID: call.roomID, callType: call.callType, members: others };
    });
  }

  /** The invitee declines; `busy` reports the line as busy instead. */
  async reject(userID: string, inviteID: string, busy = false): Promise<RequestResults['reject']> {
    return this.#withInvitation(userID, inviteID, (tx, inv) => {
      this.#checkRinging(inv, userID);
      this.#declineInvitee(tx, inv, userID, busy ? 'busy' : 'rejected');
      this.#settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
      return {};
    });
  }

  /** The inviter stops the invitation for every invitee still ringing. */
  async cancel(userID: string, inviteID: string): Promise<RequestResults['cancel']> {
    return this.#withInvitation(userID, inviteID, (tx, inv) => {
      if (inv.inviter !== userID) throw ServerError.notYourInvitation(inviteID);
      const ringing = inv.userIDList.filter((u) => inv.states[u] === 'ringing');
      if (!ringing.length) {
        const answered = inv.userIDList.some((u) =>
          ['accepted', 'rejected', 'busy'].includes(inv.states[u] ?? ''),
        );
        throw answered
          ? ServerError.alreadyHandled(inviteID)
          : ServerError.invitationNotFound(inviteID);
      }
      this.#endRinging(tx, inv, InviteEndReason.CANCELLED);
      this.#settle(tx, CallEndReason.HANGUP, CallEndReason.CANCELLED);
      return {};
    });
  }

  /** The member leaves the call; their invitations into it that still ring are cancelled. */
  async hangup(userID: string, callID: string): Promise<RequestResults['hangup']> {
    return this.#withCall(callID, ServerError.callNotFound, (tx) => {
      if (!tx.member(userID)) throw ServerError.notCallMember(callID);
      this.#leave(tx, userID, CallEndReason.HANGUP);
      return {};
    });
  }

  /** Relays SDP/ICE between two joined members of one call. */
  async signal(
    userID: string,
    callID: string,
    to: string,
    data: SignalData,
  ): Promise<RequestResults['signal']> {
    return this.#withCall(callID, ServerError.callNotFound, (tx) => {
      if (!tx.member(userID)) throw ServerError.notCallMember(callID);
      if (to === userID) throw ServerError.invalidField('/to', 'cannot signal yourself');
      if (!tx.member(to)) throw ServerError.notCallMember(callID, to);
      tx.dirty = false;
      tx.push(to, { type: 'signal', callID, from: userID, data });
      return {};
    });
  }

  /** Records the member's mic/camera state and tells the others. */
  async media(
    userID: string,
    callID: string,
    audio: boolean,
    video: boolean,
  ): Promise<RequestResults['media']> {
    return this.#withCall(callID, ServerError.callNotFound, (tx) => {
      const me = tx.member(userID);
      if (!me) throw ServerError.notCallMember(callID);
      me.audio = audio;
      me.video = video;
      tx.pushToMembers({ type: 'mediaState', callID, userID, audio, video }, userID);
      return {};
    });
  }

  /** Switches a connected one-to-one call between audio and video. */
  async switchCallType(
    userID: string,
    callID: string,
    callType: CallType,
  ): Promise<RequestResults['switchCallType']> {
    return this.#withCall(callID, ServerError.callNotFound, (tx) => {
      if (!tx.member(userID)) throw ServerError.notCallMember(callID);
      const { call } = tx;
      if (
        call.group ||
        tx.state !== 'connected' ||
        call.members.length !== 2 ||
        tx.ringing().length
      ) {
        throw ServerError.invalidCallState('switchCallType needs a connected one-to-one call');
      }
      if (call.callType !== callType) {
        call.callType = callType;
        tx.pushToMembers({ type: 'callTypeChanged', callID, callType, userID }, userID);
      }
      return {};
    });
  }

  /**
   * A session ended for good: the user leaves their call, cancels the invitations they made and
   * declines the ones ringing for them.
   */
  async leaveAll(userID: string): Promise<void> {
    const callID = await this.#store.userCall(userID);
    if (callID === undefined) return;
    const missing = () => ServerError.callNotFound(callID);
    try {
      await this.#withCall(callID, missing, (tx) => {
        if (tx.member(userID)) {
          this.#leave(tx, userID, CallEndReason.DISCONNECTED);
          return;
        }
        for (const inv of tx.invitations.values()) {
          if (inv.states[userID] === 'ringing') this.#declineInvitee(tx, inv, userID, 'rejected');
        }
        tx.release.add(userID);
        this.#settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
      });
    } catch (err) {
      // An index entry pointing at a call that is gone is stale: drop it.
      if (err instanceof ServerError && err.name === 'CALL_NOT_FOUND') {
        await this.#store.releaseUser(userID, callID);
        return;
      }
      throw err;
    }
  }

  /** Pushes `invited` again for every invitation still ringing for the user (a fresh login). */
  async redeliverInvitations(userID: string): Promise<void> {
    const callID = await this.#store.userCall(userID);
    if (callID === undefined) return;
    await this.#withCall(
      callID,
      () => ServerError.callNotFound(callID),
      (tx) => {
        tx.dirty = false;
        for (const inv of tx.invitations.values()) {
          if (inv.states[userID] === 'ringing') tx.push(userID, this.#invitedPush(tx.call, inv));
        }
      },
    ).catch((err: unknown) => {
      if (!(err instanceof ServerError && err.name === 'CALL_NOT_FOUND')) throw err;
    });
  }

  // ---- internals -------------------------------------------------------------------------

  async #onTimer(key: string): Promise<void> {
    if (!key.startsWith('invite:')) return;
    const inviteID = key.slice('invite:'.length);
    const inv0 = await this.#store.getInvitation(inviteID);
    if (!inv0) return;
    await this.#withCall(
      inv0.callID,
      () => ServerError.callNotFound(inv0.callID),
      (tx) => {
        const inv = tx.invitations.get(inviteID);
        if (!inv) return;
        const timedOut = this.#endRinging(tx, inv, InviteEndReason.TIMEOUT);
        for (const u of timedOut) {
          tx.pushToMembers({
            type: 'noResponse',
            inviteID,
            callID: tx.call.callID,
            userID: u,
            userIDList: timedOut,
          });
        }
        this.#settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
      },
    ).catch((err: unknown) => {
      if (!(err instanceof ServerError && err.name === 'CALL_NOT_FOUND')) throw err;
    });
  }

  async #addInvitation(
    tx: CallTx,
    inviter: string,
    list: string[],
    req: Omit<ClientRequestOf<'invite'>, 'id' | 'type'>,
    timeout: number,
  ): Promise<RequestResults['invite']> {
    const { call } = tx;
    const inviteID = randomUUID();
    const now = Date.now();
    const inv: InvitationRecord = {
      inviteID,
      callID: call.callID,
      inviter,
      callType: call.callType,
      userIDList: list,
      states: {},
      timeout,
      createdAt: now,
    };
    if (req.groupID !== undefined) inv.groupID = req.groupID;
    if (req.offlinePushInfo !== undefined) inv.offlinePushInfo = req.offlinePushInfo;
    if (timeout > 0) inv.expiresAt = now + timeout * 1000;

    const alreadyHere = new Set([...call.members.map((m) => m.userID), ...tx.ringing()]);
    for (const u of list) {
      const free = !alreadyHere.has(u) && (await this.#store.claimUser(u, call.callID));
      inv.states[u] = free ? 'ringing' : 'busy';
    }
    tx.invitations.set(inviteID, inv);
    call.inviteIDs.push(inviteID);
    if (call.inviteIDs.length > 1 || list.length > 1) call.group = true;

    for (const u of list) {
      if (inv.states[u] === 'ringing') {
        tx.push(u, this.#invitedPush(call, inv));
      } else {
        this.#log.debug('invitee busy', { inviteID, userID: u });
        tx.pushToMembers({ type: 'lineBusy', inviteID, callID: call.callID, userID: u });
      }
    }
    if (timeout > 0 && list.some((u) => inv.states[u] === 'ringing')) {
      tx.schedule.push([timerKey(inviteID), timeout * 1000]);
    }
    this.#settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
    return { inviteID, callID: call.callID, roomID: call.roomID };
  }

  #invitedPush(call: CallRecord, inv: InvitationRecord): PushBody {
    const remaining =
      inv.expiresAt === undefined ? 0 : Math.max(1, Math.ceil((inv.expiresAt - Date.now()) / 1000));
    const push: PushBody = {
      type: 'invited',
      inviteID: inv.inviteID,
      callID: call.callID,
      roomID: call.roomID,
      sponsor: inv.inviter,
      userIDList: [...inv.userIDList],
      isFromGroup: inv.groupID !== undefined,
      callType: call.callType,
      timeout: remaining,
    };
    if (inv.groupID !== undefined) push.groupID = inv.groupID;
    if (inv.offlinePushInfo !== undefined) push.offlinePushInfo = inv.offlinePushInfo;
    return push;
  }

  /** Refuses an answer from someone the invitation is not for, or to an ended invitation. */
  #checkRinging(inv: InvitationRecord, userID: string): void {
    const state = inv.states[userID];
    if (state === undefined) throw ServerError.notYourInvitation(inv.inviteID);
    if (state === 'ringing') return;
    if (state === 'timeout' || state === 'cancelled') {
      throw ServerError.invitationNotFound(inv.inviteID);
    }
    throw ServerError.alreadyHandled(inv.inviteID);
  }

  #declineInvitee(
    tx: CallTx,
    inv: InvitationRecord,
    userID: string,
    how: 'rejected' | 'busy',
  ): void {
    this.#setInvitee(inv, userID, how);
    tx.release.add(userID);
    const ids = { inviteID: inv.inviteID, callID: inv.callID, userID };
    tx.pushToMembers(how === 'busy' ? { type: 'lineBusy', ...ids } : { type: 'rejected', ...ids });
    if (!inv.userIDList.some((u) => inv.states[u] === 'ringing')) {
      tx.cancelTimers.add(timerKey(inv.inviteID));
    }
  }

  /** Stops every invitee of `inv` still ringing; returns who they were. */
  #endRinging(tx: CallTx, inv: InvitationRecord, reason: InviteEndReason): string[] {
    const ringing = inv.userIDList.filter((u) => inv.states[u] === 'ringing');
    for (const u of ringing) {
      this.#setInvitee(inv, u, reason === InviteEndReason.TIMEOUT ? 'timeout' : 'cancelled');
      tx.release.add(u);
      tx.push(u, { type: 'inviteEnded', inviteID: inv.inviteID, callID: inv.callID, reason });
    }
    tx.cancelTimers.add(timerKey(inv.inviteID));
    return ringing;
  }

  #leave(tx: CallTx, userID: string, reason: 'hangup' | 'disconnected'): void {
    const { call } = tx;
    call.members = call.members.filter((m) => m.userID !== userID);
    tx.release.add(userID);
    for (const inv of tx.invitations.values()) {
      if (inv.inviter === userID) this.#endRinging(tx, inv, InviteEndReason.CANCELLED);
    }
    tx.pushToMembers({ type: 'userLeave', callID: call.callID, userID });
    this.#settle(tx, reason, CallEndReason.CANCELLED);
  }

  /**
   * Ends the call when fewer than two members remain and nothing rings. The reason depends on
   * whether it ever connected: `ifConnected` (hangup/disconnected) or `ifNever` (no_answer/cancelled).
   */
  #settle(tx: CallTx, ifConnected: CallEndReason, ifNever: CallEndReason): void {
    if (tx.state === 'ended') return;
    if (tx.call.members.length >= 2 || tx.ringing().length) return;
    const reason = tx.state === 'connected' ? ifConnected : ifNever;
    this.#setCallState(tx, 'ended');
    for (const m of tx.call.members) {
      tx.push(m.userID, { type: 'callEnded', callID: tx.call.callID, reason });
      tx.release.add(m.userID);
    }
  }

  #setCallState(tx: CallTx, next: CallState): void {
    const prev = tx.state;
    if (prev === next) return;
    if (!callTransitions[prev].includes(next)) {
      throw ServerError.internal(`call ${tx.call.callID}: ${prev} -> ${next} is not allowed`);
    }
    this.#log.debug(`call ${tx.call.callID}: ${prev} -> ${next}`);
    tx.state = next;
    if (next !== 'ended') tx.call.state = next;
  }

  #setInvitee(inv: InvitationRecord, userID: string, next: InviteeState): void {
    const prev = inv.states[userID];
    if (prev === undefined || !inviteeTransitions[prev].includes(next)) {
      throw ServerError.internal(
        `invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next} is not allowed`,
      );
    }
    this.#log.debug(`invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next}`);
    inv.states[userID] = next;
  }

  async #withInvitation<T>(
    userID: string,
    inviteID: string,
    fn: (tx: CallTx, inv: InvitationRecord) => T | Promise<T>,
  ): Promise<T> {
    const inv0 = await this.#store.getInvitation(inviteID);
    if (!inv0) throw ServerError.invitationNotFound(inviteID);
    return this.#withCall(
      inv0.callID,
      () => ServerError.invitationNotFound(inviteID),
      (tx) => {
        const inv = tx.invitations.get(inviteID);
        if (!inv) throw ServerError.invitationNotFound(inviteID);
        return fn(tx, inv);
      },
    );
  }

  /** Runs `fn` on the call under its lock and commits what it did; nothing is committed if it throws. */
  async #withCall<T>(
    callID: string,
    notFound: (callID: string) => ServerError,
    fn: (tx: CallTx) => T | Promise<T>,
  ): Promise<T> {
    return this.#locks.run(lockKey(callID), async () => {
      const call = await this.#store.getCall(callID);
      if (!call) throw notFound(callID);
      const invitations = new Map<string, InvitationRecord>();
      for (const id of call.inviteIDs) {
        const inv = await this.#store.getInvitation(id);
        if (inv) invitations.set(id, inv);
      }
      const tx = new CallTx(call, invitations);
      const result = await fn(tx);
      await this.#commit(tx);
      return result;
    });
  }

  async #commit(tx: CallTx): Promise<void> {
    const { call } = tx;
    if (tx.state === 'ended') {
      for (const id of tx.invitations.keys()) {
        await this.#scheduler.cancel(timerKey(id));
        await this.#store.deleteInvitation(id);
      }
      await this.#store.deleteCall(call.callID);
      // Everyone still bound to the call is free now.
      for (const m of call.members) tx.release.add(m.userID);
      for (const u of tx.ringing()) tx.release.add(u);
      this.#log.debug('call ended', { callID: call.callID });
    } else if (tx.dirty) {
      for (const inv of tx.invitations.values()) await this.#store.saveInvitation(inv);
      await this.#store.saveCall(call);
      const ringingNow = tx.ringing();
      if (call.group && ringingNow.join(',') !== tx.ringingBefore) {
        tx.pushToMembers({
          type: 'inviteeListUpdate',
          callID: call.callID,
          userIDList: ringingNow,
        });
      }
    }
    for (const u of tx.release) await this.#store.releaseUser(u, call.callID);
    for (const key of tx.cancelTimers) await this.#scheduler.cancel(key);
    if (tx.state !== 'ended') {
      for (const [key, delay] of tx.schedule) await this.#scheduler.schedule(key, delay);
    }
    for (const [userID, push] of tx.pushes) {
      try {
        await this.#deliver(userID, push);
      } catch (err) {
        // One unreachable recipient must not undo a committed operation for the others.
        this.#log.warn('push delivery failed', { userID, type: push.type, err });
      }
    }
  }
}
