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
 */
import { setTimeout as delay } from 'node:timers/promises';
import { MediaMode } from '@ringline/protocol';
import type {
  CallRecord,
  CallStore,
  LockManager,
  PushBody,
  Unsubscribe,
} from '../cluster/types.js';
import { sfuQueueKey } from '../cluster/keys.js';
import type { DeliverFn } from '../cluster/delivery.js';
import { ServerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { NO_SFU_HINT } from '../sfu/index.js';
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
   * The new room is open. Under the call's lock: if `confirm()` (the heal is still current; it
   * stops healing) returns true, push `sfuReset` to the members and resolve true; else resolve
   * false. Undefined when the call is gone.
   */
  roomBack(callID: string, confirm: () => boolean): Promise<boolean | undefined>;
  /** The SFU did not come back in time: under the call's lock, `forget()` and end the call. */
  roomGone(callID: string, forget: () => void): Promise<void>;
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
  logger?: Logger | undefined;
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
  /**
   * The last publisher set the SFU reported per call. It describes this node's SFU rooms (which
   * live only as long as this node's Janus connection), so it is node state, not call state.
   */
  readonly #publishers = new Map<string, string[]>();
  /** Calls whose SFU room this node is re-creating (node state, like #publishers). */
  readonly #healing = new Map<string, Heal>();
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
  }

  /** Throws SFU_UNAVAILABLE when this node has no SFU. */
  require(): SfuAdapter {
    if (!this.#sfu) throw ServerError.sfuUnavailable(this.#sfuMissing);
    return this.#sfu;
  }

  /** Opens the call's SFU room, in the call's SFU queue; a failure is SFU_UNAVAILABLE. */
  async openRoom(callID: string): Promise<void> {
    this.require();
    try {
      await this.#run(callID, (sfu) => sfu.openRoom(callID));
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

  /**
   * Queues a committed transaction's SFU work on the call's queue, in order; resolves when it ran.
   * A failure is logged: the change it follows is committed already.
   */
  afterCommit(callID: string, ops: readonly SfuOp[]): Promise<void> {
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
        // Whoever already publishes is offered to the newcomer at once, before they publish.
        return this.#offerTo(callID, op.userID);
      case 'leave':
        return sfu.leave(callID, op.userID);
      case 'close':
        // Closing the room drops every handle in it, so no per-member leave is needed.
        this.#publishers.delete(callID);
        return sfu.closeRoom(callID);
    }
  }

  /** Publishes the member's media with their offer; resolves with the SFU's answer. */
  publish(
    userID: string,
    callID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<SessionDescription<'answer'>> {
    return this.#request(userID, callID, 'publish', (sfu) => sfu.publish(callID, userID, offer));
  }

  /** The member's answer to the latest `sfuOffer` for their subscriber connection. */
  answer(userID: string, callID: string, answer: SessionDescription<'answer'>): Promise<void> {
    return this.#request(userID, callID, 'answer', async (sfu) => {
      // Publishers that changed while this answer was awaited come back as a follow-up offer.
      const next = await sfu.answer(callID, userID, answer);
      if (next) await this.#pushOffer(callID, userID, next);
    });
  }

  /** An ICE candidate of the member's publisher or subscriber connection. */
  trickle(
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
  restart(userID: string, callID: string): Promise<void> {
    return this.#request(userID, callID, 'restart', async (sfu) => {
      const offer = await sfu.restartSubscriber(callID, userID);
      await this.#pushOffer(callID, userID, offer);
    });
  }

  /** Which simulcast layer of `ofUserID`'s video the member receives. */
  layer(userID: string, callID: string, ofUserID: string, substream: number): Promise<void> {
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

  /** The common path of the sfu* requests: the sender must be a joined member of an SFU call. */
  async #request<T>(
    userID: string,
    callID: string,
    what: string,
    fn: (sfu: SfuAdapter, call: CallRecord) => Promise<T>,
    { queued = true }: { queued?: boolean } = {},
  ): Promise<T> {
    const adapter = this.require();
    const run = async (sfu: SfuAdapter): Promise<T> => {
      // Checked inside the SFU queue (when queued): a leave that committed earlier has its
      // sfu.leave queued before this, and one that commits later queues it after.
      const call = await this.#call(callID);
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
    return queued ? this.#run(callID, run) : run(adapter);
  }

  /** Gives `userID`'s subscriber the streams of every other member publishing; pushes any new offer. */
  async #offerTo(callID: string, userID: string, call?: CallRecord): Promise<void> {
    // The room is being re-created; everyone is offered everyone again after sfuReset.
    if (this.#healing.has(callID)) return;
    const current = call ?? (await this.#call(callID));
    if (!current || !current.members.some((m) => m.userID === userID)) return;
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

  /** The call's publishers changed: every member's subscriber follows. */
  async #fanOutOffers(callID: string): Promise<void> {
    if (this.#healing.has(callID)) return;
    const call = await this.#call(callID);
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
      const opened = await this.#run(callID, async (s) => {
        const call = await this.#call(callID);
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
      const told = await this.#hooks.roomBack(callID, () => {
        if (heal.lostAgain) return false;
        // sfu* requests go to the new room from here on; the members hear of it next.
        this.#healing.delete(callID);
        return true;
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
    await this.#hooks.roomGone(callID, () => this.#healing.delete(callID));
  }
}
