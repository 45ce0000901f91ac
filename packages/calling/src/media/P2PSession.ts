import type { IceServer, IceTransportPolicy, SignalData } from '@ringline/protocol';
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
} from './MediaSession.js';
import { NetworkQuality, scoreLink } from './networkQuality.js';
import { AUDIO_GAP_POLLS, AUDIO_POLL_MS, applyIceConfig, lastAudioAt } from './peerConnection.js';
import { InboundDeltas, downlinkMetrics, isDown, readStats, uplinkMetrics } from './stats.js';

const kinds: readonly MediaKind[] = ['audio', 'video'];
// A renegotiation offer (an ICE restart) with no answer this long was lost: sent again.
export const OFFER_ANSWER_TIMEOUT_MS = 3_000;
// After an outage, the second keyframe follows the first this much later.
const SECOND_KEYFRAME_MS = 1_000;

/**
 * A 1:1 call's media over one RTCPeerConnection. Each side sends on audio and video transceivers
 * of its own (`addTransceiver`, video with no track in an audio call): the caller's come with its
 * first offer, the callee's with an offer of its own right after its first answer (the peer's
 * transceivers bring the peer's media only). A sender the browser made for a remote offer starts
 * its first frame ~40 ms later than one made with `addTransceiver` (Chromium 14x on this machine),
 * which is most of what a pre-connected call takes to show the callee. Turning the camera on or
 * off, switching between audio and video, and changing devices are all `replaceTrack` — never a
 * renegotiation.
 * Negotiation follows the W3C "perfect negotiation" pattern: the caller is impolite, the callee
 * polite, so an offer collision resolves itself.
 *
 * A watchdog follows the connection: lost (or never connected), the impolite side restarts ICE
 * (`restartIce()` → a new offer through `signal`), retrying with backoff while the path is down;
 * its offer makes the polite side's answer restart ICE too. Only one side restarts: both see the
 * path die (consent checks fail both ways within the same seconds), and two sides restarting
 * would collide on every attempt, each collision costing the polite side a rollback. Both sides'
 * watchdogs give up on their own (`Failed`) when the connection does not come back in time.
 *
 * A dead path shows first as the peer's audio that stops (polled every 100 ms): after a second
 * without any, while the peer's audio is on, the watchdog is told (`suspect()`: the caller restarts
 * ICE at once, seconds before Chromium reports `disconnected`) and `MediaStalled` goes up so the
 * engine checks the signalling socket, which a changed address kills too. The callee does not
 * restart: the caller sees the same silence (both directions die together) and restarts for both.
 * A restart offer can be lost with a dead socket: unanswered for `OFFER_ANSWER_TIMEOUT_MS`, or
 * when the signalling resumes (`resync()`), the same offer is sent again. Not a new one: the first
 * may not be lost at all (made while reconnecting, it went out after the resume), and the answer
 * to it would then be applied to the new offer, whose ICE credentials the peer never saw. The same
 * offer twice gets the same answer twice; the second finds us stable and is ignored.
 */
export class P2PSession implements MediaSession {
  readonly events: TypedEmitter<SessionCallbacks>;
  #closed = false;
  #pc: RTCPeerConnection | undefined;
  #peer: string | undefined;
  #polite = true;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  /** Our own transceivers: what we send. */
  #transceivers: Partial<Record<MediaKind, RTCRtpTransceiver>> = {};
  /** Where the peer's audio arrives (polled to notice a dead path). */
  #remoteAudio: RTCRtpReceiver | undefined;
  #local: Record<MediaKind, MediaStreamTrack | null>;
  #maxVideoBitrate: number;
  #earlyCandidates: RTCIceCandidateInit[] = [];
  #signals: Promise<void> = Promise.resolve();
  readonly #received = new InboundDeltas();
  readonly #log: Logger;
  #iceServers: IceServer[];
  #iceTransportPolicy: IceTransportPolicy;
  #watchdog: ConnectionWatchdog | undefined;
  // Arrival of the peer's audio: a short outage that Chromium never reports as `disconnected`
  // still shows as audio that stopped and came back.
  #audioTimer: unknown;
  #lastAudio: number | undefined;
  #quietPolls = 0;
  // Whether the peer said its audio is on (only then is silence a sign of a dead path).
  #peerAudio = false;
  #offerTimer: unknown;
  #keyFrameTimer: unknown;

  constructor(
    private readonly options: SessionOptions,
    private readonly PeerConnection: typeof RTCPeerConnection,
  ) {
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
    return this.#watchdog?.down ?? false;
  }

  setIceConfig(iceServers: IceServer[], iceTransportPolicy: IceTransportPolicy): void {
    this.#iceServers = iceServers;
    this.#iceTransportPolicy = iceTransportPolicy;
    const pc = this.#pc;
    if (pc && !this.#closed) applyIceConfig(pc, iceServers, iceTransportPolicy, this.#log);
  }

  start(): void {
    // Nothing to send before the other member joins (addPeer).
  }

  async handleSfuOffer(_offer: SfuOffer): Promise<void> {
    throw CallError.notSupported('a peer-to-peer session has no SFU subscriber');
  }

  requestLayer(): void {
    // One peer sends one encoding: there is no layer to choose.
  }

  resetSfu(): void {
    // No SFU in a peer-to-peer call.
  }

  addPeer(userID: string, { initiator }: { initiator: boolean }): void {
    if (this.#closed || this.#peer === userID) return; // pre-connected while it rang
    if (this.#peer !== undefined) {
      throw CallError.notSupported('a peer-to-peer session connects exactly two users');
    }
    this.#peer = userID;
    this.#polite = !initiator;
    const pc = new this.PeerConnection({
      iceServers: this.#iceServers as RTCIceServer[],
      iceTransportPolicy: this.#iceTransportPolicy,
      bundlePolicy: 'max-bundle',
    });
    this.#pc = pc;
    this.#watchdog = new ConnectionWatchdog(
      `peer ${userID}`,
      {
        restart: () => {
          if (this.#closed) return;
          if (this.#polite) {
            this.#log.debug('waiting for the caller to restart ICE');
            return;
          }
          // An offer in flight is the restart already: restartIce() now would queue one more
          // for when it is answered, which would move the connection again just as it came
          // back (a lost offer is sent again by #awaitAnswer or resync()).
          if (pc.signalingState !== 'stable' || this.#makingOffer) {
            this.#log.debug('an ICE restart offer is out already');
            return;
          }
          // negotiationneeded follows: the offer carries new ICE credentials.
          pc.restartIce();
        },
        fail: (reason) => {
          if (!this.#closed) this.events.emit(SessionEvent.Failed, userID, reason);
        },
        recovered: () => this.#keyFramesAfterOutage(),
      },
      this.#log,
      this.options.connection,
      this.options.clock,
    );
    pc.onnegotiationneeded = () => void this.#negotiate();
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate || !candidate.candidate) return; // end of candidates: nothing to relay
      this.#send({
        candidate: {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
          usernameFragment: candidate.usernameFragment,
        },
      });
    };
    this.#watchAudio();
    pc.ontrack = ({ track, receiver }) => {
      this.#log.debug(`remote ${track.kind} track from ${userID}`);
      if (track.kind === 'audio') this.#remoteAudio = receiver;
      this.events.emit(SessionEvent.Track, userID, track, receiver);
    };
    pc.onconnectionstatechange = () => {
      this.#log.info(`peer connection with ${userID}: ${pc.connectionState}`);
      this.#watchdog?.update(pc.connectionState);
      this.events.emit(SessionEvent.ConnectionState, userID, pc.connectionState);
    };
    pc.onsignalingstatechange = () => {
      if (pc.signalingState === 'stable') void this.#applyBitrate();
    };
    // Adding transceivers fires negotiationneeded, which makes the offer. The other side adds its
    // own once it answered ours (#apply).
    if (initiator) this.#addOwnTransceivers(pc);
  }

  /**
   * Our audio and video transceivers, once. `sendrecv`, so that a peer on an SDK from before they
   * were separate (which sends on the offerer's transceivers) is still received.
   */
  #addOwnTransceivers(pc: RTCPeerConnection): void {
    if (this.#transceivers.audio || this.#closed) return;
    for (const kind of kinds) {
      this.#transceivers[kind] = pc.addTransceiver(this.#local[kind] ?? kind, {
        direction: 'sendrecv',
        ...(kind === 'video' ? { sendEncodings: [{ maxBitrate: this.#maxVideoBitrate }] } : {}),
      });
    }
  }

  removePeer(userID: string): void {
    if (userID === this.#peer) this.close();
  }

  setRemoteMedia(userID: string, { audio }: { audio: boolean; video: boolean }): void {
    if (userID !== this.#peer) return;
    // Silence counted while the audio was off says nothing about the path.
    if (audio && !this.#peerAudio) this.#quietPolls = 0;
    this.#peerAudio = audio;
  }

  resync(): void {
    const pc = this.#pc;
    if (!pc || this.#closed) return;
    if (pc.signalingState === 'have-local-offer' && pc.remoteDescription) {
      this.#log.info('signalling resumed with our offer unanswered: sending it again');
      this.#offerAgain(pc);
    } else if (pc.connectionState !== 'connected' || this.#watchdog?.suspected) {
      if (this.#polite) return; // the caller restarts, and its offer reaches us now
      this.#log.info('signalling resumed while the connection is down: restarting ICE');
      pc.restartIce();
    }
  }

  handleSignal(from: string, data: SignalData): Promise<void> {
    // Applied strictly in arrival order: a candidate must not overtake the offer it belongs to.
    const next = this.#signals.then(() => this.#apply(from, data));
    this.#signals = next.catch((error: unknown) => {
      this.#log.error(`signal from ${from} failed`, error);
      this.events.emit(
        SessionEvent.Error,
        from,
        error instanceof Error ? error : new Error(String(error)),
      );
    });
    return next;
  }

  async setLocalTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    this.#local[kind] = track;
    const transceiver = this.#transceivers[kind];
    if (!transceiver || this.#closed) return; // picked up when the transceiver is adopted
    await transceiver.sender.replaceTrack(track);
    if (kind === 'video') await this.#applyBitrate();
  }

  async setMaxVideoBitrate(bps: number): Promise<void> {
    this.#maxVideoBitrate = bps;
    await this.#applyBitrate();
  }

  /** One connection carries both directions: the peer's reports for ours, our receipt for theirs. */
  async networkQuality(): Promise<SessionQuality> {
    const pc = this.#pc;
    const peer = this.#peer;
    if (!pc || peer === undefined || this.#closed) {
      return { local: NetworkQuality.Unknown, remote: new Map() };
    }
    const snapshot = readStats(await pc.getStats());
    const down = isDown(pc.connectionState);
    const received = this.#received.next(snapshot);
    return {
      local: scoreLink(uplinkMetrics(snapshot, down)),
      remote: new Map([[peer, scoreLink(downlinkMetrics(received, snapshot.pairRtt, down))]]),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchdog?.close();
    const clock = this.options.clock ?? systemClock;
    if (this.#audioTimer !== undefined) clock.clearTimeout(this.#audioTimer);
    if (this.#offerTimer !== undefined) clock.clearTimeout(this.#offerTimer);
    if (this.#keyFrameTimer !== undefined) clock.clearTimeout(this.#keyFrameTimer);
    this.#offerTimer = undefined;
    this.#keyFrameTimer = undefined;
    const pc = this.#pc;
    if (pc) {
      pc.onnegotiationneeded = null;
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.onsignalingstatechange = null;
      pc.close();
    }
    this.#transceivers = {};
    this.#remoteAudio = undefined;
    this.#earlyCandidates = [];
    this.events.removeAllListeners();
  }

  async #negotiate(): Promise<void> {
    const pc = this.#pc;
    if (!pc || this.#closed) return;
    try {
      this.#makingOffer = true;
      // A first offer goes out as the peer joins; a later one (an ICE restart) may meet a dead
      // socket, so it is watched for its answer.
      const renegotiation = pc.remoteDescription !== null;
      await pc.setLocalDescription();
      this.#sendDescription(pc);
      if (renegotiation && pc.signalingState === 'have-local-offer') this.#awaitAnswer(pc);
    } catch (error) {
      this.#log.error('creating an offer failed', error);
      this.events.emit(SessionEvent.Error, this.#peer!, toError(error));
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Sends our unanswered offer again, as it is (with the candidates gathered since). */
  #offerAgain(pc: RTCPeerConnection): void {
    if (this.#closed || this.#makingOffer || pc.signalingState !== 'have-local-offer') return;
    this.#sendDescription(pc);
    this.#awaitAnswer(pc);
  }

  #awaitAnswer(pc: RTCPeerConnection): void {
    const clock = this.options.clock ?? systemClock;
    if (this.#offerTimer !== undefined) clock.clearTimeout(this.#offerTimer);
    const offer = pc.localDescription?.sdp;
    this.#offerTimer = clock.setTimeout(() => {
      this.#offerTimer = undefined;
      if (this.#closed || pc.signalingState !== 'have-local-offer') return;
      if (pc.localDescription?.sdp !== offer) return; // a newer offer has its own timer
      this.#log.info(`our offer had no answer in ${OFFER_ANSWER_TIMEOUT_MS} ms: sending it again`);
      this.#offerAgain(pc);
    }, OFFER_ANSWER_TIMEOUT_MS);
  }

  async #apply(from: string, data: SignalData): Promise<void> {
    const pc = this.#pc;
    if (this.#closed || !pc) return;
    if (from !== this.#peer) {
      this.#log.warn(`ignoring signal from ${from}, who is not the peer of this session`);
      return;
    }
    const { description, candidate } = data;
    if (description) {
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      this.#ignoreOffer = !this.#polite && collision;
      if (this.#ignoreOffer) {
        this.#log.debug('ignoring a colliding offer (impolite side)');
        return;
      }
      if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') {
        // A second answer to an offer we sent twice (see #offerAgain), or one that came late.
        this.#log.debug('ignoring an answer with no offer of ours pending');
        return;
      }
      this.#settingRemoteAnswer = description.type === 'answer';
      await pc.setRemoteDescription(description as RTCSessionDescriptionInit);
      this.#settingRemoteAnswer = false;
      if (this.#closed) return;
      if (description.type === 'offer') {
        // The transceivers the offer made bring the peer's media (recvonly); we send on our own.
        await pc.setLocalDescription();
        this.#sendDescription(pc);
        this.#addOwnTransceivers(pc);
      }
      const early = this.#earlyCandidates.splice(0);
      for (const c of early) await this.#addCandidate(pc, c);
    } else if (candidate) {
      if (!pc.remoteDescription) {
        // ICE that overtook the description it belongs to waits for it.
        this.#earlyCandidates.push(candidate as RTCIceCandidateInit);
        return;
      }
      await this.#addCandidate(pc, candidate as RTCIceCandidateInit);
    }
  }

  async #addCandidate(pc: RTCPeerConnection, candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored are expected to fail.
      if (!this.#ignoreOffer) throw error;
    }
  }

  /**
   * Polls when the peer's audio last arrived (getSynchronizationSources: cheap, no getStats). Audio
   * flows all the time in a call (silence too), so a second without any, then audio again, means
   * the path was down and is back: our video then restarts its encoding as after a reconnection.
   */
  #watchAudio(): void {
    const clock = this.options.clock ?? systemClock;
    const poll = (): void => {
      if (this.#closed) return;
      const latest = lastAudioAt(this.#remoteAudio);
      if (latest !== undefined && latest !== this.#lastAudio) {
        if (this.#quietPolls >= AUDIO_GAP_POLLS && this.#lastAudio !== undefined) {
          this.#log.info('audio from the peer is back after a gap: the path was down');
          // A suspicion cleared sends the keyframe through the watchdog's recovered hook.
          if (!this.#watchdog?.cleared()) this.#keyFramesAfterOutage();
        }
        this.#lastAudio = latest;
        this.#quietPolls = 0;
      } else if (latest !== undefined) {
        this.#quietPolls++;
        if (this.#quietPolls === AUDIO_GAP_POLLS && this.#peerAudio && this.#peer !== undefined) {
          this.#log.info(`no audio from ${this.#peer} for a second: the path may be dead`);
          this.#watchdog?.suspect();
          this.events.emit(SessionEvent.MediaStalled, this.#peer);
          if (this.#closed) return;
        }
      }
      this.#audioTimer = clock.setTimeout(poll, AUDIO_POLL_MS);
    };
    this.#audioTimer = clock.setTimeout(poll, AUDIO_POLL_MS);
  }

  /**
   * A keyframe now, and one more a moment later: right after an outage the sender's pacer still
   * holds stale packets and its bandwidth estimate is low, so the first keyframe may reach the
   * peer incomplete, and its decoder would then wait ~3 s to ask for another.
   */
  #keyFramesAfterOutage(): void {
    void this.#sendKeyFrame();
    const clock = this.options.clock ?? systemClock;
    if (this.#keyFrameTimer !== undefined) clock.clearTimeout(this.#keyFrameTimer);
    this.#keyFrameTimer = clock.setTimeout(() => {
      this.#keyFrameTimer = undefined;
      void this.#sendKeyFrame();
    }, SECOND_KEYFRAME_MS);
  }

  /**
   * The path is back: the peer's decoder lost the reference frames sent meanwhile, and Chromium's
   * receiver asks for a keyframe only after ~3 s without a decodable frame. Pausing and resuming
   * the video encoding makes the encoder start over with a keyframe at once.
   */
  async #sendKeyFrame(): Promise<void> {
    const sender = this.#transceivers.video?.sender;
    if (!sender?.track || this.#closed) return;
    try {
      for (const active of [false, true]) {
        const params = sender.getParameters();
        const [encoding] = params.encodings ?? [];
        if (!encoding) return;
        encoding.active = active;
        await sender.setParameters(params);
      }
      this.#log.debug('video encoding restarted after the connection came back');
    } catch (error) {
      this.#log.debug('restarting the video encoding failed', error);
    }
  }

  async #applyBitrate(): Promise<void> {
    const sender = this.#transceivers.video?.sender;
    if (!sender || this.#closed) return;
    try {
      const params = sender.getParameters();
      const [encoding] = params.encodings ?? [];
      if (!encoding) return;
      if (
        encoding.maxBitrate === this.#maxVideoBitrate &&
        params.degradationPreference === 'maintain-resolution'
      ) {
        return;
      }
      encoding.maxBitrate = this.#maxVideoBitrate;
      // The chosen quality is a resolution (as TRTC's profiles are): keep it while the bandwidth
      // estimate ramps up, instead of starting at a fraction of it for the first half minute.
      params.degradationPreference = 'maintain-resolution';
      await sender.setParameters(params);
    } catch (error) {
      // Before negotiation completes there may be no encodings yet; retried once stable.
      this.#log.debug('setting the video bitrate failed', error);
    }
  }

  #sendDescription(pc: RTCPeerConnection): void {
    const local = pc.localDescription;
    if (!local) return;
    this.#send({ description: { type: local.type, sdp: local.sdp } });
  }

  #send(data: SignalData): void {
    if (this.#closed || this.#peer === undefined) return;
    this.events.emit(SessionEvent.Signal, this.#peer, data);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
