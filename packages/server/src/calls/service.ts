/**
 * Invitations and calls, owned by the server (docs/protocol.md "Invitations and calls").
 *
 * State lives in the cluster's CallStore; every operation on a call runs under that call's lock,
 * loads the call with all its invitations, changes them through the two state setters below,
 * then commits: store writes, timers, and finally the pushes, still inside the lock so that every
 * member sees the pushes of one call in the order the operations happened.
 *
 * Calls whose media goes through the SFU ("Group calls and the SFU" in docs/protocol.md) also have
 * a second, per-call queue for SFU work (publish, subscribe, trickle, leave, closing the room): it
 * keeps Janus round trips out of the call lock while still running one SFU operation per call at a
 * time, in the order the call's state changed. SFU work never takes the call lock, so the call
 * lock may wait on it (opening a room) without deadlock.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CallEndReason,
  CallType,
  DEFAULT_MAX_RING_TIME_S,
  InviteEndReason,
  MAX_CALL_MEMBERS,
  MediaMode,
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
import { GroupErrors } from '../groups/errors.js';
import type { GroupDirectory } from '../groups/index.js';
import type { CallEnd, CallStart } from '../store/call-records.js';
import { silentLogger, type Logger } from '../log.js';
import { NO_SFU_HINT } from '../sfu/index.js';
import type {
  IceCandidate,
  SessionDescription,
  SfuAdapter,
  SubscriberOffer,
} from '../sfu/types.js';

export interface CallServiceOptions {
  store: CallStore;
  scheduler: Scheduler;
  locks: LockManager;
  deliver: DeliverFn;
  /** Seconds an invitation rings when the invite does not say (0 = up to `maxRingTime`). */
  defaultInviteTimeout: number;
  /**
   * The longest an invitation rings, seconds: a longer timeout, or 0 (TRTCCalling's "no
   * timeout"), is clamped to it, so nobody can keep another user busy for good. Default 60.
   */
  maxRingTime?: number;
  /** Invitations one call may have over its life (each is a record every operation loads). Default 100. */
  maxInvitationsPerCall?: number;
  /** Who is in which group; without it every `groupID` is unknown. */
  groups?: GroupDirectory;
  /** The SFU for group calls; without it they fail with SFU_UNAVAILABLE. */
  sfu?: SfuAdapter;
  /** Why there is no SFU and how to get one (the SFU_UNAVAILABLE message). */
  sfuMissing?: string;
  /** One-to-one calls go peer-to-peer (default); false sends every call through the SFU. */
  p2p?: boolean;
  /**
   * How long a call whose SFU room was lost (Janus restarted or unreachable) waits for Janus to
   * answer again before it ends with `sfu_lost`. Default DEFAULT_SFU_HEAL_TIMEOUT_MS.
   */
  sfuHealTimeoutMs?: number;
  /** Where each call's history is written (start, connect, end); none keeps no history. */
  history?: CallHistory;
  logger?: Logger;
}

/**
 * The call layer's view of the call-history store (`store/call-records.ts`). The calls are not
 * awaited, so the store must apply them in the order they are made.
 */
export interface CallHistory {
  start(call: CallStart): Promise<unknown>;
  connected(callID: string): Promise<unknown>;
  end(callID: string, end: CallEnd): Promise<unknown>;
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

/** The invitee's state in `inv`, or undefined when `userID` is not one of its invitees. */
function stateOf(inv: InvitationRecord, userID: string): InviteeState | undefined {
  const i = inv.userIDList.indexOf(userID);
  return i < 0 ? undefined : inv.states[i];
}
/** The invitees of `inv` still ringing. */
const ringingIn = (inv: InvitationRecord): string[] =>
  inv.userIDList.filter((_, i) => inv.states[i] === 'ringing');

/** One operation's working copy of a call and what it will do on commit. */
class CallTx {
  state: CallState;
  /** Whether commit writes the records back; operations that only read turn it off. */
  dirty = true;
  readonly pushes: Array<[userID: string, push: PushBody]> = [];
  readonly release = new Set<string>();
  readonly schedule: Array<[key: string, delayMs: number]> = [];
  readonly cancelTimers = new Set<string>();
  /** SFU work the commit queues, in order, on the call's SFU queue. */
  readonly sfuWork: Array<(sfu: SfuAdapter) => Promise<unknown>> = [];
  /** What the operation's caller awaits once the call lock is released. */
  sfuDone: Promise<void> = Promise.resolve();
  /** This operation created the call. */
  created = false;
  /** The call's state when the operation loaded it. */
  readonly stateBefore: CallRecord['state'];
  /** Why the call ended, once it has. */
  endReason: CallEndReason | undefined;
  readonly ringingBefore: string;

  constructor(
    readonly call: CallRecord,
    readonly invitations: Map<string, InvitationRecord>,
  ) {
    this.state = call.state;
    this.stateBefore = call.state;
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
}

/** Default of `sfuHealTimeoutMs` (`--sfu-heal-timeout`, docs/limits.md). */
export const DEFAULT_SFU_HEAL_TIMEOUT_MS = 20_000;
/**
 * Longest a join or accept waits for the call's SFU room to come back before it answers
 * SFU_RESTARTING (retryable): well below the SDK's 10 s request timeout.
 */
const HEAL_JOIN_WAIT_MS = 5_000;
/** Pause between attempts to re-create a room that Janus refused; the heal timeout bounds them. */
const HEAL_RETRY_MS = 250;

/** A call whose SFU room is being re-created. */
interface Heal {
  /** Settles when the room is back (and the members were told) or the call ended. */
  done: Promise<void>;
  /** The new room was lost too before the members were told: make another. */
  lostAgain: boolean;
}

const timerKey = (inviteID: string) => `invite:${inviteID}`;
const lockKey = (callID: string) => `call:${callID}`;
const sfuKey = (callID: string) => `sfu:${callID}`;

export class CallService {
  readonly #store: CallStore;
  readonly #scheduler: Scheduler;
  readonly #locks: LockManager;
  readonly #deliver: DeliverFn;
  readonly #defaultTimeout: number;
  readonly #maxRingTime: number;
  readonly #maxInvitations: number;
  readonly #log: Logger;
  readonly #groups: GroupDirectory | undefined;
  readonly #history: CallHistory | undefined;
  readonly #sfu: SfuAdapter | undefined;
  readonly #sfuMissing: string;
  readonly #p2p: boolean;
  /**
   * The last publisher set the SFU reported per call. It describes this node's SFU rooms (which
   * live only as long as this node's Janus connection), so it is node state, not call state.
   */
  readonly #publishers = new Map<string, string[]>();
  /** Calls whose SFU room this node is re-creating (node state, like #publishers). */
  readonly #healing = new Map<string, Heal>();
  readonly #healTimeoutMs: number;
  readonly #unsubscribe: Unsubscribe[] = [];
  #closed = false;

  constructor(options: CallServiceOptions) {
    this.#store = options.store;
    this.#scheduler = options.scheduler;
    this.#locks = options.locks;
    this.#deliver = options.deliver;
    this.#defaultTimeout = options.defaultInviteTimeout;
    this.#maxRingTime = options.maxRingTime ?? DEFAULT_MAX_RING_TIME_S;
    this.#maxInvitations = options.maxInvitationsPerCall ?? 100;
    this.#log = options.logger ?? silentLogger;
    this.#groups = options.groups;
    this.#sfu = options.sfu;
    this.#sfuMissing = options.sfuMissing ?? NO_SFU_HINT;
    this.#p2p = options.p2p ?? true;
    this.#history = options.history;
    this.#healTimeoutMs = options.sfuHealTimeoutMs ?? DEFAULT_SFU_HEAL_TIMEOUT_MS;
    this.#unsubscribe.push(
      this.#scheduler.subscribe((key) =>
        this.#onTimer(key).catch((err: unknown) =>
          this.#log.error('invitation timer failed', { key, err }),
        ),
      ),
    );
    if (this.#sfu) {
      this.#unsubscribe.push(
        this.#sfu.onPublishersChanged((callID, publishers) => {
          // An empty set also comes after the room closed: keep no entry for it then.
          if (publishers.length) this.#publishers.set(callID, [...publishers]);
          else this.#publishers.delete(callID);
          this.#sfuRun(callID, () => this.#fanOutOffers(callID)).catch((err: unknown) =>
            this.#log.warn('updating subscribers failed', { callID, err }),
          );
        }),
        this.#sfu.onRoomLost((callID) => this.#onRoomLost(callID)),
      );
    }
  }

  /** Stops taking timer and SFU callbacks (state stays in the store for other nodes). */
  close(): void {
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  /** Starts a call (or, with `callID`, invites into the sender's call) and rings every invitee. */
  async invite(
    userID: string,
    req: Omit<ClientRequestOf<'invite'>, 'id' | 'type'>,
  ): Promise<RequestResults['invite']> {
    const list = [...new Set(req.userIDList)];
    if (list.includes(userID)) throw ServerError.cannotCallSelf();
    // 0 is TRTCCalling's "no timeout": it rings as long as the server allows, and no longer.
    const asked = req.timeout ?? this.#defaultTimeout;
    const timeout = asked === 0 ? this.#maxRingTime : Math.min(asked, this.#maxRingTime);

    if (req.callID !== undefined) {
      const callID = req.callID;
      return this.#withCall(callID, ServerError.callNotFound, async (tx) => {
        if (!tx.member(userID)) throw ServerError.notCallMember(callID);
        const groupID = tx.call.groupID;
        if (req.groupID !== undefined && req.groupID !== groupID) {
          throw ServerError.invalidField(
            '/groupID',
            groupID === undefined
              ? `call ${callID} is not a group's call`
              : `call ${callID} is group ${groupID}'s call`,
          );
        }
        // Members and invitees still ringing are skipped, as TUICallKit's inviteUser skips them: a
        // second invitation would only tell everyone "busy". Nobody left to ring is an error.
        const ringing = new Set(tx.ringing());
        const seats = tx.call.members.length + ringing.size;
        const newcomers = list.filter((u) => !tx.member(u) && !ringing.has(u));
        if (!newcomers.length) throw ServerError.alreadyInvited(callID);
        if (tx.call.inviteIDs.length >= this.#maxInvitations) {
          throw ServerError.tooManyInvitations(callID, this.#maxInvitations);
        }
        // Invitations into a group's call go through the group, like the first one.
        if (groupID !== undefined) await this.#checkGroupMembers(groupID, undefined, newcomers);
        if (seats + newcomers.length > MAX_CALL_MEMBERS)
          throw ServerError.callFull(MAX_CALL_MEMBERS);
        if (tx.call.media === MediaMode.P2P && seats + newcomers.length > 2) {
          await this.#moveToSfu(tx);
        }
        return this.#addInvitation(tx, userID, newcomers, { ...req, groupID }, timeout);
      });
    }

    if (1 + list.length > MAX_CALL_MEMBERS) throw ServerError.callFull(MAX_CALL_MEMBERS);
    if (req.groupID !== undefined) await this.#checkGroupMembers(req.groupID, userID, list);
    const group = list.length > 1 || req.groupID !== undefined;
    const media = group || !this.#p2p ? MediaMode.SFU : MediaMode.P2P;
    if (media === MediaMode.SFU) this.#requireSfu();

    const callID = randomUUID();
    let claimedGroup = false;
    let roomOpened = false;
    const result = await this.#locks.run(lockKey(callID), async () => {
      if (!(await this.#store.claimUser(userID, callID))) throw ServerError.alreadyInCall();
      const call: CallRecord = {
        callID,
        // TRTC room ids are 32-bit unsigned; stay within a signed int for every client.
        roomID: randomInt(1, 2 ** 31),
        callType: req.callType,
        sponsor: userID,
        group,
        media,
        state: 'ringing',
        members: [{ userID, audio: true, video: req.callType === CallType.VIDEO }],
        joined: [userID],
        inviteIDs: [],
        createdAt: Date.now(),
      };
      const tx = new CallTx(call, new Map());
      tx.created = true;
      try {
        if (req.groupID !== undefined) {
          call.groupID = req.groupID;
          claimedGroup = await this.#store.claimGroup(req.groupID, callID);
          if (!claimedGroup) {
            throw ServerError.invalidCallState(
              `group ${req.groupID} already has a call in progress; join it instead`,
            );
          }
        }
        if (media === MediaMode.SFU) {
          await this.#openRoom(callID);
          roomOpened = true;
        }
        const result = await this.#addInvitation(tx, userID, list, req, timeout);
        await this.#commit(tx);
        return { result, tx };
      } catch (err) {
        // Undo what this invite did before it failed.
        for (const u of [userID, ...list]) await this.#store.releaseUser(u, callID);
        if (claimedGroup) await this.#store.releaseGroup(req.groupID!, callID);
        if (roomOpened) this.#sfuRun(callID, (sfu) => sfu.closeRoom(callID)).catch(() => {});
        throw err;
      }
    });
    await result.tx.sfuDone;
    return result.result;
  }

  /** Joins the ongoing call of a group the sender is a member of, without an invitation. */
  async join(userID: string, groupID: string, callType: CallType): Promise<RequestResults['join']> {
    await this.#checkGroupMembers(groupID, userID, []);
    const callID = await this.#store.groupCall(groupID);
    if (callID === undefined) throw ServerError.groupHasNoCall(groupID);
    // Into a call whose SFU room is being re-created: wait for it (or for the call to end).
    await this.#whileHealing(callID);
    return this.#withCall(
      callID,
      () => ServerError.groupHasNoCall(groupID),
      async (tx) => {
        const { call } = tx;
        if (tx.member(userID)) throw ServerError.alreadyInCall();
        const ringingHere = tx.ringing().includes(userID);
        if (!ringingHere) {
          if (call.members.length + tx.ringing().length + 1 > MAX_CALL_MEMBERS) {
            throw ServerError.callFull(MAX_CALL_MEMBERS);
          }
          if (!(await this.#store.claimUser(userID, callID))) throw ServerError.alreadyInCall();
        }
        // Joining answers an invitation that still rings for the joiner.
        for (const inv of tx.invitations.values()) {
          if (stateOf(inv, userID) === 'ringing') {
            this.#setInvitee(inv, userID, 'accepted');
            if (!ringingIn(inv).length) tx.cancelTimers.add(timerKey(inv.inviteID));
          }
        }
        return this.#enter(
          tx,
          userID,
          call.callType === CallType.VIDEO && callType === CallType.VIDEO,
        );
      },
    );
  }

  /** The invitee joins the call. */
  async accept(userID: string, inviteID: string): Promise<RequestResults['accept']> {
    // Like join: a call whose SFU room is being re-created is entered once it is back.
    const pending = await this.#store.getInvitation(inviteID);
    if (pending) await this.#whileHealing(pending.callID);
    return this.#withInvitation(userID, inviteID, (tx, inv) => {
      this.#checkRinging(inv, userID);
      this.#setInvitee(inv, userID, 'accepted');
      if (!ringingIn(inv).length) tx.cancelTimers.add(timerKey(inviteID));
      return this.#enter(tx, userID, tx.call.callType === CallType.VIDEO);
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
      if (!ringingIn(inv).length) {
        const answered = inv.states.some((state) =>
          ['accepted', 'rejected', 'busy'].includes(state),
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

  /**
   * Relays SDP/ICE between two joined members of one call. The most frequent request of all, and
   * one that changes nothing: under the call's lock (so a relay never overtakes a change to the
   * call), it reads only who the members are.
   */
  async signal(
    userID: string,
    callID: string,
    to: string,
    data: SignalData,
  ): Promise<RequestResults['signal']> {
    await this.#locks.run(lockKey(callID), async () => {
      const members = await this.#store.callMembers(callID);
      if (!members) throw ServerError.callNotFound(callID);
      if (!members.includes(userID)) throw ServerError.notCallMember(callID);
      if (to === userID) throw ServerError.invalidField('/to', 'cannot signal yourself');
      if (!members.includes(to)) throw ServerError.notCallMember(callID, to);
      await this.#deliverOrLog(to, { type: 'signal', callID, from: userID, data });
    });
    return {};
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
      // The whole call switches, one-to-one or group; before anyone answered there is nothing to switch.
      if (tx.state !== 'connected') {
        throw ServerError.invalidCallState('switchCallType needs a connected call');
      }
      if (call.callType !== callType) {
        call.callType = callType;
        tx.pushToMembers({ type: 'callTypeChanged', callID, callType, userID }, userID);
      }
      return {};
    });
  }

  /** SFU calls: publishes the member's media with their offer; resolves with the SFU's answer. */
  async sfuPublish(
    userID: string,
    callID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<RequestResults['sfuPublish']> {
    return this.#sfuRequest(userID, callID, 'publish', async (sfu) => ({
      description: await sfu.publish(callID, userID, offer),
    }));
  }

  /** SFU calls: the member's answer to the latest `sfuOffer` for their subscriber connection. */
  async sfuAnswer(
    userID: string,
    callID: string,
    answer: SessionDescription<'answer'>,
  ): Promise<RequestResults['sfuAnswer']> {
    return this.#sfuRequest(userID, callID, 'answer', async (sfu) => {
      // Publishers that changed while this answer was awaited come back as a follow-up offer.
      const next = await sfu.answer(callID, userID, answer);
      if (next) await this.#pushOffer(callID, userID, next);
      return {};
    });
  }

  /** SFU calls: an ICE candidate of the member's publisher or subscriber connection. */
  async sfuTrickle(
    userID: string,
    callID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<RequestResults['sfuTrickle']> {
    // Outside the call's SFU queue: candidates (hundreds in a full call) only touch the sender's
    // own connection and must not wait behind every other member's subscriber update.
    return this.#sfuRequest(
      userID,
      callID,
      'trickle',
      async (sfu) => {
        await sfu.trickle(callID, userID, target, candidate);
        return {};
      },
      { queued: false },
    );
  }

  /**
   * SFU calls: restarts ICE on the member's subscriber connection (its path died); the new offer
   * goes out as an `sfuOffer` push after the (empty) reply.
   */
  async sfuRestart(userID: string, callID: string): Promise<RequestResults['sfuRestart']> {
    return this.#sfuRequest(userID, callID, 'restart', async (sfu) => {
      const offer = await sfu.restartSubscriber(callID, userID);
      await this.#pushOffer(callID, userID, offer);
      return {};
    });
  }

  /** SFU calls: which simulcast layer of `ofUserID`'s video the member receives. */
  async sfuLayer(
    userID: string,
    callID: string,
    ofUserID: string,
    substream: number,
  ): Promise<RequestResults['sfuLayer']> {
    return this.#sfuRequest(userID, callID, 'layer', async (sfu, call) => {
      if (ofUserID === userID) throw ServerError.invalidField('/userID', 'that is your own video');
      if (!call.members.some((m) => m.userID === ofUserID)) {
        throw ServerError.notCallMember(callID, ofUserID);
      }
      await sfu.setLayer(callID, userID, ofUserID, substream);
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
          if (stateOf(inv, userID) === 'ringing') {
            this.#declineInvitee(tx, inv, userID, 'rejected');
          }
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
          if (stateOf(inv, userID) === 'ringing') {
            tx.push(userID, this.#invitedPush(tx.call, inv));
          }
        }
      },
    ).catch((err: unknown) => {
      if (!(err instanceof ServerError && err.name === 'CALL_NOT_FOUND')) throw err;
    });
  }

  // ---- internals -------------------------------------------------------------------------

  /** Adds a user who accepted or joined to the call's members; the result tells them the call. */
  #enter(tx: CallTx, userID: string, video: boolean): RequestResults['accept'] {
    const { call } = tx;
    const others = call.members.map((m) => ({ ...m }));
    const me = { userID, audio: true, video };
    call.members.push(me);
    if (!call.joined.includes(userID)) call.joined.push(userID);
    if (tx.state === 'ringing' && call.members.length >= 2) this.#setCallState(tx, 'connected');
    tx.pushToMembers({ type: 'userEnter', callID: call.callID, ...me }, userID);
    if (call.media === MediaMode.SFU) {
      // Whoever already publishes is offered to the newcomer at once, before they publish.
      tx.sfuWork.push(() => this.#offerTo(call.callID, userID));
    }
    const joined: RequestResults['accept'] = {
      callID: call.callID,
      roomID: call.roomID,
      callType: call.callType,
      members: others,
      media: call.media,
      inviteeList: tx.ringing().filter((u) => u !== userID),
    };
    if (call.groupID !== undefined) joined.groupID = call.groupID;
    return joined;
  }

  /**
   * Throws GROUP_NOT_FOUND for an unknown group, NOT_GROUP_MEMBER when the sender (if given) or
   * one of `invitees` is not in it. Reads only the rows of the users named, never the member list:
   * a refusal costs the same in a group of 10,000 as in a group of 3.
   */
  async #checkGroupMembers(
    groupID: string,
    sender: string | undefined,
    invitees: string[],
  ): Promise<void> {
    const groups = this.#groups;
    if (!groups) throw GroupErrors.notFound(groupID);
    if (sender !== undefined) {
      const found = await groups.membersAmong(groupID, [sender]);
      if (!found) throw GroupErrors.notFound(groupID);
      if (!found.length) throw ServerError.notGroupMember(groupID);
    }
    if (!invitees.length) return;
    const found = await groups.membersAmong(groupID, invitees);
    if (!found) throw GroupErrors.notFound(groupID);
    const members = new Set(found);
    const outsider = invitees.find((u) => !members.has(u));
    if (outsider !== undefined) throw ServerError.notGroupMember(groupID, outsider);
  }

  #requireSfu(): SfuAdapter {
    if (!this.#sfu) throw ServerError.sfuUnavailable(this.#sfuMissing);
    return this.#sfu;
  }

  /** Opens the call's SFU room, in the call's SFU queue; a failure is SFU_UNAVAILABLE. */
  async #openRoom(callID: string): Promise<void> {
    this.#requireSfu();
    try {
      await this.#sfuRun(callID, (sfu) => sfu.openRoom(callID));
    } catch (err) {
      this.#log.warn('opening an SFU room failed', { callID, err });
      throw ServerError.sfuUnavailable(
        `the SFU could not open a room: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
  }

  /** A one-to-one call gains a third person: its media moves to the SFU for everyone. */
  async #moveToSfu(tx: CallTx): Promise<void> {
    const { call } = tx;
    await this.#openRoom(call.callID);
    this.#log.debug(`call ${call.callID}: media p2p -> sfu`);
    call.media = MediaMode.SFU;
    call.group = true;
    tx.pushToMembers({ type: 'mediaMode', callID: call.callID, media: MediaMode.SFU });
  }

  /** Runs SFU work for a call one at a time, in order, outside the call lock. */
  #sfuRun<T>(callID: string, fn: (sfu: SfuAdapter) => Promise<T>): Promise<T> {
    const sfu = this.#requireSfu();
    return this.#locks.run(sfuKey(callID), () => fn(sfu));
  }

  /** The common path of the sfu* requests: the sender must be a joined member of an SFU call. */
  async #sfuRequest<T>(
    userID: string,
    callID: string,
    what: string,
    fn: (sfu: SfuAdapter, call: CallRecord) => Promise<T>,
    { queued = true }: { queued?: boolean } = {},
  ): Promise<T> {
    const adapter = this.#requireSfu();
    const run = async (sfu: SfuAdapter): Promise<T> => {
      // Checked inside the SFU queue (when queued): a leave that committed earlier has its
      // sfu.leave queued before this, and one that commits later queues it after.
      const call = await this.#store.getCall(callID);
      if (!call) throw ServerError.callNotFound(callID);
      if (!call.members.some((m) => m.userID === userID)) throw ServerError.notCallMember(callID);
      if (call.media !== MediaMode.SFU) {
        throw ServerError.invalidCallState(`call ${callID} is peer-to-peer; use signal`);
      }
      // The room is gone and a new one is on its way: retry after sfuReset.
      if (this.#healing.has(callID)) throw ServerError.sfuRestarting(callID);
      try {
        return await fn(sfu, call);
      } catch (err) {
        // The room went while this request was with Janus.
        if (this.#healing.has(callID)) throw ServerError.sfuRestarting(callID);
        if (err instanceof ServerError) throw err;
        this.#log.warn(`sfu ${what} failed`, { callID, userID, err });
        throw ServerError.sfuUnavailable(
          `the SFU refused ${what}: ${err instanceof Error ? err.message : String(err)}`,
          err,
        );
      }
    };
    return queued ? this.#sfuRun(callID, run) : run(adapter);
  }

  /** Gives `userID`'s subscriber the streams of every other member publishing; pushes any new offer. */
  async #offerTo(callID: string, userID: string, call?: CallRecord): Promise<void> {
    // The room is being re-created; everyone is offered everyone again after sfuReset.
    if (this.#healing.has(callID)) return;
    const current = call ?? (await this.#store.getCall(callID));
    if (!current || !current.members.some((m) => m.userID === userID)) return;
    const members = new Set(current.members.map((m) => m.userID));
    const publishers = (this.#publishers.get(callID) ?? []).filter(
      (p) => p !== userID && members.has(p),
    );
    const offer = await this.#requireSfu().subscribe(callID, userID, publishers);
    if (offer) await this.#pushOffer(callID, userID, offer);
  }

  async #pushOffer(callID: string, userID: string, offer: SubscriberOffer): Promise<void> {
    await this.#deliver(userID, {
      type: 'sfuOffer',
      callID,
      description: offer.description,
      streams: offer.streams,
    });
  }

  /** The call's publishers changed: every member's subscriber follows. */
  async #fanOutOffers(callID: string): Promise<void> {
    if (this.#healing.has(callID)) return;
    const call = await this.#store.getCall(callID);
    if (!call || call.media !== MediaMode.SFU) return;
    for (const m of call.members) {
      try {
        await this.#offerTo(callID, m.userID, call);
      } catch (err) {
        this.#log.warn('subscribing a member failed', { callID, userID: m.userID, err });
      }
    }
  }

  /** Janus lost the call's room: re-create it once Janus answers, or end the call in time. */
  #onRoomLost(callID: string): void {
    if (this.#closed) return;
    const current = this.#healing.get(callID);
    if (current) {
      current.lostAgain = true;
      return;
    }
    this.#publishers.delete(callID);
    const heal: Heal = { done: Promise.resolve(), lostAgain: false };
    this.#healing.set(callID, heal);
    this.#log.warn('sfu room lost; re-creating it', { callID });
    heal.done = this.#heal(callID, heal)
      .catch((err: unknown) => this.#log.error('healing an SFU room failed', { callID, err }))
      .finally(() => {
        if (this.#healing.get(callID) === heal) this.#healing.delete(callID);
      });
  }

  /**
   * Re-creates the call's room (new handles) as soon as Janus answers, then pushes `sfuReset` to
   * every member so their SDK publishes and subscribes again. Bounded by the heal timeout (and a
   * number of attempts): a Janus that does not come back ends the call with `sfu_lost`.
   */
  async #heal(callID: string, heal: Heal): Promise<void> {
    const sfu = this.#requireSfu();
    const started = Date.now();
    const deadline = started + this.#healTimeoutMs;
    // Each attempt waits for Janus or pauses HEAL_RETRY_MS, so the deadline bounds the count too.
    const attempts = Math.ceil(this.#healTimeoutMs / HEAL_RETRY_MS) + 2;
    for (let attempt = 1; attempt <= attempts && !this.#closed; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await sfu.waitUntilAvailable(left)) || this.#closed) break;
      // In the call's SFU queue: a closeRoom queued by the call's end runs before or after it.
      const opened = await this.#sfuRun(callID, async (s) => {
        const call = await this.#store.getCall(callID);
        if (!call || call.media !== MediaMode.SFU) return 'gone' as const;
        heal.lostAgain = false;
        try {
          await s.openRoom(callID);
          return 'open' as const;
        } catch (err) {
          this.#log.warn('re-creating an SFU room failed; retrying', { callID, attempt, err });
          return 'retry' as const;
        }
      });
      if (opened === 'gone') return;
      if (opened === 'retry' || heal.lostAgain) {
        await delay(Math.min(HEAL_RETRY_MS, Math.max(0, deadline - Date.now())));
        continue;
      }
      // Under the call lock, so sfuReset takes its place among the call's other pushes, and a
      // member who enters later (and publishes into the new room) does not get it.
      const told = await this.#withCall(callID, ServerError.callNotFound, (tx) => {
        tx.dirty = false;
        if (heal.lostAgain) return false;
        // sfu* requests go to the new room from here on; the members hear of it next.
        this.#healing.delete(callID);
        tx.pushToMembers({ type: 'sfuReset', callID });
        return true;
      }).catch((err: unknown) => {
        if (err instanceof ServerError && err.name === 'CALL_NOT_FOUND') return undefined;
        throw err;
      });
      if (told === undefined) return;
      if (told) {
        this.#log.info('sfu room re-created; members told to publish again', {
          callID,
          ms: Date.now() - started,
        });
        return;
      }
    }
    if (this.#closed) return;
    this.#log.error('the SFU did not come back in time; ending the call', {
      callID,
      timeoutMs: this.#healTimeoutMs,
    });
    await this.#withCall(callID, ServerError.callNotFound, (tx) => {
      this.#healing.delete(callID);
      this.#endCall(tx, CallEndReason.SFU_LOST);
    }).catch((err: unknown) => {
      if (!(err instanceof ServerError && err.name === 'CALL_NOT_FOUND')) throw err;
    });
  }

  /**
   * Waits (bounded) while the call's SFU room is being re-created, so that whoever enters the call
   * publishes into the new room; still healing after HEAL_JOIN_WAIT_MS → SFU_RESTARTING.
   */
  async #whileHealing(callID: string): Promise<void> {
    const heal = this.#healing.get(callID);
    if (!heal) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, HEAL_JOIN_WAIT_MS);
    });
    await Promise.race([heal.done, waited]).finally(() => clearTimeout(timer));
    if (this.#healing.has(callID)) throw ServerError.sfuRestarting(callID);
  }

  /** Ends the call for everyone at once (invitations still ringing stop as cancelled). */
  #endCall(tx: CallTx, reason: CallEndReason): void {
    if (tx.state === 'ended') return;
    for (const inv of tx.invitations.values()) this.#endRinging(tx, inv, InviteEndReason.CANCELLED);
    this.#setCallState(tx, 'ended');
    tx.endReason = reason;
    for (const m of tx.call.members) {
      tx.push(m.userID, { type: 'callEnded', callID: tx.call.callID, reason });
      tx.release.add(m.userID);
    }
  }

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
      states: [],
      timeout,
      createdAt: now,
      expiresAt: now + timeout * 1000,
    };
    if (req.groupID !== undefined) inv.groupID = req.groupID;
    if (req.offlinePushInfo !== undefined) inv.offlinePushInfo = req.offlinePushInfo;

    // `list` names nobody already in this call or ringing in it (invite filtered them out).
    for (const u of list) {
      inv.states.push((await this.#store.claimUser(u, call.callID)) ? 'ringing' : 'busy');
    }
    tx.invitations.set(inviteID, inv);
    call.inviteIDs.push(inviteID);
    if (call.inviteIDs.length > 1 || list.length > 1) call.group = true;

    for (const u of list) {
      if (stateOf(inv, u) === 'ringing') {
        tx.push(u, this.#invitedPush(call, inv));
      } else {
        this.#log.debug('invitee busy', { inviteID, userID: u });
        tx.pushToMembers({ type: 'lineBusy', inviteID, callID: call.callID, userID: u });
      }
    }
    if (ringingIn(inv).length) tx.schedule.push([timerKey(inviteID), timeout * 1000]);
    this.#settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
    return { inviteID, callID: call.callID, roomID: call.roomID, media: call.media };
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
    const state = stateOf(inv, userID);
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
    if (!ringingIn(inv).length) tx.cancelTimers.add(timerKey(inv.inviteID));
  }

  /** Stops every invitee of `inv` still ringing; returns who they were. */
  #endRinging(tx: CallTx, inv: InvitationRecord, reason: InviteEndReason): string[] {
    const ringing = ringingIn(inv);
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
    if (call.media === MediaMode.SFU) tx.sfuWork.push((sfu) => sfu.leave(call.callID, userID));
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
    tx.endReason = reason;
    for (const m of tx.call.members) {
      tx.push(m.userID, { type: 'callEnded', callID: tx.call.callID, reason });
      tx.release.add(m.userID);
    }
  }

  /**
   * Queues what this operation changed for the call's history. Not awaited: the history store
   * commits writes in the order they were made, in batches, and a failed write is only logged.
   */
  #recordHistory(tx: CallTx): void {
    const history = this.#history;
    if (!history) return;
    const { call } = tx;
    const failed = (err: unknown): void =>
      this.#log.warn('writing the call history failed', { callID: call.callID, err });
    if (tx.created) {
      history
        .start({
          callID: call.callID,
          roomID: call.roomID,
          sponsor: call.sponsor,
          groupID: call.groupID,
          callType: call.callType,
          media: call.media,
          startedAt: call.createdAt,
        })
        .catch(failed);
    }
    if (tx.stateBefore === 'ringing' && call.state === 'connected') {
      history.connected(call.callID).catch(failed);
    }
    if (tx.endReason !== undefined) {
      history
        .end(call.callID, { reason: tx.endReason, members: call.joined, media: call.media })
        .catch(failed);
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
    const i = inv.userIDList.indexOf(userID);
    const prev = inv.states[i];
    if (prev === undefined || !inviteeTransitions[prev].includes(next)) {
      throw ServerError.internal(
        `invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next} is not allowed`,
      );
    }
    this.#log.debug(`invitee ${userID} of ${inv.inviteID}: ${prev} -> ${next}`);
    inv.states[i] = next;
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

  /**
   * Runs `fn` on the call under its lock and commits what it did; nothing is committed if it
   * throws.
   */
  async #withCall<T>(
    callID: string,
    notFound: (callID: string) => ServerError,
    fn: (tx: CallTx) => T | Promise<T>,
  ): Promise<T> {
    return this.#locks
      .run(lockKey(callID), async () => {
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
        return { result, tx };
      })
      .then(async ({ result, tx }) => {
        // The SFU catches up outside the lock, but before the sender hears back.
        await tx.sfuDone;
        return result;
      });
  }

  /** Delivers a push; one unreachable recipient must not undo a committed operation for others. */
  async #deliverOrLog(userID: string, push: PushBody): Promise<void> {
    try {
      await this.#deliver(userID, push);
    } catch (err) {
      this.#log.warn('push delivery failed', { userID, type: push.type, err });
    }
  }

  async #commit(tx: CallTx): Promise<void> {
    const { call } = tx;
    if (tx.state === 'ended') {
      for (const id of tx.invitations.keys()) {
        await this.#scheduler.cancel(timerKey(id));
        await this.#store.deleteInvitation(id);
      }
      await this.#store.deleteCall(call.callID);
      if (call.groupID !== undefined) await this.#store.releaseGroup(call.groupID, call.callID);
      if (call.media === MediaMode.SFU) {
        // Closing the room drops every handle in it, so no per-member leave is needed.
        tx.sfuWork.length = 0;
        tx.sfuWork.push(async (sfu) => {
          this.#publishers.delete(call.callID);
          await sfu.closeRoom(call.callID);
        });
      }
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
    this.#recordHistory(tx);
    for (const u of tx.release) await this.#store.releaseUser(u, call.callID);
    for (const key of tx.cancelTimers) await this.#scheduler.cancel(key);
    if (tx.state !== 'ended') {
      for (const [key, delay] of tx.schedule) await this.#scheduler.schedule(key, delay);
    }
    for (const [userID, push] of tx.pushes) await this.#deliverOrLog(userID, push);
    // Queued now, in commit order; awaited by the operation once the call lock is released.
    const work = tx.sfuWork.splice(0).map((fn) =>
      this.#sfuRun(call.callID, fn).then(
        () => undefined,
        (err: unknown) =>
          this.#log.warn('sfu work after a call change failed', { callID: call.callID, err }),
      ),
    );
    tx.sfuDone = Promise.all(work).then(() => undefined);
  }
}
