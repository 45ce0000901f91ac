/**
 * `CallService`: the signalling gateway's one entry point into invitations, calls and media
 * (docs/protocol.md "Invitations and calls", "Group calls and the SFU"). It checks a request, runs
 * it as a call transaction (tx.ts) made of the steps of the layers below, and commits.
 *
 * Layers (imports point down only):
 *
 *   signal/gateway ──► calls/service (this facade)
 *                        ├─► calls/lifecycle ─► calls/tx ─► calls/events
 *                        ├─► invitations/  (records, ringing steps, timeout timers)
 *                        └─► media/        (P2P relay, SFU coordinator)
 *                                  all ─► cluster/ (store, locks, scheduler), sfu/ (adapter)
 *
 * Observers (the call history, webhooks) get each commit's domain events (events.ts); the call
 * layer knows none of them by name.
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  CallEndReason,
  CallType,
  DEFAULT_MAX_RING_TIME_S,
  MAX_CALL_MEMBERS,
  InviteEndReason,
  MediaMode,
  type RequestResults,
  type SignalData,
} from '@ringline/protocol';
import { deviceKey } from '../cluster/keys.js';
import type {
  CallRecord,
  CallStore,
  DeviceStore,
  InvitationRecord,
  LockManager,
  MessageBus,
  PresenceStore,
  Scheduler,
  Unsubscribe,
} from '../cluster/types.js';
import { deliverOrLog, type DeliverFn } from '../cluster/delivery.js';
import { ServerError } from '../errors.js';
import { GroupErrors } from '../groups/errors.js';
import type { GroupDirectory } from '../groups/index.js';
import {
  answer,
  checkCancel,
  checkRinging,
  createInvitation,
  decline,
  endRinging,
  InvitationTimers,
  redeliver,
  ring,
  ringingIn,
  ringTime,
  stateOf,
  timeOut,
  timerKey,
  type InviteRequest,
} from '../invitations/index.js';
import { silentLogger, type Logger } from '../log.js';
import { SfuCoordinator, SignalRelay } from '../media/index.js';
import type { IceCandidate, SessionDescription, SfuAdapter } from '../sfu/types.js';
import { CallEventType, type CallObserver } from './events.js';
import { endCall, enter, leave, settle } from './lifecycle.js';
import { CallTransactions, type CallTx } from './tx.js';

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
  /** Who has a session: invitees without one are recorded as offline. Without it, nobody is. */
  presence?: PresenceStore;
  /**
   * `--multi-device ring-all`: users' devices. A call's pushes go to the device in it (set when
   * it invites, accepts or joins), the rest of a user's pushes to every device; an answer on one
   * device stops the others ringing. Absent (`kick`): one session per user, nothing of this runs.
   */
  devices?: DeviceStore;
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
  /** This node's id (the SFU rooms it opens are recorded as its own). */
  nodeID?: string;
  /** The cluster bus: SFU requests for rooms another node drives are routed over it. */
  bus?: MessageBus;
  /** How long a routed SFU request waits for the owner node. Default SFU_ROUTE_TIMEOUT_MS. */
  sfuRouteTimeoutMs?: number;
  /**
   * Who hears what each commit did (events.ts): the call history (history/observer.ts),
   * webhooks. None by default.
   */
  observers?: readonly CallObserver[];
  logger?: Logger;
}

/** CALL_NOT_FOUND means the call ended meanwhile: nothing left to do. */
const ignoreGone = (err: unknown): undefined => {
  if (err instanceof ServerError && err.name === 'CALL_NOT_FOUND') return undefined;
  throw err;
};

export class CallService {
  readonly #store: CallStore;
  readonly #defaultTimeout: number;
  readonly #maxRingTime: number;
  readonly #maxInvitations: number;
  readonly #log: Logger;
  readonly #groups: GroupDirectory | undefined;
  readonly #presence: PresenceStore | undefined;
  readonly #devices: DeviceStore | undefined;
  readonly #p2p: boolean;
  readonly #timers: InvitationTimers;
  readonly #media: SfuCoordinator;
  readonly #relay: SignalRelay;
  readonly #tx: CallTransactions;
  readonly #nodeID: string | undefined;
  readonly #unsubscribe: Unsubscribe[] = [];

  constructor(options: CallServiceOptions) {
    this.#devices = options.devices;
    // A user released from a call has no device in it any more (every release path goes here).
    this.#store = options.devices
      ? releasingDevices(options.store, options.devices)
      : options.store;
    this.#defaultTimeout = options.defaultInviteTimeout;
    this.#maxRingTime = options.maxRingTime ?? DEFAULT_MAX_RING_TIME_S;
    this.#maxInvitations = options.maxInvitationsPerCall ?? 100;
    this.#log = options.logger ?? silentLogger;
    this.#groups = options.groups;
    this.#presence = options.presence;
    this.#p2p = options.p2p ?? true;
    this.#nodeID = options.nodeID;
    const deliver = deliverOrLog(options.deliver, this.#log);
    this.#timers = new InvitationTimers(options.scheduler);
    this.#relay = new SignalRelay(this.#store, options.locks, deliver);
    this.#media = new SfuCoordinator({
      store: this.#store,
      locks: options.locks,
      deliver: options.deliver,
      sfu: options.sfu,
      sfuMissing: options.sfuMissing,
      healTimeoutMs: options.sfuHealTimeoutMs,
      nodeID: options.nodeID,
      bus: options.bus,
      routeTimeoutMs: options.sfuRouteTimeoutMs,
      preconnect: !options.devices,
      logger: this.#log,
      hooks: {
        roomBack: (callID, confirm, placement) =>
          this.#tx
            .withCall(callID, ServerError.callNotFound, (tx) => {
              if (!confirm()) {
                tx.dirty = false;
                return false;
              }
              // Where the room is now (maybe another Janus of the pool): any node reads it there.
              tx.call.sfu = placement;
              // The ringing too: one that pre-connected lost its handles with the old room.
              const told = new Set([...tx.call.members.map((m) => m.userID), ...tx.ringing()]);
              for (const userID of told) tx.push(userID, { type: 'sfuReset', callID });
              return true;
            })
            .catch(ignoreGone),
        ownerGone: (callID, owner) => this.#takeOverSfu(callID, owner),
        roomGone: (callID, forget) =>
          this.#tx
            .withCall(callID, ServerError.callNotFound, (tx) => {
              forget();
              endCall(tx, CallEndReason.SFU_LOST);
            })
            .catch(ignoreGone),
      },
    });
    this.#tx = new CallTransactions({
      store: this.#store,
      locks: options.locks,
      timers: this.#timers,
      deliver,
      media: this.#media,
      observers: options.observers ?? [],
      logger: this.#log,
    });
    this.#unsubscribe.push(
      this.#timers.subscribe((inviteID) =>
        this.#onTimeout(inviteID).catch((err: unknown) =>
          this.#log.error('invitation timer failed', { key: timerKey(inviteID), err }),
        ),
      ),
    );
  }

  /** Stops taking timer and SFU callbacks (state stays in the store for other nodes). */
  close(): void {
    this.#media.close();
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  /** Starts a call (or, with `callID`, invites into the sender's call) and rings every invitee. */
  async invite(
    userID: string,
    req: InviteRequest,
    /** The sender's device (session ID), with `devices`: the new call's pushes go there. */
    device?: string,
  ): Promise<RequestResults['invite']> {
    const list = [...new Set(req.userIDList)];
    if (list.includes(userID)) throw ServerError.cannotCallSelf();
    const timeout = ringTime(req.timeout, this.#defaultTimeout, this.#maxRingTime);

    if (req.callID !== undefined) {
      const callID = req.callID;
      return this.#tx.withCall(callID, ServerError.callNotFound, async (tx) => {
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
    if (media === MediaMode.SFU) this.#media.require();

    const callID = randomUUID();
    let claimedGroup = false;
    let roomOpened = false;
    const result = await this.#tx.locked(callID, async () => {
      if (!(await this.#store.claimUser(userID, callID))) throw ServerError.alreadyInCall();
      await this.#takePart(userID, device, callID);
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
      const tx = this.#tx.newTx(call);
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
          call.sfu = await this.#media.openRoom(callID);
          roomOpened = true;
        }
        const result = await this.#addInvitation(tx, userID, list, req, timeout, true);
        await this.#tx.commit(tx);
        return { result, tx };
      } catch (err) {
        // Undo what this invite did before it failed.
        for (const u of [userID, ...list]) await this.#store.releaseUser(u, callID);
        if (claimedGroup) await this.#store.releaseGroup(req.groupID!, callID);
        if (roomOpened) this.#media.discardRoom(callID);
        throw err;
      }
    });
    await result.tx.sfuDone;
    return result.result;
  }

  /** Joins the ongoing call of a group the sender is a member of, without an invitation. */
  async join(
    userID: string,
    groupID: string,
    callType: CallType,
    /** The sender's device (session ID), with `devices`. */
    device?: string,
  ): Promise<RequestResults['join']> {
    await this.#checkGroupMembers(groupID, userID, []);
    const callID = await this.#store.groupCall(groupID);
    if (callID === undefined) throw ServerError.groupHasNoCall(groupID);
    // Into a call whose SFU room is being re-created: wait for it (or for the call to end).
    await this.#media.whileHealing(callID);
    return this.#tx.withCall(
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
        await this.#takePart(userID, device, callID);
        // Joining answers an invitation that still rings for the joiner.
        for (const inv of tx.invitations.values()) {
          if (stateOf(inv, userID) !== 'ringing') continue;
          answer(tx, inv, userID);
          await this.#answeredOn(tx, inv, userID, device);
        }
        return enter(tx, userID, call.callType === CallType.VIDEO && callType === CallType.VIDEO);
      },
    );
  }

  /** The invitee joins the call. */
  async accept(
    userID: string,
    inviteID: string,
    /** The sender's device (session ID), with `devices`: it takes the call, the others stop. */
    device?: string,
  ): Promise<RequestResults['accept']> {
    // Like join: a call whose SFU room is being re-created is entered once it is back.
    const callID = await this.#store.invitationCall(inviteID);
    if (callID !== undefined) await this.#media.whileHealing(callID);
    return this.#tx.withInvitation(
      inviteID,
      async (tx, inv) => {
        checkRinging(inv, userID);
        answer(tx, inv, userID);
        await this.#takePart(userID, device, tx.call.callID);
        await this.#answeredOn(tx, inv, userID, device);
        return enter(tx, userID, tx.call.callType === CallType.VIDEO);
      },
      callID,
    );
  }

  /** The invitee declines; `busy` reports the line as busy instead. */
  async reject(
    userID: string,
    inviteID: string,
    busy = false,
    /** The sender's device (session ID), with `devices`: the user's other devices stop ringing. */
    device?: string,
  ): Promise<RequestResults['reject']> {
    return this.#tx.withInvitation(inviteID, async (tx, inv) => {
      checkRinging(inv, userID);
      decline(tx, inv, userID, busy ? 'busy' : 'rejected');
      await this.#answeredOn(tx, inv, userID, device);
      settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
      return {};
    });
  }

  /**
   * The invitee of a ringing one-to-one peer-to-peer call is ready to connect media while it
   * rings: from now on the relay carries `signal` between it and the inviter (who is told). Not
   * with ring-all devices: which device will answer is unknown until one does.
   */
  async preconnect(userID: string, inviteID: string): Promise<RequestResults['preconnect']> {
    return this.#tx.withInvitation(inviteID, (tx, inv) => {
      checkRinging(inv, userID);
      const { call } = tx;
      if (call.group || call.media !== MediaMode.P2P || this.#devices) {
        throw ServerError.invalidCallState(
          this.#devices
            ? 'pre-connect is off with --multi-device ring-all (the answering device is unknown)'
            : 'pre-connect is for one-to-one peer-to-peer calls',
        );
      }
      if (inv.preconnect?.includes(userID)) {
        tx.dirty = false; // asked again (a resumed client): the inviter knows already
        return {};
      }
      inv.preconnect = [...(inv.preconnect ?? []), userID];
      tx.changedInvitations.add(inv.inviteID);
      tx.push(inv.inviter, { type: 'preconnect', inviteID, callID: call.callID, userID });
      return {};
    });
  }

  /** The inviter stops the invitation for every invitee still ringing. */
  async cancel(userID: string, inviteID: string): Promise<RequestResults['cancel']> {
    return this.#tx.withInvitation(inviteID, (tx, inv) => {
      checkCancel(inv, userID);
      endRinging(tx, inv, InviteEndReason.CANCELLED);
      settle(tx, CallEndReason.HANGUP, CallEndReason.CANCELLED);
      return {};
    });
  }

  /** The member leaves the call; their invitations into it that still ring are cancelled. */
  async hangup(userID: string, callID: string): Promise<RequestResults['hangup']> {
    return this.#tx.withCall(callID, ServerError.callNotFound, (tx) => {
      if (!tx.member(userID)) throw ServerError.notCallMember(callID);
      leave(tx, userID, CallEndReason.HANGUP);
      return {};
    });
  }

  /** Relays SDP/ICE between two joined members of one call (media/relay.ts). */
  async signal(
    userID: string,
    callID: string,
    to: string,
    data: SignalData,
  ): Promise<RequestResults['signal']> {
    await this.#relay.signal(userID, callID, to, data);
    return {};
  }

  /** Records the member's mic/camera state and tells the others. */
  async media(
    userID: string,
    callID: string,
    audio: boolean,
    video: boolean,
  ): Promise<RequestResults['media']> {
    return this.#tx.withCall(callID, ServerError.callNotFound, (tx) => {
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
    return this.#tx.withCall(callID, ServerError.callNotFound, (tx) => {
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
    return { description: await this.#media.publish(userID, callID, offer) };
  }

  /** SFU calls: the member's answer to the latest `sfuOffer` for their subscriber connection. */
  async sfuAnswer(
    userID: string,
    callID: string,
    answer: SessionDescription<'answer'>,
  ): Promise<RequestResults['sfuAnswer']> {
    await this.#media.answer(userID, callID, answer);
    return {};
  }

  /** SFU calls: an ICE candidate of the member's publisher or subscriber connection. */
  async sfuTrickle(
    userID: string,
    callID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<RequestResults['sfuTrickle']> {
    await this.#media.trickle(userID, callID, target, candidate);
    return {};
  }

  /**
   * SFU calls: restarts ICE on the member's subscriber connection (its path died); the new offer
   * goes out as an `sfuOffer` push after the (empty) reply.
   */
  async sfuRestart(userID: string, callID: string): Promise<RequestResults['sfuRestart']> {
    await this.#media.restart(userID, callID);
    return {};
  }

  /** SFU calls: which simulcast layer of `ofUserID`'s video the member receives. */
  async sfuLayer(
    userID: string,
    callID: string,
    ofUserID: string,
    substream: number,
  ): Promise<RequestResults['sfuLayer']> {
    await this.#media.layer(userID, callID, ofUserID, substream);
    return {};
  }

  /**
   * `nodeID` died (the cluster's liveness claimed it, on this node): this node takes over the SFU
   * rooms it drove. Each call's owner is rewritten under the call's lock (so members' sfu* requests
   * come here from then on), then the room is re-created here and the members publish again
   * (`sfuReset`), as after a lost Janus. Until then their media still flows through the old room:
   * Janus keeps a dead node's handles until its session times out.
   */
  async nodeDied(nodeID: string): Promise<void> {
    if (nodeID === this.#nodeID) return;
    for (const callID of await this.#store.sfuCalls(nodeID))
      await this.#takeOverSfu(callID, nodeID);
  }

  /** The calls whose SFU room this node drives (its own Janus carries their media when it has one). */
  async ownSfuCalls(): Promise<string[]> {
    return this.#nodeID === undefined ? [] : this.#store.sfuCalls(this.#nodeID);
  }

  /**
   * Ends, with `server_shutdown`, the calls whose SFU room this node drives: at the end of a drain,
   * when the SFU is this node's own Janus, which stops with it. Resolves with how many ended.
   */
  async endOwnSfuCalls(): Promise<number> {
    const self = this.#nodeID;
    let ended = 0;
    for (const callID of await this.ownSfuCalls()) {
      const done = await this.#tx
        .withCall(callID, ServerError.callNotFound, (tx) => {
          if (tx.call.sfu?.node !== self) {
            tx.dirty = false; // moved to another node meanwhile, or no longer in the SFU
            return false;
          }
          endCall(tx, CallEndReason.SERVER_SHUTDOWN);
          return true;
        })
        .catch(ignoreGone);
      if (done) ended++;
    }
    return ended;
  }

  /** The call the user is in or ringing for, if any. */
  callOf(userID: string): Promise<string | undefined> {
    return this.#store.userCall(userID);
  }

  /** Moves the call's SFU room from the dead node `from` to this one (once, whoever asks first). */
  async #takeOverSfu(callID: string, from: string): Promise<void> {
    const self = this.#nodeID;
    if (self === undefined || from === self) return;
    const left = await this.#tx
      .withCall(callID, ServerError.callNotFound, (tx) => {
        const sfu = tx.call.sfu;
        if (sfu?.node !== from) {
          tx.dirty = false; // taken over already, or no longer in the SFU
          return undefined;
        }
        tx.call.sfu = { ...sfu, node: self };
        return { janus: sfu.janus, room: sfu.room };
      })
      .catch(ignoreGone);
    if (left) {
      this.#log.warn('taking over the SFU room of a dead node', { callID, from });
      this.#media.takeOver(callID, left);
    }
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
      await this.#tx.withCall(callID, missing, (tx) => {
        if (tx.member(userID)) {
          leave(tx, userID, CallEndReason.DISCONNECTED);
          return;
        }
        for (const inv of tx.invitations.values()) {
          if (stateOf(inv, userID) === 'ringing') decline(tx, inv, userID, 'rejected');
        }
        tx.releaseUser(userID);
        settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
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

  /**
   * Pushes `invited` again for every invitation still ringing for the user (a fresh login); to
   * `to` (a device's key, ring-all) instead of every device of the user when given.
   */
  async redeliverInvitations(userID: string, to?: string): Promise<void> {
    const callID = await this.#store.userCall(userID);
    if (callID === undefined) return;
    await this.#tx
      .withCall(
        callID,
        () => ServerError.callNotFound(callID),
        (tx) => {
          tx.dirty = false;
          redeliver(tx, userID, to);
        },
      )
      .catch(ignoreGone);
  }

  // ---- internals -------------------------------------------------------------------------

  /** With `devices`: the sender's device is the one taking part in `callID` from now on. */
  async #takePart(userID: string, device: string | undefined, callID: string): Promise<void> {
    if (this.#devices && device !== undefined) {
      await this.#devices.setActive(userID, device, callID);
    }
  }

  /**
   * With `devices`: the user answered `inv` on `device`: the answer names it, and the user's other
   * devices stop ringing (`inviteEnded` answered_elsewhere, to each of them alone).
   */
  async #answeredOn(
    tx: CallTx,
    inv: InvitationRecord,
    userID: string,
    device: string | undefined,
  ): Promise<void> {
    if (!this.#devices) return;
    if (device !== undefined) {
      for (const e of tx.events) {
        if (e.type === CallEventType.ANSWERED && e.inviteID === inv.inviteID && e.userID === userID)
          e.deviceID = device;
      }
    }
    const { sessionIDs } = await this.#devices.get(userID);
    for (const sid of sessionIDs) {
      if (sid === device) continue;
      tx.push(deviceKey(userID, sid), {
        type: 'inviteEnded',
        inviteID: inv.inviteID,
        callID: inv.callID,
        reason: InviteEndReason.ANSWERED_ELSEWHERE,
      });
    }
  }

  /** An invitation's ring time is up. */
  async #onTimeout(inviteID: string): Promise<void> {
    const callID = await this.#store.invitationCall(inviteID);
    if (callID === undefined) return;
    await this.#tx
      .withCall(
        callID,
        () => ServerError.callNotFound(callID),
        (tx) => {
          const inv = tx.invitations.get(inviteID);
          if (!inv) return;
          timeOut(tx, inv);
          settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
        },
      )
      .catch(ignoreGone);
  }

  /** Makes a new invitation into the transaction's call, claims its invitees, and rings them. */
  async #addInvitation(
    tx: CallTx,
    inviter: string,
    list: string[],
    req: Pick<InviteRequest, 'groupID' | 'offlinePushInfo'>,
    timeout: number,
    created = false,
  ): Promise<RequestResults['invite']> {
    const { call } = tx;
    // `list` names nobody already in this call or ringing in it (invite filtered them out).
    const inv = await createInvitation(call, inviter, list, req, timeout, Date.now(), (u) =>
      this.#store.claimUser(u, call.callID),
    );
    const offline = await this.#offlineAmong(ringingIn(inv));
    if (offline.length) inv.offline = offline;
    tx.addInvitation(inv, created);
    ring(tx, inv, this.#log);
    settle(tx, CallEndReason.HANGUP, CallEndReason.NO_ANSWER);
    return { inviteID: inv.inviteID, callID: call.callID, roomID: call.roomID, media: call.media };
  }

  /** Those of `users` without a session (a presence read that fails counts as online). */
  async #offlineAmong(users: string[]): Promise<string[]> {
    const presence = this.#presence;
    const devices = this.#devices;
    if ((!presence && !devices) || !users.length) return [];
    const online = await Promise.all(
      users.map((u) =>
        (devices
          ? devices.get(u).then((d) => d.sessionIDs.length > 0)
          : presence!.get(u).then((p) => p !== undefined)
        ).catch(() => true),
      ),
    );
    return users.filter((_, i) => !online[i]);
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

  /** A one-to-one call gains a third person: its media moves to the SFU for everyone. */
  async #moveToSfu(tx: CallTx): Promise<void> {
    const { call } = tx;
    call.sfu = await this.#media.openRoom(call.callID);
    this.#log.debug(`call ${call.callID}: media p2p -> sfu`);
    call.media = MediaMode.SFU;
    call.group = true;
    tx.pushToMembers({ type: 'mediaMode', callID: call.callID, media: MediaMode.SFU });
  }
}

/** `store` whose `releaseUser` also releases the user's device in that call (DeviceStore). */
function releasingDevices(store: CallStore, devices: DeviceStore): CallStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'releaseUser') {
        return async (userID: string, callID: string): Promise<void> => {
          await target.releaseUser(userID, callID);
          await devices.clearActive(userID, callID);
        };
      }
      // The store's own methods, bound to it (their private fields need the real `this`).
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
