/**
 * Test support: a real media backend for Node, with @roamhq/wrtc (libwebrtc). getUserMedia gives
 * generated tracks (moving I420 video at the asked size, silent audio) and sessions are the SDK's
 * own P2PSession / SfuSession over wrtc's RTCPeerConnection, so media really flows.
 * Only for use inside the test network namespace (scripts/in-netns.sh).
 */
import { createRequire } from 'node:module';
import { MediaMode } from '@ringline/protocol';
import type { MediaBackend } from '../media/MediaBackend.js';
import type { MediaSession, SessionOptions } from '../media/MediaSession.js';
import { P2PSession } from '../media/P2PSession.js';
import { SfuSession } from '../media/SfuSession.js';

interface WrtcTrack extends MediaStreamTrack {
  readonly readyState: MediaStreamTrackState;
}
interface VideoSink {
  onframe: ((event: { frame: { width: number; height: number } }) => void) | null;
  stop(): void;
}
interface Wrtc {
  RTCPeerConnection: typeof RTCPeerConnection;
  MediaStream: new (tracks: MediaStreamTrack[]) => MediaStream;
  nonstandard: {
    RTCVideoSource: new () => {
      createTrack(): WrtcTrack;
      onFrame(frame: { width: number; height: number; data: Uint8Array }): void;
    };
    RTCAudioSource: new () => {
      createTrack(): WrtcTrack;
      onData(data: { samples: Int16Array; sampleRate: number }): void;
    };
    RTCVideoSink: new (track: MediaStreamTrack) => VideoSink;
  };
}

export const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;

/**
 * wrtc's RTCPeerConnection with the one spec feature it lacks and P2PSession uses (perfect
 * negotiation): `setLocalDescription()` without a description makes the offer or answer itself.
 */
class PeerConnection extends wrtc.RTCPeerConnection {
  override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    if (description) return super.setLocalDescription(description);
    const made =
      this.signalingState === 'have-remote-offer'
        ? await this.createAnswer()
        : await this.createOffer();
    return super.setLocalDescription(made);
  }
}

function ideal(value: ConstrainULong | undefined, fallback: number): number {
  if (typeof value === 'number') return value;
  return (
    (value && typeof value === 'object' && typeof value.ideal === 'number' && value.ideal) ||
    fallback
  );
}

export class WrtcMediaBackend implements MediaBackend {
  readonly #timers = new Set<ReturnType<typeof setInterval>>();
  readonly sessions: MediaSession[] = [];
  /** Every peer connection the sessions made, in order (their state and getStats). */
  readonly peerConnections: RTCPeerConnection[] = [];

  unsupported(): string | undefined {
    return undefined;
  }

  async captureAllowed(): Promise<boolean> {
    return true;
  }

  async getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
    const tracks: MediaStreamTrack[] = [];
    if (constraints.audio) {
      const source = new wrtc.nonstandard.RTCAudioSource();
      const track = source.createTrack();
      const samples = new Int16Array(480);
      this.#feed(track, 10, () => source.onData({ samples, sampleRate: 48_000 }));
      tracks.push(track);
    }
    if (constraints.video) {
      const wanted = typeof constraints.video === 'object' ? constraints.video : {};
      // Even sizes, as I420 needs.
      const width = ideal(wanted.width, 640) & ~1;
      const height = ideal(wanted.height, 480) & ~1;
      const source = new wrtc.nonstandard.RTCVideoSource();
      const track = source.createTrack();
      const data = new Uint8Array(width * height * 1.5);
      let n = 0;
      this.#feed(track, 1000 / 15, () => {
        // Moving content keeps the encoder producing real frames.
        n++;
        data.fill(16 + (n % 200), 0, width * height);
        data.fill(16 + ((n * 7) % 200), 0, Math.min(width * height, (n % height) * width));
        data.fill(128, width * height);
        source.onFrame({ width, height, data });
      });
      tracks.push(track);
    }
    return new wrtc.MediaStream(tracks);
  }

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    return [];
  }

  createSession(options: SessionOptions): MediaSession {
    const made = this.peerConnections;
    // Recorded as they are made, whichever session makes them.
    const Recorded = class extends PeerConnection {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.push(this as unknown as RTCPeerConnection);
      }
    } as unknown as typeof RTCPeerConnection;
    const session =
      options.media === MediaMode.SFU
        ? new SfuSession(options, Recorded)
        : new P2PSession(options, Recorded);
    this.sessions.push(session);
    return session;
  }

  /** Stops every generator. */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
  }

  #feed(track: WrtcTrack, everyMs: number, produce: () => void): void {
    const timer = setInterval(() => {
      if (track.readyState === 'ended') {
        clearInterval(timer);
        this.#timers.delete(timer);
        return;
      }
      produce();
    }, everyMs);
    this.#timers.add(timer);
  }
}

/** Counts decoded frames of remote video tracks, per user, and the size of the latest one. */
export class FrameCounter {
  readonly #sinks: VideoSink[] = [];
  readonly #byUser = new Map<string, { frames: number; width: number; height: number }>();

  /** Starts counting `track`'s frames as `userID`'s (a later track of the same user adds up). */
  add(userID: string, track: MediaStreamTrack): void {
    if (track.kind !== 'video') return;
    const sink = new wrtc.nonstandard.RTCVideoSink(track);
    this.#sinks.push(sink);
    sink.onframe = ({ frame }) => {
      const entry = this.#byUser.get(userID) ?? { frames: 0, width: 0, height: 0 };
      entry.frames++;
      entry.width = frame.width;
      entry.height = frame.height;
      this.#byUser.set(userID, entry);
    };
  }

  frames(userID: string): number {
    return this.#byUser.get(userID)?.frames ?? 0;
  }

  width(userID: string): number {
    return this.#byUser.get(userID)?.width ?? 0;
  }

  close(): void {
    for (const sink of this.#sinks.splice(0)) sink.stop();
  }
}
