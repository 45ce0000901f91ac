/**
 * `SfuAdapter` over Janus VideoRoom, driven through janode. One Janus room per call, created with a
 * random secret and pin only this server knows (so nobody can join a room except through our
 * signalling); per member one publisher handle (display = userID) and one multistream subscriber
 * handle. Operations on one room run one at a time.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import Janode, { type JanodeConnection, type JanodeSession, type Jsep } from 'janode';
import VideoRoomPlugin, {
  type VideoRoomHandle,
  type VideoRoomSubStream,
} from 'janode/plugins/videoroom';
import { MAX_CALL_MEMBERS, type SfuStream } from '@ringline/protocol';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IceCandidate, SessionDescription, SfuAdapter, SubscriberOffer } from './types.js';

export interface JanusSfuOptions {
  /** WebSocket URL of the Janus API, e.g. ws://127.0.0.1:8188. */
  url: string;
  log: Logger;
  /** Bound on every request to Janus. */
  requestTimeoutMs?: number;
  /**
   * Shared by every node that drives this Janus: room secrets derive from it and the room id, so
   * a node can destroy a room that a dead node made. Without it each room's secret is random.
   */
  roomKey?: string;
}

/** What one connection to Janus carries; replaced as a whole when the connection drops. */
interface Link {
  connection: JanodeConnection;
  session: JanodeSession;
  /** Handle outside any room, for create/destroy. */
  control: VideoRoomHandle;
  /** Ids of the handles attached on this session that Janus has not confirmed detached. */
  handles: Set<number>;
}

interface Member {
  userID: string;
  publisher?: VideoRoomHandle;
  /** Janus feed id of the publisher handle, once joined. */
  feed?: number;
  /** True between the publisher's WebRTC coming up and its hangup/leave. */
  publishing: boolean;
  subscriber?: VideoRoomHandle;
  /** Feeds the subscriber currently carries (as of the latest offer). */
  subscribed: Set<number>;
  /** The latest offer was sent and its answer has not come back yet. */
  awaitingAnswer: boolean;
  /** Publishers asked for while an answer was outstanding; applied after the answer. */
  queued?: string[];
  /** Feeds this subscriber carried whose publisher left; the next update drops them. */
  gone: Set<number>;
  /** Streams of the latest offer, by mid. */
  streamsByMid?: Map<string, SfuStream>;
  /**
   * Pre-connected while its invitation rings (`hold`): Janus sends its subscriber nothing
   * (every stream `send: false`) until `unhold`.
   */
  held: boolean;
  /** Its held subscriber went down: no new one is made for it until `unhold`. */
  abandoned?: boolean;
}

interface Room {
  callID: string;
  id: number;
  secret: string;
  pin: string;
  link: Link;
  members: Map<string, Member>;
  feeds: Map<number, string>;
  tail: Promise<unknown>;
  closed: boolean;
  /** Janus lost the room (connection dropped / janus restarted), or never created it. */
  lost: boolean;
  /** Settles when Janus has created the room. */
  ready: Promise<void>;
}

const BACKOFF_MIN_MS = 250;
// Short: calls wait for Janus to come back (their rooms are re-created then), and an attempt
// against a Janus that is down costs one refused TCP connection.
const BACKOFF_MAX_MS = 1_000;

/**
 * Janus no longer knows the room, the handle or the session (VideoRoom 426, core 458/459): the
 * room's state in Janus is gone even though the connection is up.
 */
/** What janode's VideoRoom handles emit when their room is destroyed. */
const ROOM_DESTROYED = VideoRoomPlugin.EVENT.VIDEOROOM_DESTROYED ?? 'videoroom_destroyed';

const ROOM_GONE = /^(426|458|459)\b|no such (room|session|handle)/i;

export class JanusSfu implements SfuAdapter {
  private link: Link | undefined;
  private readonly rooms = new Map<string, Room>();
  private readonly listeners = new Set<(callID: string, publishers: string[]) => void>();
  private readonly roomLostListeners = new Set<(callID: string) => void>();
  /** Callers of waitUntilAvailable(), woken when the link is back. */
  private readonly availableWaiters = new Set<() => void>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** A reconnect attempt is under way. */
  private connecting = false;
  private backoffMs = BACKOFF_MIN_MS;
  private readonly timeoutMs: number;

  private constructor(private readonly options: JanusSfuOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** Connects to Janus; rejects with SFU_UNAVAILABLE when it does not answer. */
  static async connect(options: JanusSfuOptions): Promise<JanusSfu> {
    // janode logs to the console on its own; our logger reports what matters.
    Janode.Logger.setLevel('none');
    const sfu = new JanusSfu(options);
    sfu.link = await sfu.openLink();
    return sfu;
  }

  /**
   * Like connect(), but a Janus that does not answer yet is no error: the adapter keeps trying in
   * the background (as after a lost connection) and `connected` says when it is up. For pool
   * members, which may start before their Janus.
   */
  static async connectOrRetry(options: JanusSfuOptions): Promise<JanusSfu> {
    Janode.Logger.setLevel('none');
    const sfu = new JanusSfu(options);
    try {
      sfu.link = await sfu.openLink();
    } catch (err) {
      options.log.warn('sfu: Janus does not answer yet; retrying in the background', {
        url: options.url,
        err,
      });
      sfu.scheduleReconnect();
    }
    return sfu;
  }

  /** The WebSocket URL of the Janus this adapter drives. */
  get url(): string {
    return this.options.url;
  }

  /** Whether the connection to Janus is currently up. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  attachedHandles(): number {
    return this.link?.handles.size ?? 0;
  }

  placement(callID: string): { janus: string; room: number } | undefined {
    const room = this.rooms.get(callID);
    return room ? { janus: this.options.url, room: room.id } : undefined;
  }

  onPublishersChanged(listener: (callID: string, publishers: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onRoomLost(listener: (callID: string) => void): () => void {
    this.roomLostListeners.add(listener);
    return () => this.roomLostListeners.delete(listener);
  }

  waitUntilAvailable(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.link) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.availableWaiters.delete(wake);
        resolve(this.link !== undefined);
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      this.availableWaiters.add(wake);
    });
  }

  /** Tries to reconnect now instead of at the next backoff step (the local janus is back). */
  reconnectNow(): void {
    if (this.closed || this.link) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.backoffMs = BACKOFF_MIN_MS;
    this.reconnect();
  }

  async openRoom(callID: string): Promise<void> {
    const existing = this.rooms.get(callID);
    // A room Janus lost (restart) is replaced by a fresh one; a live one is shared.
    if (existing && !existing.lost) return existing.ready;
    const link = this.requireLink();
    // Janus room ids are numbers; a random one avoids reuse across calls and restarts.
    const id = randomInt(1, 2 ** 47);
    const room: Room = {
      callID,
      id,
      secret: this.roomSecret(id),
      pin: randomBytes(16).toString('hex'),
      link,
      members: new Map(),
      feeds: new Map(),
      tail: Promise.resolve(),
      closed: false,
      lost: false,
      ready: Promise.resolve(),
    };
    this.rooms.set(callID, room);
    room.ready = this.createRoom(room);
    return room.ready;
  }

  private async createRoom(room: Room): Promise<void> {
    const { callID, link } = room;
    try {
      await this.serial(room, () =>
        this.request('create room', () =>
          link.control.create({
            room: room.id,
            description: `ringline call ${callID}`,
            max_publishers: MAX_CALL_MEMBERS,
            is_private: true,
            secret: room.secret,
            pin: room.pin,
            audiocodec: 'opus',
            videocodec: 'vp8',
            // Keyframe requests every few seconds let a new subscriber start promptly.
            fir_freq: 5,
            permanent: false,
          }),
        ),
      );
      this.options.log.debug('sfu room opened', { callID, room: room.id });
    } catch (err) {
      // Operations queued behind the create fail with SFU_UNAVAILABLE rather than reach Janus.
      room.lost = true;
      if (this.rooms.get(callID) === room) this.rooms.delete(callID);
      throw err;
    }
  }

  async closeRoom(callID: string): Promise<void> {
    const room = this.rooms.get(callID);
    if (!room) return;
    this.rooms.delete(callID);
    await this.serial(room, async () => {
      room.closed = true;
      const handles = [...room.members.values()].flatMap((m) =>
        [m.publisher, m.subscriber].filter((h): h is VideoRoomHandle => h !== undefined),
      );
      room.members.clear();
      room.feeds.clear();
      if (room.lost || this.link !== room.link) return;
      await Promise.all(handles.map((h) => this.detach(h)));
      await this.request('destroy room', () =>
        room.link.control.destroy({ room: room.id, secret: room.secret }),
      ).catch((err: unknown) => this.options.log.warn('sfu destroy room failed', { callID, err }));
      this.options.log.debug('sfu room closed', { callID, room: room.id });
    });
  }

  async destroyStaleRoom(placement: { janus: string; room: number }): Promise<void> {
    const { room } = placement;
    const link = this.link;
    if (placement.janus !== this.url || !this.options.roomKey || !link) return;
    for (const held of this.rooms.values()) if (held.id === room) return;
    try {
      await this.request('destroy stale room', () =>
        link.control.destroy({ room, secret: this.roomSecret(room) }),
      );
      this.options.log.info('sfu: destroyed a room a dead node left behind', { room });
    } catch (err) {
      // Gone already (Janus restarted, or another node got there first): nothing to do.
      if (/\b426\b|no such room/i.test(err instanceof Error ? err.message : String(err))) return;
      this.options.log.warn('sfu: destroying a room a dead node left behind failed', { room, err });
    }
  }

  /** A room's secret: derived from the shared room key when there is one, random otherwise. */
  private roomSecret(room: number): string {
    const key = this.options.roomKey;
    if (!key) return randomBytes(16).toString('hex');
    return createHmac('sha256', key).update(`janus-room:${room}`).digest('hex').slice(0, 32);
  }

  async publish(
    callID: string,
    userID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<SessionDescription<'answer'>> {
    const room = this.requireRoom(callID);
    return this.serial(room, async () => {
      this.checkRoom(room);
      const member = this.member(room, userID);
      let answer: Jsep | undefined;
      if (member.publisher && member.publishing) {
        // Renegotiation (ICE restart, tracks changed) on the live publisher.
        const publisher = member.publisher;
        const result = await this.request(
          'configure publisher',
          () => publisher.configure({ jsep: { type: 'offer', sdp: offer.sdp } }),
          room,
        );
        answer = result.jsep;
      } else {
        // A publisher that never came up or hung up is replaced rather than revived.
        await this.retirePublisher(room, member);
        const publisher = await this.attach(room);
        member.publisher = publisher;
        this.watchPublisher(room, member, publisher);
        try {
          const joined = await this.request(
            'publish',
            () =>
              publisher.joinConfigurePublisher({
                room: room.id,
                pin: room.pin,
                display: userID,
                audio: true,
                video: true,
                jsep: { type: 'offer', sdp: offer.sdp },
              }),
            room,
          );
          member.feed = joined.feed;
          room.feeds.set(joined.feed, userID);
          answer = joined.jsep;
        } catch (err) {
          member.publisher = undefined;
          await this.detach(publisher);
          // A refused publish leaves no trace (and takes no seat) in the room.
          if (!member.subscriber) room.members.delete(userID);
          throw err;
        }
      }
      if (answer?.type !== 'answer') {
        throw new ServerError('SFU_UNAVAILABLE', `the SFU gave no answer to ${userID}'s offer`);
      }
      return { type: 'answer', sdp: answer.sdp };
    });
  }

  async subscribe(
    callID: string,
    userID: string,
    publishers: string[],
  ): Promise<SubscriberOffer | undefined> {
    const room = this.requireRoom(callID);
    return this.serial(room, async () => {
      this.checkRoom(room);
      const member = this.member(room, userID);
      if (member.awaitingAnswer) {
        // Janus cannot offer again before the last offer is answered; answer() picks this up.
        member.queued = publishers;
        return undefined;
      }
      return this.updateSubscriber(room, member, publishers);
    });
  }

  async answer(
    callID: string,
    userID: string,
    answer: SessionDescription<'answer'>,
  ): Promise<SubscriberOffer | undefined> {
    const room = this.requireRoom(callID);
    return this.serial(room, async () => {
      this.checkRoom(room);
      const member = room.members.get(userID);
      const subscriber = member?.subscriber;
      if (!member || !subscriber || !member.awaitingAnswer) {
        throw new ServerError(
          'INVALID_CALL_STATE',
          `${userID} has no subscriber offer waiting for an answer in call ${callID}`,
        );
      }
      await this.request(
        'start subscriber',
        () => subscriber.start({ jsep: { type: 'answer', sdp: answer.sdp } }),
        room,
      );
      member.awaitingAnswer = false;
      const queued = member.queued;
      member.queued = undefined;
      if (queued === undefined && member.gone.size === 0) return undefined;
      return this.updateSubscriber(room, member, queued ?? this.subscribedUsers(room, member));
    });
  }

  async trickle(
    callID: string,
    userID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<void> {
    // Not queued behind the room's other operations: a candidate concerns one handle only (Janus
    // takes it whatever that handle's negotiation is doing), and a 16-member room sends hundreds
    // of them — one at a time behind every subscriber update they would starve the answers.
    const room = this.requireRoom(callID);
    this.checkRoom(room);
    const handle = room.members.get(userID)?.[target];
    if (!handle) {
      throw new ServerError(
        'INVALID_CALL_STATE',
        `${userID} has no ${target} connection in call ${callID} to add a candidate to`,
      );
    }
    if (!candidate) {
      await this.request('trickle', () => handle.trickleComplete(), room);
      return;
    }
    const sent: Record<string, unknown> = { candidate: candidate.candidate };
    if (candidate.sdpMid != null) sent.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex != null) sent.sdpMLineIndex = candidate.sdpMLineIndex;
    await this.request('trickle', () => handle.trickle(sent), room);
  }

  async restartSubscriber(callID: string, userID: string): Promise<SubscriberOffer> {
    const room = this.requireRoom(callID);
    return this.serial(room, async () => {
      this.checkRoom(room);
      const member = room.members.get(userID);
      const subscriber = member?.subscriber;
      if (!member || !subscriber) {
        throw new ServerError(
          'INVALID_CALL_STATE',
          `${userID} has no subscriber connection in call ${callID} to restart`,
        );
      }
      if (member.awaitingAnswer) {
        // Janus cannot offer again before the pending offer is answered (that offer still works).
        throw new ServerError(
          'INVALID_CALL_STATE',
          `${userID}'s subscriber offer in call ${callID} awaits its answer; answer it first`,
        );
      }
      const result = await this.request(
        'restart subscriber',
        () => subscriber.configure({ restart: true }),
        room,
      );
      if (result.jsep?.type !== 'offer') {
        throw new ServerError('SFU_UNAVAILABLE', `the SFU gave no offer restarting ${userID}`);
      }
      member.awaitingAnswer = true;
      // Same streams on the same mids: only the ICE credentials changed.
      return {
        description: { type: 'offer', sdp: result.jsep.sdp },
        streams: [...(member.streamsByMid?.values() ?? [])],
      };
    });
  }

  async setLayer(
    callID: string,
    userID: string,
    ofUserID: string,
    substream: number,
  ): Promise<void> {
    if (!Number.isInteger(substream) || substream < 0 || substream > 2) {
      throw new ServerError('INVALID_FIELD', `substream: ${substream} is not 0, 1 or 2`);
    }
    const room = this.requireRoom(callID);
    await this.serial(room, async () => {
      this.checkRoom(room);
      const member = room.members.get(userID);
      const subscriber = member?.subscriber;
      const mid = subscriber ? this.videoMidOf(member, room, ofUserID) : undefined;
      if (!subscriber || mid === undefined) {
        throw new ServerError(
          'INVALID_CALL_STATE',
          `${userID} does not receive ${ofUserID}'s video in call ${callID}`,
        );
      }
      await this.request(
        'set layer',
        () => subscriber.configure({ streams: [{ mid, substream }] }),
        room,
      );
    });
  }

  async hold(callID: string, userID: string): Promise<void> {
    const room = this.requireRoom(callID);
    await this.serial(room, async () => {
      this.checkRoom(room);
      const member = this.member(room, userID);
      if (member.held) return;
      member.held = true;
      // Streams it receives already (it was a member before?) stop too.
      await this.sendStreams(room, member, false);
    });
  }

  async unhold(callID: string, userID: string): Promise<boolean> {
    const room = this.rooms.get(callID);
    if (!room) return false;
    return this.serial(room, async () => {
      // A room being re-created has no handles to resume: its members connect again anyway.
      if (room.closed || room.lost) return false;
      const member = room.members.get(userID);
      if (!member?.held) return false;
      member.held = false;
      member.abandoned = false;
      await this.sendStreams(room, member, true);
      // Each publisher it now receives sends a keyframe at once: the first frame needs one, and
      // the room's periodic ones (fir_freq) come only every few seconds.
      await Promise.all(
        [...member.subscribed].map((feed) => {
          const publisher = room.members.get(room.feeds.get(feed) ?? '')?.publisher;
          return publisher
            ? this.request('keyframe', () => publisher.configure({ keyframe: true }), room).catch(
                (err: unknown) => this.options.log.debug('sfu keyframe request failed', { err }),
              )
            : undefined;
        }),
      );
      return true;
    });
  }

  /** Lets Janus send (or stops it sending) every stream of the member's subscriber. */
  private async sendStreams(room: Room, member: Member, send: boolean): Promise<void> {
    const subscriber = member.subscriber;
    const mids = [...(member.streamsByMid?.keys() ?? [])];
    if (!subscriber || mids.length === 0) return;
    await this.request(
      send ? 'resume streams' : 'pause streams',
      () => subscriber.configure({ streams: mids.map((mid) => ({ mid, send })) }),
      room,
    );
  }

  async leave(callID: string, userID: string): Promise<void> {
    const room = this.rooms.get(callID);
    if (!room) return;
    await this.serial(room, async () => {
      const member = room.members.get(userID);
      if (!member) return;
      room.members.delete(userID);
      const wasPublishing = member.publishing;
      const subscriber = member.subscriber;
      member.subscriber = undefined;
      await Promise.all([
        this.retirePublisher(room, member),
        subscriber && !room.lost ? this.detach(subscriber) : undefined,
      ]);
      if (wasPublishing) this.emitPublishers(room);
    });
  }

  /** Drops the member's publisher handle and feed; subscribers carrying it drop it next update. */
  private async retirePublisher(room: Room, member: Member): Promise<void> {
    const publisher = member.publisher;
    member.publisher = undefined;
    member.publishing = false;
    if (member.feed !== undefined) {
      room.feeds.delete(member.feed);
      for (const other of room.members.values()) {
        if (other.subscribed.delete(member.feed)) other.gone.add(member.feed);
      }
      member.feed = undefined;
    }
    if (publisher && !room.lost) await this.detach(publisher);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const wake of [...this.availableWaiters]) wake();
    await Promise.all([...this.rooms.keys()].map((callID) => this.closeRoom(callID)));
    const link = this.link;
    this.link = undefined;
    if (link) {
      link.connection.removeAllListeners();
      await this.bounded(link.session.destroy()).catch(() => {});
      await this.bounded(link.connection.close()).catch(() => {});
    }
  }

  // ---- subscriber negotiation ----

  /** Brings the member's subscriber to carry exactly `publishers`; returns the offer if any. */
  private async updateSubscriber(
    room: Room,
    member: Member,
    publishers: string[],
  ): Promise<SubscriberOffer | undefined> {
    const wanted = new Set<number>();
    for (const userID of publishers) {
      const other = room.members.get(userID);
      if (userID === member.userID || !other?.publishing || other.feed === undefined) continue;
      wanted.add(other.feed);
    }
    const add = [...wanted].filter((feed) => !member.subscribed.has(feed));
    const remove = [...member.subscribed].filter((feed) => !wanted.has(feed));
    let subscriber = member.subscriber;
    if (!subscriber) {
      // A pre-connection its SDK gave up: nobody would answer the offer before it enters.
      if (add.length === 0 || (member.held && member.abandoned)) return undefined;
      subscriber = await this.attach(room);
      member.subscriber = subscriber;
      this.watchSubscriber(room, member, subscriber);
      const handle = subscriber;
      try {
        const joined = await this.request(
          'subscribe',
          () =>
            handle.joinSubscriber({
              room: room.id,
              pin: room.pin,
              streams: add.map(startLow),
              // Offers only go out through subscribe()/answer(), never on Janus's own initiative.
              autoupdate: false,
            }),
          room,
        );
        return await this.pausedIfHeld(room, member, this.offered(room, member, add, joined));
      } catch (err) {
        member.subscriber = undefined;
        await this.detach(handle);
        throw err;
      }
    }
    const drop = [...remove, ...member.gone];
    if (add.length === 0 && drop.length === 0) return undefined;
    const handle = subscriber;
    // Janus refuses empty lists, so only send the ones with something in them.
    const updated = await this.request(
      'update subscriber',
      () =>
        handle.update({
          ...(add.length > 0 ? { subscribe: add.map(startLow) } : {}),
          ...(drop.length > 0 ? { unsubscribe: drop.map((feed) => ({ feed })) } : {}),
        }),
      room,
    );
    return this.pausedIfHeld(room, member, this.offered(room, member, [...wanted], updated));
  }

  /**
   * A held member's new offer: every stream `send: false` before the client answers it, so that
   * nothing flows once its connection is up (Janus keeps the setting through `start`).
   */
  private async pausedIfHeld(
    room: Room,
    member: Member,
    offer: SubscriberOffer | undefined,
  ): Promise<SubscriberOffer | undefined> {
    if (offer && member.held) await this.sendStreams(room, member, false);
    return offer;
  }

  private offered(
    room: Room,
    member: Member,
    feeds: number[],
    result: { jsep?: Jsep; streams?: VideoRoomSubStream[] },
  ): SubscriberOffer | undefined {
    member.subscribed = new Set(feeds);
    member.gone.clear();
    if (result.jsep?.type !== 'offer') return undefined;
    member.awaitingAnswer = true;
    const streams: SfuStream[] = [];
    for (const s of result.streams ?? []) {
      if (!s.active || s.feed_id === undefined || (s.type !== 'audio' && s.type !== 'video')) {
        continue;
      }
      const userID = room.feeds.get(s.feed_id);
      if (userID !== undefined) streams.push({ mid: s.mid, userID, kind: s.type });
    }
    member.streamsByMid = new Map(streams.map((s) => [s.mid, s]));
    return { description: { type: 'offer', sdp: result.jsep.sdp }, streams };
  }

  private subscribedUsers(room: Room, member: Member): string[] {
    return [...member.subscribed]
      .map((feed) => room.feeds.get(feed))
      .filter((u): u is string => u !== undefined);
  }

  private videoMidOf(member: Member | undefined, room: Room, ofUserID: string): string | undefined {
    const feed = room.members.get(ofUserID)?.feed;
    if (!member || feed === undefined || !member.subscribed.has(feed)) return undefined;
    for (const s of member.streamsByMid?.values() ?? []) {
      if (s.userID === ofUserID && s.kind === 'video') return s.mid;
    }
    return undefined;
  }

  /**
   * A held member's subscriber that hangs up (its SDK closed the pre-connection, or ICE failed
   * while it rang) is dropped: once it enters, the next update makes a fresh one and offers it,
   * which its SDK answers on a new connection, as without pre-connect.
   */
  private watchSubscriber(room: Room, member: Member, subscriber: VideoRoomHandle): void {
    const down = (): void => {
      if (room.closed || member.subscriber !== subscriber || !member.held) return;
      void this.serial(room, async () => {
        if (member.subscriber !== subscriber || !member.held) return;
        member.subscriber = undefined;
        member.abandoned = true;
        member.subscribed = new Set();
        member.gone.clear();
        member.awaitingAnswer = false;
        member.queued = undefined;
        member.streamsByMid = undefined;
        this.options.log.debug('sfu held subscriber down; dropped', {
          callID: room.callID,
          userID: member.userID,
        });
        if (!room.lost) await this.detach(subscriber);
      });
    };
    subscriber.on(Janode.EVENT.HANDLE_HANGUP, down);
    subscriber.on(Janode.EVENT.HANDLE_ICE_FAILED, down);
    subscriber.on(Janode.EVENT.HANDLE_DETACHED, down);
  }

  // ---- publishers ----

  private watchPublisher(room: Room, member: Member, publisher: VideoRoomHandle): void {
    publisher.on(Janode.EVENT.HANDLE_WEBRTCUP, () => {
      if (room.closed || member.publisher !== publisher || member.publishing) return;
      member.publishing = true;
      this.options.log.debug('sfu publisher up', { callID: room.callID, userID: member.userID });
      this.emitPublishers(room);
    });
    const down = (why: string) => () => {
      if (room.closed || member.publisher !== publisher || !member.publishing) return;
      member.publishing = false;
      this.options.log.debug('sfu publisher down', {
        callID: room.callID,
        userID: member.userID,
        why,
      });
      this.emitPublishers(room);
    };
    // Someone (an operator, another client of this Janus) destroyed the room under the call.
    publisher.on(ROOM_DESTROYED, () => {
      if (member.publisher === publisher) this.loseRoom(room, 'Janus destroyed the room');
    });
    publisher.on(Janode.EVENT.HANDLE_HANGUP, down('hangup'));
    publisher.on(Janode.EVENT.HANDLE_ICE_FAILED, down('ice failed'));
    publisher.on(Janode.EVENT.HANDLE_DETACHED, down('detached'));
  }

  private emitPublishers(room: Room): void {
    const publishers = [...room.members.values()].filter((m) => m.publishing).map((m) => m.userID);
    for (const listener of this.listeners) {
      try {
        listener(room.callID, publishers);
      } catch (err) {
        this.options.log.error('sfu publishersChanged listener threw', { err });
      }
    }
  }

  // ---- plumbing ----

  private member(room: Room, userID: string): Member {
    let member = room.members.get(userID);
    if (!member) {
      if (room.members.size >= MAX_CALL_MEMBERS) {
        throw new ServerError('CALL_FULL', `the SFU room of call ${room.callID} is full`);
      }
      member = {
        userID,
        publishing: false,
        subscribed: new Set(),
        awaitingAnswer: false,
        gone: new Set(),
        held: false,
      };
      room.members.set(userID, member);
    }
    return member;
  }

  private requireLink(): Link {
    if (this.closed) throw new ServerError('SFU_UNAVAILABLE', 'the SFU adapter is closed');
    if (!this.link) {
      throw new ServerError(
        'SFU_UNAVAILABLE',
        `the SFU (Janus at ${this.options.url}) is not reachable right now`,
      );
    }
    return this.link;
  }

  private requireRoom(callID: string): Room {
    const room = this.rooms.get(callID);
    if (!room) {
      throw new ServerError(
        'CALL_NOT_FOUND',
        `call ${callID} has no SFU room (never opened, or already closed)`,
      );
    }
    return room;
  }

  private checkRoom(room: Room): void {
    if (room.closed) {
      throw new ServerError('CALL_NOT_FOUND', `the SFU room of call ${room.callID} is closed`);
    }
    if (room.lost) {
      throw new ServerError(
        'SFU_UNAVAILABLE',
        `the SFU lost the media room of call ${room.callID} (Janus restarted or disconnected)`,
      );
    }
  }

  /** Runs `op` after every earlier operation on the room. */
  private serial<T>(room: Room, op: () => Promise<T>): Promise<T> {
    const result = room.tail.then(op, op);
    room.tail = result.catch(() => {});
    return result;
  }

  private async attach(room: Room): Promise<VideoRoomHandle> {
    const { link } = room;
    return counted(link, await this.request('attach', () => link.session.attach(VideoRoomPlugin)));
  }

  private async detach(handle: VideoRoomHandle): Promise<void> {
    await this.bounded(handle.detach()).catch((err: unknown) =>
      this.options.log.debug('sfu detach failed', { err }),
    );
  }

  /** One Janus request, bounded in time, with Janus's failure turned into a coded error. */
  private async request<T>(what: string, send: () => Promise<T>, room?: Room): Promise<T> {
    try {
      return await this.bounded(send());
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      if (room && ROOM_GONE.test(detail)) {
        this.loseRoom(room, detail);
        throw new ServerError('SFU_UNAVAILABLE', `SFU ${what} failed: ${detail}`, { cause: err });
      }
      if (this.link === undefined || /timed out|closed|destroyed|not connected/i.test(detail)) {
        throw new ServerError('SFU_UNAVAILABLE', `SFU ${what} failed: ${detail}`, { cause: err });
      }
      // Janus answered with an error (bad SDP, unknown feed ...): a request it refused.
      throw new ServerError('INVALID_CALL_STATE', `SFU ${what} refused: ${detail}`, {
        cause: err,
      });
    }
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`request timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private async openLink(): Promise<Link> {
    let connection: JanodeConnection;
    try {
      connection = await this.bounded(
        Janode.connect({ address: { url: this.options.url }, retry_time_secs: 1, max_retries: 1 }),
      );
    } catch (err) {
      throw new ServerError(
        'SFU_UNAVAILABLE',
        `cannot reach Janus at ${this.options.url}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    try {
      const session = await this.bounded(connection.create(15));
      const handles = new Set<number>();
      const control = await this.bounded(session.attach(VideoRoomPlugin));
      const link: Link = { connection, session, control, handles };
      counted(link, control);
      const lost = (): void => this.linkLost(link);
      connection.once(Janode.EVENT.CONNECTION_CLOSED, lost);
      connection.once(Janode.EVENT.CONNECTION_ERROR, lost);
      session.once(Janode.EVENT.SESSION_DESTROYED, lost);
      return link;
    } catch (err) {
      await connection.close().catch(() => {});
      throw new ServerError(
        'SFU_UNAVAILABLE',
        `Janus at ${this.options.url} refused a session: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  /** The connection dropped: every room on it is gone in Janus; reconnect in the background. */
  private linkLost(link: Link): void {
    if (this.link !== link) return;
    this.link = undefined;
    link.connection.removeAllListeners();
    if (this.closed) return;
    this.options.log.error('sfu lost its connection to Janus', { url: this.options.url });
    for (const room of [...this.rooms.values()]) {
      if (room.link === link) this.loseRoom(room, 'the connection to Janus dropped');
    }
    this.scheduleReconnect();
  }

  /**
   * Janus no longer has the room: nothing in it works any more. Reported once; the handles, if
   * Janus still has them (a room-level loss on a live connection), are detached in the background.
   */
  private loseRoom(room: Room, why: string): void {
    if (room.lost || room.closed) return;
    room.lost = true;
    this.options.log.warn('sfu lost a room', { callID: room.callID, room: room.id, why });
    const hadPublishers = [...room.members.values()].some((m) => m.publishing);
    for (const m of room.members.values()) m.publishing = false;
    if (room.link === this.link) {
      for (const m of room.members.values()) {
        for (const h of [m.publisher, m.subscriber]) if (h) void this.detach(h);
      }
    }
    if (hadPublishers) this.emitPublishers(room);
    for (const listener of this.roomLostListeners) {
      try {
        listener(room.callID);
      } catch (err) {
        this.options.log.error('sfu roomLost listener threw', { err });
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnect();
    }, wait);
  }

  private reconnect(): void {
    if (this.connecting) return;
    this.connecting = true;
    this.openLink().then(
      (link) => {
        this.connecting = false;
        if (this.closed || this.link) {
          void link.session.destroy().catch(() => {});
          void link.connection.close().catch(() => {});
          return;
        }
        this.link = link;
        this.backoffMs = BACKOFF_MIN_MS;
        this.options.log.info('sfu reconnected to Janus', { url: this.options.url });
        for (const wake of [...this.availableWaiters]) wake();
      },
      () => {
        this.connecting = false;
        this.scheduleReconnect();
      },
    );
  }
}

/**
 * A new subscription starts on the lowest simulcast layer: it needs the least bandwidth and
 * decoding, so the first frame comes soonest; the client asks for more (`sfuLayer`) once it knows
 * how large it shows the video.
 */
function startLow(feed: number): { feed: number; substream: number } {
  return { feed, substream: 0 };
}

/** Counts `handle` among `link`'s attached handles until Janus confirms its detach. */
function counted(link: Link, handle: VideoRoomHandle): VideoRoomHandle {
  link.handles.add(handle.id);
  handle.once(Janode.EVENT.HANDLE_DETACHED, () => link.handles.delete(handle.id));
  return handle;
}
