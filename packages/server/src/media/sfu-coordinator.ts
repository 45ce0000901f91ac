/**
 * The SFU coordinator: what a node does with the SFU for calls whose media goes through it ("Group
 * calls and the SFU" in docs/protocol.md). It owns the publishers each room reported, the fan-out of
 * subscriber offers when they change, the per-call SFU queue, and healing a room Janus lost.
 *
 * The per-call SFU queue (publish, subscribe, trickle, leave, closing the room) keeps Janus round
 * trips out of the call lock while still running one SFU operation per call at a time, in the order
 * the call's state changed. SFU work never takes the call lock, so the call lock may wait on it
 * (opening a room) without deadlock.
 *
 * Layers: calls/ → media/ → cluster/, sfu/. It reads calls from the CallStore but never changes
 * them: what healing needs of the call layer (telling members under the call lock, ending the call)
 * it asks through `HealHooks`, which the call layer provides.
 *
 * Several nodes: a call's SFU room is driven by ONE node, the one that opened it (its
 * `SfuPlacement.node` in the call's record). Every SFU operation of the call runs there; a request
 * that reaches another node is routed to the owner over the MessageBus (`sfuRequest` on the owner's
 * SFU channel, one `sfuReply` back, SFU_NODE_UNREACHABLE when none comes in time). Routing rather
 * than driving Janus from any node by room id, because what the room is made of lives in the
 * owner's Janus session: the publisher and subscriber handles (Janus ties handles to the session
 * that attached them), which subscriber offer awaits its answer, which feeds each member receives,
 * the heal in progress. Sharing that across nodes would put every Janus event through the store;
 * routing keeps one writer per room and costs one bus round trip per request from another node.
 * Hand-over when the owner dies (needs node liveness from the cluster): under the call's lock,
 * rewrite `sfu.node` to the taking node and heal the room there (`takeOver()` below is the hook).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { MediaMode } from '@ringline/protocol';
import type {
  BusMessage,
  CallRecord,
  CallStore,
  LockManager,
  MessageBus,
  PushBody,
  SfuBusOp,
  SfuBusReply,
  SfuBusRequest,
  SfuPlacement,
  Unsubscribe,
} from '../cluster/types.js';
import { sfuChannel, sfuQueueKey } from '../cluster/keys.js';
import type { DeliverFn } from '../cluster/delivery.js';
import { ServerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { NO_SFU_HINT } from '../sfu/index.js';
import { ringsFor } from './ringing.js';
import type {
  IceCandidate,
  SessionDescription,
  SfuAdapter,
  SubscriberOffer,
} from '../sfu/types.js';

/** Default of `sfuHealTimeoutMs` (`--sfu-heal-timeout`, docs/limits.md). */
export const DEFAULT_SFU_HEAL_TIMEOUT_MS = 20_000;
/**
 * Longest a join or accept waits for the call's SFU room to come back before it answers
 * SFU_RESTARTING (retryable): well below the SDK's 10 s request timeout.
 */
const HEAL_JOIN_WAIT_MS = 5_000;
/** Pause between attempts to re-create a room that Janus refused; the heal timeout bounds them. */
const HEAL_RETRY_MS = 250;
/**
 * Longest a request routed to the call's owner node waits for its reply before SFU_NODE_UNREACHABLE:
 * below the SDK's 10 s request timeout, so that the member hears a coded error, not its own timeout.
 */
export const SFU_ROUTE_TIMEOUT_MS = 8_000;

/** A call whose SFU room is being re-created. */
interface Heal {
  /** Settles when the room is back (and the members were told) or the call ended. */
  done: Promise<void>;
  /** The new room was lost too before the members were told: make another. */
  lostAgain: boolean;
}

/** What healing a room asks of the call layer; both run a transaction on the call. */
export interface HealHooks {
  /**
   * The new room is open at `placement`. Under the call's lock: if `confirm()` (the heal is still
   * current; it stops healing) returns true, record the placement, push `sfuReset` to the members
   * and the ringing invitees, and resolve true; else resolve false. Undefined when the call is gone.
   */
  roomBack(
    callID: string,
    confirm: () => boolean,
    placement: SfuPlacement,
  ): Promise<boolean | undefined>;
  /** The SFU did not come back in time: under the call's lock, `forget()` and end the call. */
  roomGone(callID: string, forget: () => void): Promise<void>;
  /**
   * The node driving the call's room is gone (a request routed to it found nobody subscribed):
   * take the room over here (`CallService`'s hand-over: rewrite the owner, then `takeOver`).
   */
  ownerGone(callID: string, owner: string): Promise<void>;
}

/** SFU work a call transaction queues on commit, in order. */
export type SfuOp =
  { kind: 'offer'; userID: string } | { kind: 'leave'; userID: string } | { kind: 'close' };

export interface SfuCoordinatorOptions {
  store: CallStore;
  locks: LockManager;
  deliver: DeliverFn;
  /** The SFU for group calls; without it they fail with SFU_UNAVAILABLE. */
  sfu?: SfuAdapter | undefined;
  /** Why there is no SFU and how to get one (the SFU_UNAVAILABLE message). */
  sfuMissing?: string | undefined;
  /** How long a lost room may take to come back before the call ends with `sfu_lost`. */
  healTimeoutMs?: number | undefined;
  hooks: HealHooks;
  /** This node's id: rooms it opens are recorded as its own. */
  nodeID?: string | undefined;
  /**
   * Where requests for rooms other nodes own go (and come from); without it every room is taken
   * to be this node's (one node).
   */
  bus?: MessageBus | undefined;
  /** How long a routed request waits for the owner's reply. Default SFU_ROUTE_TIMEOUT_MS. */
  routeTimeoutMs?: number | undefined;
  /**
   * Whether a ringing invitee may pre-connect (default true). Off with ring-all devices: which of
   * the user's devices will answer is unknown, and they would share one seat in the room.
   */
  preconnect?: boolean | undefined;
  logger?: Logger | undefined;
}

/** A request this node routed to a call's owner, waiting for the reply. */
interface Routed {
  resolve: (result: unknown) => void;
  reject: (err: ServerError) => void;
  timer: NodeJS.Timeout;
}

export class SfuCoordinator {
  readonly #store: CallStore;
  readonly #locks: LockManager;
  readonly #deliver: DeliverFn;
  readonly #sfu: SfuAdapter | undefined;
  readonly #sfuMissing: string;
  readonly #healTimeoutMs: number;
  readonly #hooks: HealHooks;
  readonly #log: Logger;
  readonly #nodeID: string;
  readonly #bus: MessageBus | undefined;
  readonly #routeTimeoutMs: number;
  readonly #preconnect: boolean;
  /** Requests routed to other nodes, by request id. */
  readonly #routed = new Map<string, Routed>();
  /**
   * The last publisher set the SFU reported per call. It describes this node's SFU rooms (which
   * live only as long as this node's Janus connection), so it is node state, not call state.
   */
  readonly #publishers = new Map<string, string[]>();
  /** Calls whose SFU room this node is re-creating (node state, like #publishers). */
  readonly #healing = new Map<string, Heal>();
  /**
   * Ringing invitees connected to the call's room while they ring (pre-connect), per call: held
   * in the SFU (nothing sent to them) and offered the members' streams as these change. Node
   * state like #publishers: the handles live in this node's Janus session.
   */
  readonly #preconnected = new Map<string, Set<string>>();
  readonly #unsubscribe: Unsubscribe[] = [];
  #closed = false;

  constructor(options: SfuCoordinatorOptions) {
    this.#store = options.store;
    this.#locks = options.locks;
    this.#deliver = options.deliver;
    this.#sfu = options.sfu;
    this.#sfuMissing = options.sfuMissing ?? NO_SFU_HINT;
    this.#healTimeoutMs = options.healTimeoutMs ?? DEFAULT_SFU_HEAL_TIMEOUT_MS;
    this.#hooks = options.hooks;
    this.#log = options.logger ?? silentLogger;
    this.#nodeID = options.nodeID ?? 'local';
    this.#bus = options.bus;
    this.#routeTimeoutMs = options.routeTimeoutMs ?? SFU_ROUTE_TIMEOUT_MS;
    this.#preconnect = options.preconnect ?? true;
    if (this.#bus) {
      // Handled without awaiting: the memory bus awaits its handler, and a request's work must
      // not hold up the sender.
      this.#unsubscribe.push(this.#bus.subscribe(sfuChannel(this.#nodeID), (m) => this.#onBus(m)));
    }
    if (this.#sfu) {
      this.#unsubscribe.push(
        this.#sfu.onPublishersChanged((callID, publishers) => {
          // An empty set also comes after the room closed: keep no entry for it then.
          if (publishers.length) this.#publishers.set(callID, [...publishers]);
          else this.#publishers.delete(callID);
          this.#run(callID, () => this.#fanOutOffers(callID)).catch((err: unknown) =>
            this.#log.warn('updating subscribers failed', { callID, err }),
          );
        }),
        this.#sfu.onRoomLost((callID) => this.#onRoomLost(callID)),
      );
    }
  }

  /** Stops taking SFU callbacks and stops healing (state stays in the store for other nodes). */
  close(): void {
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const [id, routed] of this.#routed) {
      clearTimeout(routed.timer);
      routed.reject(ServerError.sfuUnavailable('the server is shutting down'));
      this.#routed.delete(id);
    }
  }

  /** Throws SFU_UNAVAILABLE when this node has no SFU. */
  require(): SfuAdapter {
    if (!this.#sfu) throw ServerError.sfuUnavailable(this.#sfuMissing);
    return this.#sfu;
  }

  /**
   * Opens the call's SFU room on this node, in the call's SFU queue, and says where it is (for the
   * call's record: this node owns it from now on); a failure is SFU_UNAVAILABLE.
   */
  async openRoom(callID: string): Promise<SfuPlacement> {
    this.require();
    try {
      return await this.#run(callID, async (sfu) => {
        await sfu.openRoom(callID);
        return this.#placement(sfu, callID);
      });
    } catch (err) {
      this.#log.warn('opening an SFU room failed', { callID, err });
      throw ServerError.sfuUnavailable(
        `the SFU could not open a room: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
  }

  /** Closes a room opened for a call that was never committed (its invite failed). */
  discardRoom(callID: string): void {
    this.#run(callID, (sfu) => sfu.closeRoom(callID)).catch(() => {});
  }

  /** Where the room this node just opened is. */
  #placement(sfu: SfuAdapter, callID: string): SfuPlacement {
    const where = sfu.placement(callID);
    return { node: this.#nodeID, janus: where?.janus ?? '', room: where?.room ?? 0 };
  }

  /**
   * Queues a committed transaction's SFU work on the call's queue, in order; resolves when it ran.
   * `owner` is the node that owns the call's room (the call's `sfu.node`): another node's work is
   * routed to it. A failure is logged: the change it follows is committed already.
   */
  afterCommit(callID: string, ops: readonly SfuOp[], owner?: string): Promise<void> {
    if (this.#remote(owner)) {
      return this.#route(owner, callID, { op: 'afterCommit', ops: [...ops] }).then(
        () => undefined,
        (err: unknown) => this.#log.warn('sfu work after a call change failed', { callID, err }),
      );
    }
    return this.#afterCommitHere(callID, ops);
  }

  #afterCommitHere(callID: string, ops: readonly SfuOp[]): Promise<void> {
    const work = ops.map((op) =>
      this.#run(callID, (sfu) => this.#apply(sfu, callID, op)).then(
        () => undefined,
        (err: unknown) => this.#log.warn('sfu work after a call change failed', { callID, err }),
      ),
    );
    return Promise.all(work).then(() => undefined);
  }

  async #apply(sfu: SfuAdapter, callID: string, op: SfuOp): Promise<void> {
    switch (op.kind) {
      case 'offer':
        // Asked of the SFU whatever #preconnected says: a held member left held gets nothing.
        this.#forget(callID, op.userID);
        if (await sfu.unhold(callID, op.userID)) {
          // Pre-connected while it rang: its connections are up and carry the members' streams,
          // which flow from now on; the others now receive its streams (if it publishes).
          return this.#fanOutOffers(callID);
        }
        // Whoever already publishes is offered to the newcomer at once, before they publish.
        return this.#offerTo(callID, op.userID);
      case 'leave':
        this.#forget(callID, op.userID);
        return sfu.leave(callID, op.userID);
      case 'close':
        // Closing the room drops every handle in it, so no per-member leave is needed.
        this.#publishers.delete(callID);
        this.#preconnected.delete(callID);
        return sfu.closeRoom(callID);
    }
  }

  /** Publishes the member's media with their offer; resolves with the SFU's answer. */
  async publish(
    userID: string,
    callID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<SessionDescription<'answer'>> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      return (await this.#route(owner, callID, {
        op: 'publish',
        userID,
        offer,
      })) as SessionDescription<'answer'>;
    }
    return this.#publishHere(userID, callID, offer);
  }

  #publishHere(
    userID: string,
    callID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<SessionDescription<'answer'>> {
    return this.#request(userID, callID, 'publish', async (sfu, call, ringing) => {
      if (!ringing) return sfu.publish(callID, userID, offer);
      // Pre-connect: held before anything is offered to it, so no stream ever flows to it.
      await sfu.hold(callID, userID);
      let users = this.#preconnected.get(callID);
      if (!users) this.#preconnected.set(callID, (users = new Set()));
      users.add(userID);
      let answer: SessionDescription<'answer'>;
      try {
        answer = await sfu.publish(callID, userID, offer);
      } catch (err) {
        // A refused publish leaves no trace (the SFU dropped the member it made for it).
        this.#forget(callID, userID);
        throw err;
      }
      // Its subscriber: the members' streams, paused until it enters.
      await this.#offerTo(callID, userID, call, true);
      return answer;
    });
  }

  /** Drops `userID` from the call's pre-connected invitees; whether it was one. */
  #forget(callID: string, userID: string): boolean {
    const users = this.#preconnected.get(callID);
    if (!users?.delete(userID)) return false;
    if (!users.size) this.#preconnected.delete(callID);
    return true;
  }

  /** The member's answer to the latest `sfuOffer` for their subscriber connection. */
  async answer(
    userID: string,
    callID: string,
    answer: SessionDescription<'answer'>,
  ): Promise<void> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      await this.#route(owner, callID, { op: 'answer', userID, answer });
      return;
    }
    return this.#answerHere(userID, callID, answer);
  }

  #answerHere(userID: string, callID: string, answer: SessionDescription<'answer'>): Promise<void> {
    return this.#request(userID, callID, 'answer', async (sfu) => {
      // Publishers that changed while this answer was awaited come back as a follow-up offer.
      const next = await sfu.answer(callID, userID, answer);
      if (next) await this.#pushOffer(callID, userID, next);
    });
  }

  /** An ICE candidate of the member's publisher or subscriber connection. */
  async trickle(
    userID: string,
    callID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<void> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      await this.#route(owner, callID, {
        op: 'trickle',
        userID,
        target,
        ...(candidate && { candidate }),
      });
      return;
    }
    return this.#trickleHere(userID, callID, target, candidate);
  }

  #trickleHere(
    userID: string,
    callID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<void> {
    // Outside the call's SFU queue: candidates (hundreds in a full call) only touch the sender's
    // own connection and must not wait behind every other member's subscriber update.
    return this.#request(
      userID,
      callID,
      'trickle',
      (sfu) => sfu.trickle(callID, userID, target, candidate),
      { queued: false },
    );
  }

  /** Restarts ICE on the member's subscriber connection; the new offer goes out as `sfuOffer`. */
  async restart(userID: string, callID: string): Promise<void> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      await this.#route(owner, callID, { op: 'restart', userID });
      return;
    }
    return this.#restartHere(userID, callID);
  }

  #restartHere(userID: string, callID: string): Promise<void> {
    return this.#request(userID, callID, 'restart', async (sfu) => {
      const offer = await sfu.restartSubscriber(callID, userID);
      await this.#pushOffer(callID, userID, offer);
    });
  }

  /** Which simulcast layer of `ofUserID`'s video the member receives. */
  async layer(userID: string, callID: string, ofUserID: string, substream: number): Promise<void> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      await this.#route(owner, callID, { op: 'layer', userID, ofUserID, substream });
      return;
    }
    return this.#layerHere(userID, callID, ofUserID, substream);
  }

  #layerHere(userID: string, callID: string, ofUserID: string, substream: number): Promise<void> {
    return this.#request(userID, callID, 'layer', async (sfu, call) => {
      if (ofUserID === userID) throw ServerError.invalidField('/userID', 'that is your own video');
      if (!call.members.some((m) => m.userID === ofUserID)) {
        throw ServerError.notCallMember(callID, ofUserID);
      }
      await sfu.setLayer(callID, userID, ofUserID, substream);
    });
  }

  /**
   * Waits (bounded) while the call's SFU room is being re-created, so that whoever enters the call
   * publishes into the new room; still healing after HEAL_JOIN_WAIT_MS → SFU_RESTARTING.
   */
  async whileHealing(callID: string): Promise<void> {
    const owner = await this.#ownerElsewhere(callID);
    if (owner) {
      await this.#route(owner, callID, { op: 'whileHealing' });
      return;
    }
    return this.#whileHealingHere(callID);
  }

  async #whileHealingHere(callID: string): Promise<void> {
    const heal = this.#healing.get(callID);
    if (!heal) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, HEAL_JOIN_WAIT_MS);
    });
    await Promise.race([heal.done, waited]).finally(() => clearTimeout(timer));
    if (this.#healing.has(callID)) throw ServerError.sfuRestarting(callID);
  }

  /** Runs SFU work for a call one at a time, in order, outside the call lock. */
  #run<T>(callID: string, fn: (sfu: SfuAdapter) => Promise<T>): Promise<T> {
    const sfu = this.require();
    return this.#locks.run(sfuQueueKey(callID), () => fn(sfu));
  }

  /** The call's record, read in its SFU queue. */
  async #call(callID: string): Promise<CallRecord | undefined> {
    return (await this.#store.load(callID))?.call;
  }

  /**
   * The common path of the sfu* requests: the sender must be a joined member of an SFU call, or
   * (pre-connect) an invitee whose invitation into it still rings (`ringing` true then): its
   * requests only ever touch its own connections, which the SFU holds until it enters.
   */
  async #request<T>(
    userID: string,
    callID: string,
    what: string,
    fn: (sfu: SfuAdapter, call: CallRecord, ringing: boolean) => Promise<T>,
    { queued = true }: { queued?: boolean } = {},
  ): Promise<T> {
    const adapter = this.require();
    const run = async (sfu: SfuAdapter): Promise<T> => {
      // Checked inside the SFU queue (when queued): a leave that committed earlier has its
      // sfu.leave queued before this, and one that commits later queues it after. Likewise an
      // invitee's reject, cancel or timeout (its leave) and its accept (its unhold).
      const loaded = await this.#store.load(callID);
      const call = loaded?.call;
      if (!call) throw ServerError.callNotFound(callID);
      const member = call.members.some((m) => m.userID === userID);
      const ringing =
        !member &&
        this.#preconnect &&
        call.media === MediaMode.SFU &&
        loaded.invitations.some((inv) => ringsFor(inv, userID));
      if (!member && !ringing) throw ServerError.notCallMember(callID);
      if (call.media !== MediaMode.SFU) {
        throw ServerError.invalidCallState(`call ${callID} is peer-to-peer; use signal`);
      }
      // The room is gone and a new one is on its way: retry after sfuReset.
      if (this.#healing.has(callID)) throw ServerError.sfuRestarting(callID);
      try {
        return await fn(sfu, call, ringing);
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
    return queued ? this.#run(callID, run) : run(adapter);
  }

  /**
   * Gives `userID`'s subscriber the streams of every other member publishing; pushes any new
   * offer. `ringing`: the caller checked that `userID` is a pre-connected invitee still ringing.
   */
  async #offerTo(
    callID: string,
    userID: string,
    call?: CallRecord,
    ringing = false,
  ): Promise<void> {
    // The room is being re-created; everyone is offered everyone again after sfuReset.
    if (this.#healing.has(callID)) return;
    const current = call ?? (await this.#call(callID));
    if (!current || (!ringing && !current.members.some((m) => m.userID === userID))) return;
    const members = new Set(current.members.map((m) => m.userID));
    const publishers = (this.#publishers.get(callID) ?? []).filter(
      (p) => p !== userID && members.has(p),
    );
    const offer = await this.require().subscribe(callID, userID, publishers);
    if (offer) await this.#pushOffer(callID, userID, offer);
  }

  async #pushOffer(callID: string, userID: string, offer: SubscriberOffer): Promise<void> {
    const push: PushBody = {
      type: 'sfuOffer',
      callID,
      description: offer.description,
      streams: offer.streams,
    };
    await this.#deliver(userID, push);
  }

  /** The call's publishers changed: every member's subscriber follows, and each pre-connected one's. */
  async #fanOutOffers(callID: string): Promise<void> {
    if (this.#healing.has(callID)) return;
    const loaded = await this.#store.load(callID);
    const call = loaded?.call;
    if (!call || call.media !== MediaMode.SFU) return;
    const ringing = [...(this.#preconnected.get(callID) ?? [])].filter((u) =>
      loaded.invitations.some((inv) => ringsFor(inv, u)),
    );
    const users = [
      ...call.members.map((m) => [m.userID, false] as const),
      ...ringing.map((u) => [u, true] as const),
    ];
    for (const [userID, isRinging] of users) {
      try {
        await this.#offerTo(callID, userID, call, isRinging);
      } catch (err) {
        this.#log.warn('subscribing a member failed', { callID, userID, err });
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
    // Their handles went with the room: told by sfuReset, they pre-connect again.
    this.#preconnected.delete(callID);
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
   * Re-creates the call's room (new handles) as soon as Janus answers, then has the call layer push
   * `sfuReset` to every member so their SDK publishes and subscribes again. Bounded by the heal
   * timeout (and a number of attempts): a Janus that does not come back ends the call with
   * `sfu_lost`.
   */
  async #heal(callID: string, heal: Heal): Promise<void> {
    const sfu = this.require();
    const started = Date.now();
    const deadline = started + this.#healTimeoutMs;
    // Each attempt waits for Janus or pauses HEAL_RETRY_MS, so the deadline bounds the count too.
    const attempts = Math.ceil(this.#healTimeoutMs / HEAL_RETRY_MS) + 2;
    for (let attempt = 1; attempt <= attempts && !this.#closed; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await sfu.waitUntilAvailable(left)) || this.#closed) break;
      // In the call's SFU queue: a closeRoom queued by the call's end runs before or after it.
      let placement: SfuPlacement | undefined;
      const opened = await this.#run(callID, async (s) => {
        const call = await this.#call(callID);
        if (!call || call.media !== MediaMode.SFU) return 'gone' as const;
        heal.lostAgain = false;
        try {
          // A pool places it on the least-loaded Janus that answers (sfu/pool.ts).
          await s.openRoom(callID);
          placement = this.#placement(s, callID);
          return 'open' as const;
        } catch (err) {
          this.#log.warn('re-creating an SFU room failed; retrying', { callID, attempt, err });
          return 'retry' as const;
        }
      });
      if (opened === 'gone') return;
      if (opened === 'retry' || heal.lostAgain || !placement) {
        await delay(Math.min(HEAL_RETRY_MS, Math.max(0, deadline - Date.now())));
        continue;
      }
      // Under the call lock, so sfuReset takes its place among the call's other pushes, and a
      // member who enters later (and publishes into the new room) does not get it.
      const told = await this.#hooks.roomBack(
        callID,
        () => {
          if (heal.lostAgain) return false;
          // sfu* requests go to the new room from here on; the members hear of it next.
          this.#healing.delete(callID);
          return true;
        },
        placement,
      );
      if (told === undefined) return;
      if (told) {
        this.#log.info('sfu room re-created; members told to publish again', {
          callID,
          janus: placement.janus,
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
    await this.#hooks.roomGone(callID, () => this.#healing.delete(callID));
  }

  // ---- several nodes: routing a call's SFU work to the node that owns its room ----

  /**
   * Takes over the SFU room of a call whose owner node died: the caller rewrites `sfu.node` to
   * this node under the call's lock, then calls this, which re-creates the room here and has the
   * members publish again, as after a lost Janus. The dead node's room (`left`), which the members
   * use until they are told, is destroyed after that, or it would stay on its Janus for good.
   */
  takeOver(callID: string, left?: { janus: string; room: number }): void {
    this.#onRoomLost(callID);
    if (!left) return;
    const healed = this.#healing.get(callID)?.done ?? Promise.resolve();
    void healed.then(() => this.#sfu?.destroyStaleRoom(left));
  }

  /** Whether `owner` names another node (then the work goes there). */
  #remote(owner: string | undefined): owner is string {
    return this.#bus !== undefined && owner !== undefined && owner !== this.#nodeID;
  }

  /** The node owning the call's room when it is not this one; undefined to run it here. */
  async #ownerElsewhere(callID: string): Promise<string | undefined> {
    // The room is here (the common case): no store read on the way to Janus.
    if (!this.#bus || this.#sfu?.placement(callID)) return undefined;
    const owner = (await this.#call(callID))?.sfu?.node;
    return this.#remote(owner) ? owner : undefined;
  }

  /** Sends `op` to `owner` and waits (bounded) for its reply; its error comes back as it was. */
  #route(owner: string, callID: string, op: SfuBusOp): Promise<unknown> {
    const bus = this.#bus!;
    if (this.#closed)
      return Promise.reject(ServerError.sfuUnavailable('the server is shutting down'));
    const requestID = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#routed.delete(requestID);
        reject(ServerError.sfuNodeUnreachable(callID, owner, this.#routeTimeoutMs));
      }, this.#routeTimeoutMs);
      this.#routed.set(requestID, { resolve, reject, timer });
      const request: SfuBusRequest = {
        kind: 'sfuRequest',
        requestID,
        from: this.#nodeID,
        callID,
        op,
      };
      const fail = (error: ServerError): void => {
        const routed = this.#routed.get(requestID);
        if (!routed) return;
        this.#routed.delete(requestID);
        clearTimeout(routed.timer);
        routed.reject(error);
      };
      bus.send(sfuChannel(owner), request).then(
        (delivered) => {
          if (delivered) return;
          // Nobody subscribed on the owner's channel: its process is gone (the liveness registry
          // would say so only seconds later), and with it the Janus session holding the room.
          // The room moves here; the member retries once told (sfuReset).
          this.#log.warn('the node driving an SFU room is gone; taking the room over', {
            callID,
            owner,
          });
          this.#hooks
            .ownerGone(callID, owner)
            .catch((err: unknown) =>
              this.#log.error('taking over an SFU room failed', { callID, owner, err }),
            );
          fail(ServerError.sfuRestarting(callID));
        },
        (err: unknown) => {
          this.#log.warn('routing an sfu request failed', { callID, owner, err });
          fail(ServerError.sfuNodeUnreachable(callID, owner, 0));
        },
      );
    });
  }

  #onBus(message: BusMessage): void {
    if (message.kind === 'sfuReply') {
      const routed = this.#routed.get(message.requestID);
      if (!routed) return; // timed out already
      this.#routed.delete(message.requestID);
      clearTimeout(routed.timer);
      if (message.error) routed.reject(ServerError.fromWire(message.error));
      else routed.resolve(message.result);
      return;
    }
    if (message.kind !== 'sfuRequest' || this.#closed) return;
    const { requestID, from, callID, op } = message;
    this.#serve(callID, op).then(
      (result) => this.#reply(from, { kind: 'sfuReply', requestID, result }),
      (err: unknown) => {
        const wire = ServerError.wire(err);
        this.#reply(from, {
          kind: 'sfuReply',
          requestID,
          error: { name: wire.name, message: wire.message },
        });
      },
    );
  }

  #reply(to: string, reply: SfuBusReply): void {
    this.#bus
      ?.send(sfuChannel(to), reply)
      .catch((err: unknown) =>
        this.#log.warn('replying to a routed sfu request failed', { to, err }),
      );
  }

  /** Runs a request another node routed here, as if a member of this node had sent it. */
  #serve(callID: string, op: SfuBusOp): Promise<unknown> {
    switch (op.op) {
      case 'publish':
        return this.#publishHere(op.userID, callID, op.offer);
      case 'answer':
        return this.#answerHere(op.userID, callID, op.answer);
      case 'trickle':
        return this.#trickleHere(op.userID, callID, op.target, op.candidate);
      case 'restart':
        return this.#restartHere(op.userID, callID);
      case 'layer':
        return this.#layerHere(op.userID, callID, op.ofUserID, op.substream);
      case 'whileHealing':
        return this.#whileHealingHere(callID);
      case 'afterCommit':
        return this.#afterCommitHere(callID, op.ops);
    }
  }
}
