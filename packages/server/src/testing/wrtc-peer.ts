/**
 * A call member's media for server tests, with @roamhq/wrtc: publishes generated audio and video
 * through the server's `sfuPublish`/`sfuTrickle`, and receives the SFU's subscriber offers through
 * `sfuAnswer`, counting decoded video frames per remote user. Everything goes through the
 * signalling client, as the browser SDK's would: the test never talks to Janus.
 * Only for use inside the test network namespace (scripts/in-netns.sh).
 */
import type { PushOf, TestClient } from './client.js';

import {
  mediaBytes,
  wrtc,
  type Candidate,
  type PeerConnection,
  type Track,
  type Transceiver,
  type VideoSink,
} from './wrtc.js';

/** The fields of a wrtc candidate that the protocol carries (its schema is strict). */
function toWire(c: Candidate | null) {
  if (!c) return undefined;
  const out: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } = {
    candidate: c.candidate,
  };
  if (c.sdpMid !== undefined) out.sdpMid = c.sdpMid;
  if (c.sdpMLineIndex !== undefined) out.sdpMLineIndex = c.sdpMLineIndex;
  return out;
}

export class MediaPeer {
  #publisher: PeerConnection | undefined;
  #subscriber: PeerConnection | undefined;
  readonly #tracks: Track[] = [];
  readonly #sinks: VideoSink[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #streams = new Map<string, string>();
  /** Decoded video frames per remote user. */
  readonly frames = new Map<string, number>();
  readonly #waiters: Array<{ userID: string; n: number; resolve: () => void }> = [];
  /** Every `sfuOffer` applied, in order. */
  readonly offers: PushOf<'sfuOffer'>[] = [];
  readonly #offerWaiters: Array<{
    match: (o: PushOf<'sfuOffer'>) => boolean;
    resolve: () => void;
  }> = [];
  #closed = false;
  /** Pre-connect: the senders and the tracks they get at `attach()`. */
  #held: Array<[Transceiver['sender'], Track]> | undefined;

  constructor(
    readonly client: TestClient,
    readonly callID: string,
  ) {}

  /**
   * Publishes generated audio and video (320x240, 15 fps) and resolves once the SFU answered.
   * `held` (pre-connect, as a ringing invitee's SDK does): the senders have no tracks until
   * `attach()`.
   */
  async publish({ held = false }: { held?: boolean } = {}): Promise<void> {
    this.#held = undefined;
    const pc = (this.#publisher = new wrtc.RTCPeerConnection());
    const video = new wrtc.nonstandard.RTCVideoSource();
    const audio = new wrtc.nonstandard.RTCAudioSource();
    const videoTrack = video.createTrack();
    const audioTrack = audio.createTrack();
    this.#tracks.push(videoTrack, audioTrack);
    const a = pc.addTransceiver(held ? 'audio' : audioTrack, { direction: 'sendonly' });
    const v = pc.addTransceiver(held ? 'video' : videoTrack, { direction: 'sendonly' });
    if (held) {
      this.#held = [
        [a.sender, audioTrack],
        [v.sender, videoTrack],
      ];
    }
    pc.onicecandidate = ({ candidate }) => this.#trickle('publisher', candidate);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const { description } = await this.client.call('sfuPublish', {
      callID: this.callID,
      description: offer,
    });
    await pc.setRemoteDescription(description);

    const width = 320;
    const height = 240;
    const data = new Uint8Array(width * height * 1.5);
    let frame = 0;
    this.#timers.push(
      setInterval(() => {
        // Moving content, so the encoder keeps producing real frames.
        frame++;
        data.fill(16 + (frame % 200), 0, width * height);
        data.fill(128, width * height);
        video.onFrame({ width, height, data });
      }, 1000 / 15),
    );
    const samples = new Int16Array(480);
    this.#timers.push(setInterval(() => audio.onData({ samples, sampleRate: 48_000 }), 10));
  }

  /**
   * Answers every `sfuOffer` the member gets from now on, as the SDK does (the SFU sends the next
   * offer only once the previous one is answered).
   */
  follow(): void {
    const loop = async () => {
      while (!this.#closed) {
        const offer = await this.client.waitForPush(
          'sfuOffer',
          (p) => p.callID === this.callID,
          600_000,
        );
        if (this.#closed) return;
        await this.receive(offer);
        this.offers.push(offer);
        for (let i = this.#offerWaiters.length - 1; i >= 0; i--) {
          const w = this.#offerWaiters[i]!;
          if (w.match(offer)) {
            this.#offerWaiters.splice(i, 1);
            w.resolve();
          }
        }
      }
    };
    // Ends when the connection closes.
    loop().catch(() => {});
  }

  /** `sfuReset` pushes handled so far. */
  resets = 0;

  /**
   * Handles every `sfuReset` from now on as the SDK does: both connections are dropped, and the
   * media is published again if it was, held if it still was (the subscriber comes back with the
   * next `sfuOffer`).
   */
  followResets(): void {
    const loop = async () => {
      while (!this.#closed) {
        await this.client.waitForPush('sfuReset', (p) => p.callID === this.callID, 600_000);
        if (this.#closed) return;
        const wasPublishing = this.#publisher !== undefined;
        const held = this.#held !== undefined && this.#held.length > 0;
        this.#dropMedia();
        this.resets++;
        if (wasPublishing) await this.publish({ held });
      }
    };
    // Ends when the connection closes.
    loop().catch(() => {});
  }

  /** Resolves with the first offer applied (by `follow`) that matches; rejects after `timeoutMs`. */
  async offer(
    match: (o: PushOf<'sfuOffer'>) => boolean,
    timeoutMs = 20_000,
  ): Promise<PushOf<'sfuOffer'>> {
    const seen = this.offers.find(match);
    if (seen) return seen;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const got = this.offers.map((o) => o.streams.map((s) => s.userID).join('+')).join(', ');
        reject(
          new Error(
            `${this.client.userID}: no matching sfuOffer within ${timeoutMs} ms (got: ${got || 'none'})`,
          ),
        );
      }, timeoutMs);
      this.#offerWaiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    return [...this.offers].reverse().find(match)!;
  }

  /** Applies an `sfuOffer` to this member's subscriber connection and answers it. */
  async receive(offer: PushOf<'sfuOffer'>): Promise<void> {
    let pc = this.#subscriber;
    if (!pc) {
      pc = this.#subscriber = new wrtc.RTCPeerConnection();
      pc.onicecandidate = ({ candidate }) => this.#trickle('subscriber', candidate);
      pc.ontrack = ({ track, transceiver }) => {
        if (track.kind !== 'video') return;
        const sink = new wrtc.nonstandard.RTCVideoSink(track);
        this.#sinks.push(sink);
        sink.onframe = () => {
          // Looked up per frame: a later offer may give the mid to another publisher.
          const userID = transceiver.mid === null ? undefined : this.#streams.get(transceiver.mid);
          if (userID !== undefined) this.#count(userID);
        };
      };
    }
    this.#streams = new Map(offer.streams.map((s) => [s.mid, s.userID]));
    await pc.setRemoteDescription(offer.description);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.client.call('sfuAnswer', { callID: this.callID, description: answer });
  }

  /** Resolves once `n` video frames from `userID` were decoded; rejects after `timeoutMs`. */
  framesFrom(userID: string, n: number, timeoutMs = 20_000): Promise<void> {
    if ((this.frames.get(userID) ?? 0) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.client.userID}: ${this.frames.get(userID) ?? 0} of ${n} frames from ${userID} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        userID,
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** A held publisher's tracks go on its senders: replaceTrack, no renegotiation. */
  async attach(): Promise<void> {
    for (const [sender, track] of this.#held?.splice(0) ?? []) await sender.replaceTrack(track);
  }

  /** Both connections' state, once made (`new` before). */
  get states(): { publisher: string; subscriber: string } {
    return {
      publisher: this.#publisher?.connectionState ?? 'none',
      subscriber: this.#subscriber?.connectionState ?? 'none',
    };
  }

  /** Media bytes (getStats) sent by the publisher and received by the subscriber, in total. */
  async bytes(): Promise<{ sent: number; received: number }> {
    const [pub, sub] = await Promise.all(
      [this.#publisher, this.#subscriber].map((pc) =>
        pc ? mediaBytes(pc) : { sent: 0, received: 0 },
      ),
    );
    return { sent: pub!.sent + sub!.sent, received: pub!.received + sub!.received };
  }

  close(): void {
    this.#closed = true;
    this.#dropMedia();
  }

  #dropMedia(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    for (const s of this.#sinks.splice(0)) s.stop();
    for (const t of this.#tracks.splice(0)) t.stop();
    this.#publisher?.close();
    this.#subscriber?.close();
    this.#publisher = undefined;
    this.#subscriber = undefined;
  }

  #count(userID: string): void {
    const n = (this.frames.get(userID) ?? 0) + 1;
    this.frames.set(userID, n);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.userID === userID && n >= w.n) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  #trickle(target: 'publisher' | 'subscriber', candidate: Candidate | null): void {
    const fields: {
      callID: string;
      target: typeof target;
      candidate?: NonNullable<ReturnType<typeof toWire>>;
    } = { callID: this.callID, target };
    const wire = toWire(candidate);
    if (wire) fields.candidate = wire;
    // The call may be over by the time the last candidates come out.
    this.client.call('sfuTrickle', fields).catch(() => {});
  }
}
