// Synthetic call participants for load: Node peers (`@roamhq/wrtc`) that publish generated video
// (I420 frames with moving content) and a tone, and count the frames they receive per remote user.
// Plain JS so that both the e2e tests and bench/group.mjs use it without a TypeScript step.
//
// - `SyntheticMedia`: the media side only — one publisher connection (send-only audio + video) and
//   one subscriber connection driven by offers from an SFU — with no opinion about signalling. The
//   benchmark's baseline drives it straight against Janus.
// - `SyntheticParticipant`: a `SyntheticMedia` behind our own protocol: logs in with the SDK's
//   SignalClient over `ws`, accepts / invites / joins, publishes through `sfuPublish` +
//   `sfuTrickle`, answers `sfuOffer`s with `sfuAnswer`. SFU calls only (a synthetic peer cannot run
//   the SDK's peer-to-peer negotiation).
//
// Only ever run inside scripts/in-netns.sh (the callers check): ICE gathers on every interface.
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';
import { SignalClient } from '../../packages/calling/dist/signal/SignalClient.js';

const require = createRequire(import.meta.url);
/** @type {any} */
const wrtc = require('@roamhq/wrtc');
const { RTCPeerConnection, MediaStream } = wrtc;
const { RTCVideoSource, RTCVideoSink, RTCAudioSource } = wrtc.nonstandard;

const AUDIO_RATE = 48_000;
const AUDIO_CHUNK = AUDIO_RATE / 100; // 10 ms, the only chunk size RTCAudioSource takes

/**
 * @typedef {{type: 'offer' | 'answer', sdp: string}} Description
 * @typedef {{candidate: string, sdpMid?: string | null, sdpMLineIndex?: number | null}} Candidate
 * @typedef {{mid: string, userID: string, kind: 'audio' | 'video'}} Stream
 * @typedef {{frames: number, firstFrameAt: number | undefined, width: number, height: number}} Received
 */

/** Resolves when `predicate()` holds, checking whenever `subscribe`'s callback fires; bounded. */
function until(predicate, subscribe, timeoutMs, what) {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${what}: not within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = subscribe(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

/** A tiny change notifier: `watch(fn)` returns an unsubscribe function; `notify()` calls all. */
class Changes {
  /** @type {Set<() => void>} */
  #listeners = new Set();
  watch = (/** @type {() => void} */ fn) => {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  };
  notify() {
    for (const fn of [...this.#listeners]) fn();
  }
}

/**
 * The media of one synthetic participant: a generated camera (moving gradient with a bar, `width` ×
 * `height` at `fps`) and a 440 Hz tone, published over one connection; every remote stream received
 * over one subscriber connection, with frames counted per remote user.
 */
export class SyntheticMedia {
  /**
   * @param {{label?: string, width?: number, height?: number, fps?: number,
   *   receiveFrom?: string[]}} [options] `receiveFrom`: the only users whose streams it receives
   *   (default everyone's), as a client that shows only some tiles would
   */
  constructor({ label = 'synthetic', width = 320, height = 240, fps = 15, receiveFrom } = {}) {
    this.label = label;
    this.receiveFrom = receiveFrom && new Set(receiveFrom);
    this.width = width;
    this.height = height;
    this.fps = fps;
    /** @type {Map<string, Received>} frames received per remote userID */
    this.received = new Map();
    this.changes = new Changes();
    /** @type {Error | undefined} the first failure of a connection, if any */
    this.failure = undefined;
    /** @type {Stream[]} the streams of the latest subscriber offer */
    this.streams = [];

    this.videoSource = new RTCVideoSource();
    this.audioSource = new RTCAudioSource();
    this.videoTrack = this.videoSource.createTrack();
    this.audioTrack = this.audioSource.createTrack();
    this.framesSent = 0;
    this.#frame = new Uint8Array((width * height * 3) / 2);
    this.#samples = new Int16Array(AUDIO_CHUNK);
    this.#videoTimer = setInterval(() => this.#sendVideo(), Math.round(1000 / fps));
    this.#audioTimer = setInterval(() => this.#sendAudio(), 10);
    /** @type {any} */
    this.publisher = undefined;
    /** @type {any} */
    this.subscriber = undefined;
    /** @type {Set<any>} */
    this.sinks = new Set();
    this.closed = false;
  }

  #frame;
  #samples;
  #videoTimer;
  #audioTimer;
  #phase = 0;
  /** Serializes subscriber offers: each waits for the one before it. */
  #subscriberChain = Promise.resolve();

  #sendVideo() {
    const { width, height } = this;
    const y = this.#frame;
    const t = this.framesSent;
    // Luma: a diagonal gradient scrolling by 3 px per frame, plus a white bar moving down, so
    // every frame differs (the encoder does not get to skip) and a viewer could see motion.
    const bar = (t * 4) % height;
    for (let row = 0; row < height; row += 1) {
      const base = row * width;
      const white = row >= bar && row < bar + 12;
      for (let col = 0; col < width; col += 1) {
        y[base + col] = white ? 235 : (col + row + t * 3) & 0xff;
      }
    }
    // Chroma: a slowly changing flat colour.
    y.fill((t * 2) & 0xff, width * height, (width * height * 5) / 4);
    y.fill(255 - ((t * 2) & 0xff), (width * height * 5) / 4);
    this.videoSource.onFrame({ width, height, data: y });
    this.framesSent += 1;
  }

  #sendAudio() {
    const samples = this.#samples;
    for (let i = 0; i < samples.length; i += 1) {
      samples[i] = Math.round(6000 * Math.sin(this.#phase));
      this.#phase += (2 * Math.PI * 440) / AUDIO_RATE;
    }
    this.#phase %= 2 * Math.PI;
    this.audioSource.onData({
      samples,
      sampleRate: AUDIO_RATE,
      bitsPerSample: 16,
      channelCount: 1,
      numberOfFrames: AUDIO_CHUNK,
    });
  }

  #fail(error) {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.changes.notify();
  }

  /**
   * Creates the publisher connection (send-only audio + video) and its offer. Candidates go to
   * `onCandidate` (undefined = gathering done) once `startTrickle()` is called, so none can reach
   * the SFU before the offer did.
   * @param {(candidate: Candidate | undefined) => void} onCandidate
   * @returns {Promise<Description>}
   */
  async publisherOffer(onCandidate) {
    if (this.publisher) throw new Error(`${this.label}: already publishing`);
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    this.publisher = pc;
    const stream = new MediaStream([this.audioTrack, this.videoTrack]);
    pc.addTransceiver(this.audioTrack, { direction: 'sendonly', streams: [stream] });
    pc.addTransceiver(this.videoTrack, { direction: 'sendonly', streams: [stream] });
    this.publisherTrickle = trickleGate(pc, onCandidate);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed')
        this.#fail(new Error(`${this.label}: publisher ICE failed`));
      this.changes.notify();
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return { type: 'offer', sdp: pc.localDescription.sdp };
  }

  /** Applies the SFU's answer to the publisher offer and starts trickling its candidates. */
  async publisherAnswer(/** @type {Description} */ answer) {
    await this.publisher.setRemoteDescription(answer);
    this.publisherTrickle.open();
  }

  /** Resolves once the publisher connection is connected (the SFU then has our media). */
  async publisherConnected(timeoutMs = 15_000) {
    const pc = this.publisher;
    if (!pc) throw new Error(`${this.label}: not publishing`);
    await until(
      () => this.failure !== undefined || pc.connectionState === 'connected',
      this.changes.watch,
      timeoutMs,
      `${this.label}: publisher connected (is ${pc.connectionState})`,
    );
    if (this.failure) throw this.failure;
  }

  /**
   * Answers an SFU offer for the subscriber connection (creating it on the first one). `streams`
   * maps mids to remote users; frames of each video are counted under its userID. Offers are
   * handled one at a time in arrival order.
   * @param {Description} offer
   * @param {Stream[]} streams
   * @param {(candidate: Candidate | undefined) => void} onCandidate
   * @param {(answer: Description) => Promise<void>} sendAnswer delivers the answer to the SFU
   */
  answerSubscriber(offer, streams, onCandidate, sendAnswer) {
    const run = this.#subscriberChain.then(async () => {
      if (this.closed) return;
      let pc = this.subscriber;
      if (!pc) {
        pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
        this.subscriber = pc;
        this.subscriberTrickle = trickleGate(pc, onCandidate);
        pc.ontrack = (event) => this.#onTrack(event);
        pc.onconnectionstatechange = () => {
          if (pc.connectionState === 'failed') {
            this.#fail(new Error(`${this.label}: subscriber ICE failed`));
          }
          this.changes.notify();
        };
      }
      this.streams = streams;
      await pc.setRemoteDescription(offer);
      if (this.receiveFrom) {
        // Streams of users it does not show are declined in the answer, so the SFU never sends them.
        for (const t of pc.getTransceivers()) {
          const userID = t.mid === null ? undefined : this.userOfMid(t.mid);
          if (userID) t.direction = this.receiveFrom.has(userID) ? 'recvonly' : 'inactive';
        }
      }
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await sendAnswer({ type: 'answer', sdp: pc.localDescription.sdp });
      this.subscriberTrickle.open();
      // Tracks of an updated offer may have been announced before `streams` changed: re-map.
      for (const t of pc.getTransceivers()) this.#watchVideo(t);
      this.changes.notify();
    });
    this.#subscriberChain = run.catch((error) => this.#fail(error));
    return run;
  }

  /** The userID a subscriber mid carries, per the latest offer's `streams`. */
  userOfMid(mid) {
    return this.streams.find((s) => s.mid === mid)?.userID;
  }

  #onTrack(event) {
    this.#watchVideo(event.transceiver);
  }

  /** One sink per received video track, counting frames under the userID its mid carries. */
  #watchVideo(transceiver) {
    const track = transceiver.receiver.track;
    if (!track || track.kind !== 'video' || track.__ringlineSink) return;
    const mid = transceiver.mid;
    const sink = new RTCVideoSink(track);
    track.__ringlineSink = sink;
    this.sinks.add(sink);
    sink.onframe = ({ frame }) => {
      const userID = this.userOfMid(mid);
      if (!userID) return;
      let r = this.received.get(userID);
      if (!r) {
        r = { frames: 0, firstFrameAt: undefined, width: 0, height: 0 };
        this.received.set(userID, r);
      }
      r.frames += 1;
      r.firstFrameAt ??= Date.now();
      r.width = frame.width;
      r.height = frame.height;
      this.changes.notify();
    };
  }

  /** Frames received so far from `userID`'s video. */
  framesOf(userID) {
    return this.received.get(userID)?.frames ?? 0;
  }

  /** Resolves once `by` more frames of `userID` arrived than when called; rejects on failure. */
  async expectFramesRising(userID, { by = 10, timeoutMs = 15_000 } = {}) {
    const before = this.framesOf(userID);
    await until(
      () => this.failure !== undefined || this.framesOf(userID) >= before + by,
      this.changes.watch,
      timeoutMs,
      `${this.label}: ${by} more frames of ${userID} (had ${before}, now ${this.framesOf(userID)})`,
    );
    if (this.failure) throw this.failure;
    return { before, after: this.framesOf(userID) };
  }

  /** Closes both connections, stops the generators and sinks; idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.#videoTimer);
    clearInterval(this.#audioTimer);
    for (const sink of this.sinks) sink.stop();
    this.sinks.clear();
    this.publisher?.close();
    this.subscriber?.close();
    this.videoTrack.stop();
    this.audioTrack.stop();
    this.changes.notify();
  }
}

/**
 * Holds a connection's ICE candidates until `open()` (the SFU must have the description first),
 * then forwards them as they come; `undefined` marks the end of gathering.
 */
function trickleGate(pc, send) {
  /** @type {(Candidate | undefined)[] | undefined} */
  let queue = [];
  pc.onicecandidate = ({ candidate }) => {
    const c = candidate
      ? {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
        }
      : undefined;
    if (queue) queue.push(c);
    else send(c);
  };
  return {
    open() {
      if (!queue) return;
      const pending = queue;
      queue = undefined;
      for (const c of pending) send(c);
    },
  };
}

/**
 * One synthetic participant on a Ringline server: a real session (the SDK's SignalClient over
 * `ws`) plus `SyntheticMedia`. Remembers every push it got, so a test can wait for one that came
 * before it asked.
 */
export class SyntheticParticipant {
  /**
   * Logs `userID` in to the server at `serverUrl` (http://host:port).
   * @param {{serverUrl: string, sdkAppID: number, userID: string, userSig: string,
   *   width?: number, height?: number, fps?: number, receiveFrom?: string[]}} options
   */
  static async login(options) {
    const { serverUrl, sdkAppID, userID, userSig } = options;
    const client = new SignalClient({
      url: serverUrl.replace(/^http/, 'ws') + '/ws',
      WebSocket: /** @type {any} */ (WebSocket),
      reconnect: { maxAttempts: 0 },
    });
    const participant = new SyntheticParticipant(client, userID, options);
    try {
      await client.connect({ sdkAppID, userID, userSig });
    } catch (error) {
      await participant.close();
      throw error;
    }
    return participant;
  }

  /** @type {{type: string, seq: number, [key: string]: any}[]} every push received, in order */
  pushes = [];
  changes = new Changes();
  /** @type {string | undefined} the call this participant is in */
  callID = undefined;
  /** @type {SyntheticMedia | undefined} */
  media = undefined;
  /** @type {number | undefined} when accept/join was sent (ms since the epoch) */
  joinSentAt = undefined;
  /** @type {Error[]} failures of background work (answering offers, trickling) */
  errors = [];
  /** @type {Promise<void> | undefined} */
  closing = undefined;

  /** @private */
  constructor(client, userID, options) {
    this.client = client;
    this.userID = userID;
    this.mediaOptions = {
      width: options.width,
      height: options.height,
      fps: options.fps,
      receiveFrom: options.receiveFrom,
    };
    for (const type of [
      'invited',
      'inviteEnded',
      'rejected',
      'lineBusy',
      'noResponse',
      'userEnter',
      'userLeave',
      'mediaState',
      'callEnded',
      'inviteeListUpdate',
      'mediaMode',
      'sfuOffer',
      'kicked',
    ]) {
      client.pushes.on(type, (push) => {
        this.pushes.push({ type, ...push });
        if (type === 'sfuOffer') this.#onSfuOffer(push);
        if (type === 'callEnded' && push.callID === this.callID) this.#endMedia();
        this.changes.notify();
      });
    }
  }

  /**
   * Resolves with the first push of `type` matching `where` (also one that already came).
   * @param {string} type
   * @param {(push: any) => boolean} [where]
   */
  async waitForPush(type, where = () => true, timeoutMs = 15_000) {
    const find = () => this.pushes.find((p) => p.type === type && where(p));
    await until(
      () => find() !== undefined,
      this.changes.watch,
      timeoutMs,
      `${this.userID}: push ${type} (got ${this.pushes.map((p) => p.type).join(', ') || 'none'})`,
    );
    return find();
  }

  /** Sends a request of our protocol; rejects with the SDK's CallError (with `code`). */
  request(type, fields, options) {
    return this.client.request(type, fields, options);
  }

  /**
   * Invites users (into a new call, or with `callID` into this one); SFU calls only.
   * @param {{userIDList: string[], callType?: 1 | 2, groupID?: string, timeout?: number,
   *   callID?: string}} params
   */
  async invite({ userIDList, callType = 2, groupID, timeout, callID }) {
    if (callID === undefined) this.joinSentAt = Date.now();
    const result = await this.request(
      'invite',
      {
        userIDList,
        callType,
        ...(groupID === undefined ? {} : { groupID }),
        ...(timeout === undefined ? {} : { timeout }),
        ...(callID === undefined ? {} : { callID }),
      },
      // A new call is ours as soon as the reply is read: pushes right behind it are for it.
      callID === undefined ? { onReply: (r) => this.#entered(r.callID) } : {},
    );
    if (callID === undefined && result.media === 'sfu') await this.publish();
    return result;
  }

  /** Accepts the ringing invitation (waiting for it if needed) and publishes to the SFU. */
  async accept({ timeoutMs = 15_000 } = {}) {
    const invited = await this.waitForPush('invited', () => true, timeoutMs);
    this.joinSentAt = Date.now();
    const joined = await this.request(
      'accept',
      { inviteID: invited.inviteID },
      { onReply: (r) => this.#entered(r.callID) },
    );
    await this.#joined(joined);
    return joined;
  }

  /** Joins a group's ongoing call without an invitation, then publishes. */
  async join(groupID, callType = 2) {
    this.joinSentAt = Date.now();
    const joined = await this.request(
      'join',
      { groupID, callType },
      { onReply: (r) => this.#entered(r.callID) },
    );
    await this.#joined(joined);
    return joined;
  }

  /**
   * Runs synchronously as the invite/accept/join reply is read, before any frame behind it: the
   * server pushes a newcomer's first `sfuOffer` (everyone already publishing) right after the
   * reply, and an offer for a call we do not know yet would be dropped — and never answered, which
   * leaves the SFU unable to offer this subscriber anything again.
   */
  #entered(callID) {
    this.callID = callID;
  }

  async #joined(joined) {
    if (joined.media !== 'sfu') {
      throw new Error(
        `${this.userID}: call ${joined.callID} is ${joined.media}; synthetic peers take SFU calls only`,
      );
    }
    await this.publish();
  }

  /** Publishes the generated camera and tone to the call's SFU room. */
  async publish() {
    const callID = this.callID;
    const media = this.#mediaFor();
    const offer = await media.publisherOffer((candidate) =>
      this.#trickle(callID, 'publisher', candidate),
    );
    const { description } = await this.request('sfuPublish', { callID, description: offer });
    await media.publisherAnswer(description);
  }

  #mediaFor() {
    this.media ??= new SyntheticMedia({ label: this.userID, ...definedOnly(this.mediaOptions) });
    return this.media;
  }

  #onSfuOffer(push) {
    if (push.callID !== this.callID) return;
    const callID = push.callID;
    this.#mediaFor()
      .answerSubscriber(
        push.description,
        push.streams,
        (candidate) => this.#trickle(callID, 'subscriber', candidate),
        async (description) => {
          await this.request('sfuAnswer', { callID, description });
        },
      )
      .catch((error) => this.#error(error));
  }

  #trickle(callID, target, candidate) {
    if (this.client.state !== 'connected' || callID !== this.callID) return;
    this.request('sfuTrickle', { callID, target, ...(candidate ? { candidate } : {}) }).catch(
      (error) => this.#error(error),
    );
  }

  #error(error) {
    // A call that ended under an in-flight request is not a failure of the participant.
    if (this.callID === undefined || this.client.state !== 'connected') return;
    this.errors.push(error instanceof Error ? error : new Error(String(error)));
    this.changes.notify();
  }

  #endMedia() {
    this.callID = undefined;
    this.media?.close();
    this.media = undefined;
  }

  /** Frames received so far from `userID`'s video. */
  framesOf(userID) {
    return this.media?.framesOf(userID) ?? 0;
  }

  /** Waits for `by` more frames of `userID`; fails early if the media or signalling failed. */
  async expectFramesRising(userID, options) {
    if (!this.media) throw new Error(`${this.userID}: not in a call`);
    if (this.errors.length > 0) throw this.errors[0];
    return this.media.expectFramesRising(userID, options);
  }

  /** Leaves the call (if in one) and keeps the session. */
  async hangup() {
    const callID = this.callID;
    if (callID === undefined) return;
    this.#endMedia();
    await this.request('hangup', { callID });
  }

  /**
   * Ends media, logs out (bounded: the server then ends the session at once instead of keeping
   * it for a resume) and closes the connection; idempotent, never throws.
   */
  close() {
    this.closing ??= (async () => {
      this.#endMedia();
      if (this.client.state === 'connected') {
        await this.client.request('logout', {}, { timeoutMs: 2_000 }).catch(() => undefined);
      }
      this.client.close();
    })();
    return this.closing;
  }
}

function definedOnly(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}
