import {
  ServerErrorCode,
  type IceServer,
  type IceTransportPolicy,
  type SfuStream,
} from '@ringline/protocol';
import { CallError, type MediaKind } from '../errors.js';
import { TypedEmitter } from '../events/Emitter.js';
import type { Logger } from '../util/logger.js';
import { ConnectionWatchdog, systemClock } from './ConnectionWatchdog.js';
import {
  SessionEvent,
  type MediaSession,
  type SessionCallbacks,
  type SessionOptions,
  type SessionQuality,
  type SfuOffer,
  type SfuSignalling,
  type Substream,
} from './MediaSession.js';
import { NetworkQuality, scoreLink } from './networkQuality.js';
import { AUDIO_GAP_POLLS, AUDIO_POLL_MS, applyIceConfig, lastAudioAt } from './peerConnection.js';
import {
  InboundDeltas,
  downlinkMetrics,
  isDown,
  readStats,
  uplinkMetrics,
  type InboundInterval,
  type InboundStream,
} from './stats.js';

type Role = 'publisher' | 'subscriber';
type Candidate = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };

/**
 * The simulcast layers every publisher sends (rids as Janus expects them, highest first): full
 * size, half and quarter, each with its share of the profile's bitrate.
 */
export const simulcastLayers = [
  { rid: 'h', scaleResolutionDownBy: 1, bitrateShare: 1 },
  { rid: 'm', scaleResolutionDownBy: 2, bitrateShare: 0.3 },
  { rid: 'l', scaleResolutionDownBy: 4, bitrateShare: 0.1 },
] as const;

// A member heard again after this many checks without audio: the path (theirs or ours) was down.
const AUDIO_BLIP_POLLS = 3;
// After an outage, keyframes are sent and asked for again this much later.
const SECOND_KEYFRAME_MS = 1_000;

// Below this a layer is not worth sending at all; the encoder needs some room.
const MIN_LAYER_BITRATE = 60_000;

/** The encodings of the publisher's video for a profile's maximum bitrate. */
export function simulcastEncodings(maxBitrate: number): RTCRtpEncodingParameters[] {
  return simulcastLayers.map(({ rid, scaleResolutionDownBy, bitrateShare }) => ({
    rid,
    active: true,
    scaleResolutionDownBy,
    maxBitrate: Math.max(MIN_LAYER_BITRATE, Math.round(maxBitrate * bitrateShare)),
  }));
}

/**
 * A call's media through the SFU (Janus VideoRoom, driven by our server): one publisher connection
 * that sends the local audio and video (simulcast), and one subscriber connection that receives
 * every other member's streams, re-offered by the SFU whenever they change. Both are negotiated
 * through our signalling (`sfuPublish`, `sfuOffer`/`sfuAnswer`, `sfuTrickle`).
 *
 * The publisher's transceivers exist from the first offer (video without a track in an audio call),
 * so camera on/off, audio⇄video and device switches are `replaceTrack` — never a renegotiation.
 *
 * A watchdog follows each connection. Lost (or never connected), the publisher restarts ICE with a
 * new offer (`iceRestart`) through `sfuPublish`, and the subscriber asks the SFU for a new offer
 * (`sfuRestart`), retrying with backoff while the path is down; one that does not come back in
 * time is reported (`Failed`), and the call cannot go on for this member.
 *
 * A dead path shows first as audio that stops: when every member whose audio is on has sent none
 * for a second, our own path is the likely cause (one member's silence is theirs to fix), so both
 * connections restart ICE at once (`suspect()`) and `MediaStalled` lets the engine check the
 * signalling socket. When the signalling resumes (`resync()`), a connection not `connected`, or
 * whose media stopped, restarts at once: requests lost with the dead socket are made again.
 */
export class SfuSession implements MediaSession {
  readonly events: TypedEmitter<SessionCallbacks>;
  readonly #sfu: SfuSignalling;
  readonly #log: Logger;
  #closed = false;
  #started = false;
  #publisher: RTCPeerConnection | undefined;
  #subscriber: RTCPeerConnection | undefined;
  #senders: Partial<Record<MediaKind, RTCRtpSender>> = {};
  #local: Record<MediaKind, MediaStreamTrack | null>;
  #maxVideoBitrate: number;
  // Candidates wait until the SFU has the description they belong to.
  #published = false;
  #publisherCandidates: (Candidate | undefined)[] = [];
  #subscriberAnswered = false;
  #subscriberCandidates: (Candidate | undefined)[] = [];
  // Subscriber offers are applied strictly one after the other.
  #offers: Promise<void> = Promise.resolve();
  // What the latest offer carries, by mid, and which (user, track) each mid was announced as.
  #streams = new Map<string, SfuStream>();
  #announced = new Map<string, { userID: string; track: MediaStreamTrack }>();
  // Simulcast layer wanted (by the views) and last sent, per remote user.
  #wantedLayers = new Map<string, Substream>();
  #sentLayers = new Map<string, Substream>();
  #received = new InboundDeltas();
  // Bumped by reset(): work begun for the SFU room before it was re-created stops quietly.
  #generation = 0;
  #iceServers: IceServer[];
  #iceTransportPolicy: IceTransportPolicy;
  #watchdogs: Partial<Record<Role, ConnectionWatchdog>> = {};
  // An ICE restart of that connection is under way: the watchdog's next attempt waits for it.
  #restarting: Partial<Record<Role, boolean>> = {};
  // Who said their audio is on, and when each one's audio last arrived (polled).
  #remoteAudio = new Map<string, boolean>();
  #heard = new Map<string, { last: number | undefined; quiet: number }>();
  #stalled = false;
  #audioTimer: unknown;
  #keyFrameTimer: unknown;

  constructor(
    private readonly options: SessionOptions,
    private readonly PeerConnection: typeof RTCPeerConnection,
  ) {
    if (!options.sfu) throw CallError.notSupported('an SFU session needs the SFU requests');
    this.#sfu = options.sfu;
    this.#local = { ...options.localTracks };
    this.#maxVideoBitrate = options.maxVideoBitrate;
    this.#log = options.logger;
    this.#iceServers = options.iceServers;
    this.#iceTransportPolicy = options.iceTransportPolicy;
    this.events = new TypedEmitter<SessionCallbacks>((error, event) =>
      this.#log.error(`a listener of session event ${event} threw`, error),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connectionDown(): boolean {
    return Object.values(this.#watchdogs).some((w) => w.down);
  }

  setIceConfig(iceServers: IceServer[], iceTransportPolicy: IceTransportPolicy): void {
    this.#iceServers = iceServers;
    this.#iceTransportPolicy = iceTransportPolicy;
    for (const pc of [this.#publisher, this.#subscriber]) {
      if (pc) applyIceConfig(pc, iceServers, iceTransportPolicy, this.#log);
    }
  }

  /** Publishes the local tracks (once). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#startPublishing();
    this.#watchAudio();
  }

  setRemoteMedia(userID: string, { audio }: { audio: boolean; video: boolean }): void {
    // Silence counted while the audio was off says nothing about the path.
    if (audio && !this.#remoteAudio.get(userID)) this.#heard.delete(userID);
    this.#remoteAudio.set(userID, audio);
  }

  resync(): void {
    if (this.#closed) return;
    for (const role of ['publisher', 'subscriber'] as const) {
      const pc = role === 'publisher' ? this.#publisher : this.#subscriber;
      const watchdog = this.#watchdogs[role];
      if (!pc || !watchdog) continue;
      if (pc.connectionState === 'connected' && !watchdog.suspected && !watchdog.down) continue;
      this.#log.info(`signalling resumed while the SFU ${role} is down: restarting ICE`);
      if (role === 'publisher') this.#restartPublisher(pc, this.#generation);
      else this.#restartSubscriber(this.#generation);
    }
  }

  /**
   * Polls when each member's audio last arrived (getSynchronizationSources, no getStats). Every
   * member whose audio is on silent for a second: our path is dead (suspect both connections);
   * any of them heard again: it is back.
   */
  #watchAudio(): void {
    const clock = this.options.clock ?? systemClock;
    const poll = (): void => {
      if (this.#closed) return;
      this.#pollAudio();
      if (!this.#closed) this.#audioTimer = clock.setTimeout(poll, AUDIO_POLL_MS);
    };
    this.#audioTimer = clock.setTimeout(poll, AUDIO_POLL_MS);
  }

  #pollAudio(): void {
    const pc = this.#subscriber;
    if (!pc) return;
    let watched = 0;
    let silent = 0;
    let heardAgain = false;
    let blip = false;
    for (const transceiver of pc.getTransceivers()) {
      const announced = transceiver.mid === null ? undefined : this.#announced.get(transceiver.mid);
      if (!announced || announced.track.kind !== 'audio') continue;
      const { userID } = announced;
      const latest = lastAudioAt(transceiver.receiver);
      if (latest === undefined) continue; // nothing received yet: no gap to measure
      const heard = this.#heard.get(userID) ?? { last: undefined, quiet: 0 };
      this.#heard.set(userID, heard);
      if (latest !== heard.last) {
        if (heard.last !== undefined && heard.quiet >= AUDIO_GAP_POLLS) heardAgain = true;
        if (heard.last !== undefined && heard.quiet >= AUDIO_BLIP_POLLS) blip = true;
        heard.last = latest;
        heard.quiet = 0;
      } else {
        heard.quiet++;
      }
      if (!this.#remoteAudio.get(userID)) continue;
      watched++;
      if (heard.quiet >= AUDIO_GAP_POLLS) silent++;
    }
    if (blip) {
      // Video sent across the outage was lost, and the decoders at the other end ask for a
      // keyframe only after ~3 s: whoever's path it was, a keyframe from us now spares them that
      // (the member whose path it was hears us all come back, and sends one too).
      this.#log.info('a member is heard again after a gap: sending and asking for keyframes');
      this.#keyFramesAfterOutage();
    }
    if (this.#stalled && (heardAgain || silent < watched || watched === 0)) {
      this.#stalled = false;
      for (const watchdog of Object.values(this.#watchdogs)) watchdog.cleared();
    } else if (!this.#stalled && watched > 0 && silent === watched) {
      this.#stalled = true;
      this.#log.info('no audio from any member for a second: the path may be dead');
      for (const watchdog of Object.values(this.#watchdogs)) watchdog.suspect();
      this.events.emit(SessionEvent.MediaStalled, 'sfu');
    }
  }

  /**
   * The server re-created the call's SFU room (Janus restarted): the old connections lead nowhere,
   * so both are dropped, the local tracks are published again, and the subscriber comes back with
   * the next offer. The call goes on; nothing is reported to the app but the new remote tracks.
   */
  resetSfu(): void {
    if (this.#closed) return;
    this.#generation++;
    this.#log.info('the SFU room was re-created: publishing and subscribing again');
    this.#dropConnections();
    this.#received = new InboundDeltas();
    this.#started = true;
    this.#startPublishing();
  }

  #startPublishing(): void {
    const generation = this.#generation;
    this.#publish(generation).catch((error: unknown) => {
      if (this.#closed || generation !== this.#generation) return;
      if (isRestarting(error)) {
        // The room is being re-created; sfuReset brings us back here.
        this.#log.info('the SFU is restarting; publishing again after sfuReset');
        return;
      }
      this.#log.error('publishing to the SFU failed', error);
      this.events.emit(SessionEvent.Error, 'sfu:publisher', toError(error));
    });
  }

  addPeer(): void {
    // Remote members' streams arrive in subscriber offers; nothing to set up per member.
  }

  removePeer(userID: string): void {
    this.#wantedLayers.delete(userID);
    this.#sentLayers.delete(userID);
  }

  async handleSignal(from: string): Promise<void> {
    // A peer-to-peer message that crossed the move to the SFU: it no longer applies.
    this.#log.debug(`ignoring a peer-to-peer signal from ${from} in an SFU session`);
  }

  handleSfuOffer(offer: SfuOffer): Promise<void> {
    const generation = this.#generation;
    const next = this.#offers.then(() => this.#applyOffer(offer, generation));
    this.#offers = next.catch((error: unknown) => {
      if (this.#closed || generation !== this.#generation) return;
      if (isRestarting(error)) {
        this.#log.info('the SFU is restarting; the subscriber comes back after sfuReset');
        return;
      }
      this.#log.error('applying the SFU subscriber offer failed', error);
      this.events.emit(SessionEvent.Error, 'sfu:subscriber', toError(error));
    });
    return next;
  }

  requestLayer(userID: string, substream: Substream): void {
    this.#wantedLayers.set(userID, substream);
    this.#sendLayers();
  }

  async setLocalTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    this.#local[kind] = track;
    const sender = this.#senders[kind];
    if (!sender || this.#closed) return; // used when the publisher is created
    await sender.replaceTrack(track);
  }

  async setMaxVideoBitrate(bps: number): Promise<void> {
    this.#maxVideoBitrate = bps;
    await this.#applyBitrate();
  }

  /**
   * `local`: what the SFU reports of our publisher's streams; `remote`: each member's streams as
   * our subscriber connection receives them from the SFU (their mids tell whose they are).
   */
  async networkQuality(): Promise<SessionQuality> {
    const publisher = this.#publisher;
    const subscriber = this.#subscriber;
    const [sent, received] = await Promise.all([publisher?.getStats(), subscriber?.getStats()]);
    const quality: SessionQuality = { local: NetworkQuality.Unknown, remote: new Map() };
    if (this.#closed) return quality;
    if (publisher && sent) {
      quality.local = scoreLink(uplinkMetrics(readStats(sent), isDown(publisher.connectionState)));
    }
    if (subscriber && received) {
      const snapshot = readStats(received);
      const down = isDown(subscriber.connectionState);
      const byUser = new Map<string, InboundInterval[]>();
      for (const interval of this.#received.next(snapshot)) {
        const userID = this.#userOf(interval.stream);
        if (userID !== undefined) byUser.set(userID, [...(byUser.get(userID) ?? []), interval]);
      }
      for (const { userID } of this.#announced.values()) {
        const streams = byUser.get(userID) ?? [];
        quality.remote.set(userID, scoreLink(downlinkMetrics(streams, snapshot.pairRtt, down)));
      }
    }
    return quality;
  }

  /** Whose a received stream is: by its mid, or by its track where the browser gives no mid. */
  #userOf(stream: InboundStream): string | undefined {
    if (stream.mid !== undefined) return this.#announced.get(stream.mid)?.userID;
    for (const { userID, track } of this.#announced.values()) {
      if (track.id === stream.trackIdentifier) return userID;
    }
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const clock = this.options.clock ?? systemClock;
    if (this.#audioTimer !== undefined) clock.clearTimeout(this.#audioTimer);
    if (this.#keyFrameTimer !== undefined) clock.clearTimeout(this.#keyFrameTimer);
    this.#keyFrameTimer = undefined;
    this.#dropConnections();
    this.events.removeAllListeners();
  }

  /** Closes both connections quietly and forgets what they negotiated. */
  #dropConnections(): void {
    for (const watchdog of Object.values(this.#watchdogs)) watchdog.close();
    this.#watchdogs = {};
    this.#restarting = {};
    this.#heard.clear();
    this.#stalled = false;
    for (const pc of [this.#publisher, this.#subscriber]) {
      if (!pc) continue;
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    this.#publisher = undefined;
    this.#subscriber = undefined;
    this.#senders = {};
    this.#published = false;
    this.#subscriberAnswered = false;
    this.#publisherCandidates = [];
    this.#subscriberCandidates = [];
    this.#streams.clear();
    this.#announced.clear();
    // Layers go out again for the new subscriber; the wanted ones stay.
    this.#sentLayers.clear();
  }

  async #publish(generation: number): Promise<void> {
    const pc = this.#newConnection('publisher');
    this.#publisher = pc;
    const audio = pc.addTransceiver(this.#local.audio ?? 'audio', { direction: 'sendonly' });
    const video = pc.addTransceiver(this.#local.video ?? 'video', {
      direction: 'sendonly',
      sendEncodings: simulcastEncodings(this.#maxVideoBitrate),
    });
    this.#senders = { audio: audio.sender, video: video.sender };
    const stale = () => this.#closed || generation !== this.#generation;
    if (!(await this.#sendPublisherOffer(pc, await pc.createOffer(), stale))) return;
    this.#log.info('publishing to the SFU');
    // A track set while the offer was out went to the sender already; the bitrate may not have.
    await this.#applyBitrate();
  }

  async #applyOffer({ description, streams }: SfuOffer, generation: number): Promise<void> {
    // An offer of the room before it was re-created describes handles that are gone.
    const stale = () => this.#closed || generation !== this.#generation;
    if (stale()) return;
    const pc = (this.#subscriber ??= this.#newConnection('subscriber'));
    this.#streams = new Map(streams.map((stream) => [stream.mid, stream]));
    await pc.setRemoteDescription(description);
    if (stale()) return;
    this.#announceTracks(pc);
    // Candidates of this answer (new ones after an ICE restart) wait until the SFU has it.
    this.#subscriberAnswered = false;
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (stale()) return;
    await this.#sfu.answer({ type: 'answer', sdp: pc.localDescription!.sdp });
    if (stale()) return;
    this.#subscriberAnswered = true;
    this.#flushCandidates('subscriber');
    // Users who left the offer are forgotten: if they come back, their layer is sent again.
    const present = new Set(streams.map((s) => s.userID));
    for (const userID of [...this.#sentLayers.keys()]) {
      if (!present.has(userID)) this.#sentLayers.delete(userID);
    }
    this.#sendLayers();
  }

  // Each mid the offer carries is reported as its user's track, once per (mid, user, track): a
  // mid the SFU recycles for another user is reported again, for the new user.
  #announceTracks(pc: RTCPeerConnection): void {
    for (const mid of [...this.#announced.keys()]) {
      if (!this.#streams.has(mid)) this.#announced.delete(mid);
    }
    for (const transceiver of pc.getTransceivers()) {
      const mid = transceiver.mid;
      const stream = mid === null ? undefined : this.#streams.get(mid);
      if (!stream || mid === null) continue;
      const track = transceiver.receiver.track;
      if (track.kind !== stream.kind) {
        this.#log.warn(`the SFU said mid ${mid} carries ${stream.kind}, but it is ${track.kind}`);
        continue;
      }
      const known = this.#announced.get(mid);
      if (known?.userID === stream.userID && known.track === track) continue;
      this.#announced.set(mid, { userID: stream.userID, track });
      this.#log.debug(`remote ${track.kind} of ${stream.userID} on mid ${mid}`);
      this.events.emit(SessionEvent.Track, stream.userID, track, transceiver.receiver);
    }
  }

  // Until a view says otherwise a remote video gets the lowest layer: nobody watches it large.
  #sendLayers(): void {
    if (this.#closed || !this.#subscriberAnswered) return;
    const withVideo = new Set(
      [...this.#streams.values()].filter((s) => s.kind === 'video').map((s) => s.userID),
    );
    for (const userID of withVideo) {
      const wanted = this.#wantedLayers.get(userID) ?? 0;
      if (this.#sentLayers.get(userID) === wanted) continue;
      this.#sentLayers.set(userID, wanted);
      this.#sfu.setLayer(userID, wanted).catch((error: unknown) => {
        if (this.#closed) return;
        // Sent again with the next change or offer.
        if (this.#sentLayers.get(userID) === wanted) this.#sentLayers.delete(userID);
        this.#log.warn(`choosing layer ${wanted} of ${userID}'s video failed`, error);
      });
    }
  }

  #newConnection(role: Role): RTCPeerConnection {
    const pc = new this.PeerConnection({
      iceServers: this.#iceServers as RTCIceServer[],
      iceTransportPolicy: this.#iceTransportPolicy,
      bundlePolicy: 'max-bundle',
    });
    const generation = this.#generation;
    this.#watchdogs[role]?.close();
    this.#watchdogs[role] = new ConnectionWatchdog(
      `SFU ${role}`,
      {
        restart: () => {
          if (this.#closed || generation !== this.#generation) return;
          if (role === 'publisher') this.#restartPublisher(pc, generation);
          else this.#restartSubscriber(generation);
        },
        fail: (reason) => {
          if (this.#closed || generation !== this.#generation) return;
          this.events.emit(SessionEvent.Failed, `sfu:${role}`, reason);
        },
      },
      this.#log,
      this.options.connection,
      this.options.clock,
    );
    pc.onicecandidate = ({ candidate }) => {
      const entry =
        candidate && candidate.candidate
          ? {
              candidate: candidate.candidate,
              sdpMid: candidate.sdpMid,
              sdpMLineIndex: candidate.sdpMLineIndex,
            }
          : undefined;
      const ready = role === 'publisher' ? this.#published : this.#subscriberAnswered;
      if (ready) this.#trickle(role, entry);
      else
        (role === 'publisher' ? this.#publisherCandidates : this.#subscriberCandidates).push(entry);
    };
    pc.onconnectionstatechange = () => {
      this.#log.info(`SFU ${role} connection: ${pc.connectionState}`);
      this.#watchdogs[role]?.update(pc.connectionState);
      this.events.emit(SessionEvent.ConnectionState, `sfu:${role}`, pc.connectionState);
    };
    return pc;
  }

  /**
   * Sends the publisher's `offer` with `sfuPublish` and applies the SFU's answer; false when the
   * session moved on meanwhile (`stale`). Candidates wait until the SFU has the offer they belong to.
   */
  async #sendPublisherOffer(
    pc: RTCPeerConnection,
    offer: RTCSessionDescriptionInit,
    stale: () => boolean,
  ): Promise<boolean> {
    this.#published = false;
    await pc.setLocalDescription(offer);
    if (stale()) return false;
    const answer = await this.#sfu.publish({ type: 'offer', sdp: pc.localDescription!.sdp });
    if (stale()) return false;
    await pc.setRemoteDescription(answer);
    if (stale()) return false;
    this.#published = true;
    this.#flushCandidates('publisher');
    return true;
  }

  /** A new publisher offer with new ICE credentials, through `sfuPublish` (the SFU answers). */
  #restartPublisher(pc: RTCPeerConnection, generation: number): void {
    if (this.#restarting.publisher || pc !== this.#publisher) return;
    if (!this.#published || pc.signalingState !== 'stable') return; // the first publish is out
    this.#restarting.publisher = true;
    const stale = () => this.#closed || generation !== this.#generation || pc !== this.#publisher;
    pc.createOffer({ iceRestart: true })
      .then((offer) => this.#sendPublisherOffer(pc, offer, stale))
      .catch(async (error: unknown) => {
        if (stale()) return;
        // The watchdog tries again; a restarting SFU comes back with sfuReset.
        this.#log.warn('restarting ICE on the SFU publisher failed', error);
        if (pc.signalingState === 'have-local-offer') {
          await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        }
        // Back on the previous description: its candidates are all the SFU needs.
        this.#publisherCandidates = [];
        this.#published = pc.signalingState === 'stable' && pc.remoteDescription !== null;
      })
      .finally(() => {
        this.#restarting.publisher = false;
      });
  }

  /** Asks the SFU to restart ICE on the subscriber (`sfuRestart`); its new offer follows. */
  #restartSubscriber(generation: number): void {
    if (this.#restarting.subscriber || !this.#subscriber) return;
    this.#restarting.subscriber = true;
    this.#sfu
      .restartSubscriber()
      .catch((error: unknown) => {
        if (this.#closed || generation !== this.#generation) return;
        // Retried by the watchdog; a restarting SFU comes back with sfuReset.
        this.#log.warn('restarting ICE on the SFU subscriber failed', error);
      })
      .finally(() => {
        this.#restarting.subscriber = false;
      });
  }

  /**
   * Our decoders lost the frames sent across the outage and Chromium asks for a keyframe only
   * after ~3 s. The SFU asks a publisher for one (a PLI on every simulcast layer) whenever a
   * subscriber switches layers: so each video is switched to another layer and straight back.
   */
  #askKeyFrames(): void {
    if (this.#closed || !this.#subscriberAnswered) return;
    const withVideo = new Set(
      [...this.#streams.values()].filter((s) => s.kind === 'video').map((s) => s.userID),
    );
    for (const userID of withVideo) {
      const wanted = this.#wantedLayers.get(userID) ?? 0;
      const other = (wanted === 0 ? 1 : wanted - 1) as Substream;
      void this.#sfu
        .setLayer(userID, other)
        .then(() => this.#sfu.setLayer(userID, this.#wantedLayers.get(userID) ?? 0))
        .catch((error: unknown) => {
          if (this.#closed) return;
          this.#sentLayers.delete(userID); // sent again with the next change or offer
          this.#log.debug(`asking ${userID} for a keyframe failed`, error);
        });
    }
  }

  /**
   * Keyframes sent and asked for now, and once more a second later: the request (a PLI from the
   * SFU) travels on the publisher's connection back to its sender, which may not be back yet.
   */
  #keyFramesAfterOutage(): void {
    void this.#sendKeyFrame();
    this.#askKeyFrames();
    const clock = this.options.clock ?? systemClock;
    if (this.#keyFrameTimer !== undefined) clock.clearTimeout(this.#keyFrameTimer);
    this.#keyFrameTimer = clock.setTimeout(() => {
      this.#keyFrameTimer = undefined;
      if (this.#closed) return;
      void this.#sendKeyFrame();
      this.#askKeyFrames();
    }, SECOND_KEYFRAME_MS);
  }

  /** Pausing and resuming every simulcast encoding makes the encoder start with a keyframe. */
  async #sendKeyFrame(): Promise<void> {
    const sender = this.#senders.video;
    if (!sender?.track || this.#closed || !this.#published) return;
    try {
      for (const active of [false, true]) {
        const params = sender.getParameters();
        if (!params.encodings?.length) return;
        for (const encoding of params.encodings) encoding.active = active;
        await sender.setParameters(params);
      }
    } catch (error) {
      this.#log.debug('restarting the video encoding failed', error);
    }
  }

  #flushCandidates(role: 'publisher' | 'subscriber'): void {
    const waiting =
      role === 'publisher'
        ? this.#publisherCandidates.splice(0)
        : this.#subscriberCandidates.splice(0);
    for (const candidate of waiting) this.#trickle(role, candidate);
  }

  #trickle(role: 'publisher' | 'subscriber', candidate: Candidate | undefined): void {
    if (this.#closed) return;
    this.#sfu.trickle(role, candidate).catch((error: unknown) => {
      if (!this.#closed) this.#log.warn(`trickling a ${role} candidate failed`, error);
    });
  }

  async #applyBitrate(): Promise<void> {
    const sender = this.#senders.video;
    if (!sender || this.#closed || !this.#published) return;
    try {
      const params = sender.getParameters();
      const wanted = new Map(simulcastEncodings(this.#maxVideoBitrate).map((e) => [e.rid, e]));
      let changed = false;
      for (const encoding of params.encodings ?? []) {
        const target = encoding.rid === undefined ? undefined : wanted.get(encoding.rid);
        if (!target || encoding.maxBitrate === target.maxBitrate) continue;
        encoding.maxBitrate = target.maxBitrate!;
        changed = true;
      }
      if (changed) await sender.setParameters(params);
    } catch (error) {
      this.#log.debug('setting the video bitrate failed', error);
    }
  }
}

/** The server is re-creating the call's SFU room (SFU_RESTARTING): retry after sfuReset. */
function isRestarting(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === ServerErrorCode.SFU_RESTARTING;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
