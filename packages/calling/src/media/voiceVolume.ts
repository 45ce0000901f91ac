import type { VoiceVolume } from '../events/TRTCCallingEvent.js';

/** TRTC evaluates volumes every 1000 ms in trtc-calling-js 1.0.6 (`enableAudioVolumeEvaluation`). */
export const VOICE_VOLUME_INTERVAL_MS = 1000;

/** Below this level (dBFS) a voice counts as silence (0); 0 dBFS is 100. */
const FLOOR_DB = -60;

/**
 * The 0–100 volume of a block of samples (-1…1): its RMS level in dBFS, mapped linearly from
 * -60 dBFS (0) to 0 dBFS (100), which is how loud speech reads on TRTC's scale (~30–70).
 */
export function volumeFromSamples(samples: ArrayLike<number>): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(100, Math.round(((db - FLOOR_DB) / -FLOOR_DB) * 100)));
}

/**
 * The 0–100 volume of an RTP audio level (`RTCRtpSynchronizationSource.audioLevel`: linear, 0 to
 * 1 = 0 dBov), on the same scale as `volumeFromSamples`.
 */
export function volumeFromLevel(level: number): number {
  if (!(level > 0)) return 0;
  const db = 20 * Math.log10(Math.min(1, level));
  return Math.max(0, Math.min(100, Math.round(((db - FLOOR_DB) / -FLOOR_DB) * 100)));
}

type AudioContextClass = new () => AudioContext;

/**
 * Reads the volume of audio tracks (the local mic, each remote user's audio) through one
 * AudioContext with an AnalyserNode per track, for USER_VOICE_VOLUME. Nothing reaches the
 * speakers: the analysers are not connected to the destination.
 */
export class VoiceVolumeMeter {
  #context: AudioContext | undefined;
  readonly #taps = new Map<
    string,
    {
      track: MediaStreamTrack;
      source: MediaStreamAudioSourceNode;
      analyser: AnalyserNode;
      sink: HTMLAudioElement | undefined;
    }
  >();
  #buffer = new Float32Array(1024);

  /** Whether this environment can measure (a browser with Web Audio). */
  static supported(): boolean {
    return typeof (globalThis as { AudioContext?: unknown }).AudioContext === 'function';
  }

  // Tracks to measure whose tap is not made yet: a remote track is tapped once media flows.
  readonly #pending = new Map<string, MediaStreamTrack>();
  // Remote users read from their RTP receiver's stats: the level the browser decoded, no Web Audio (which
  // in Chromium may get a remote track's audio late or never).
  readonly #receivers = new Map<string, { track: MediaStreamTrack; receiver: RTCRtpReceiver }>();

  /**
   * Measures `track` as `userID`'s voice (null stops measuring that user); a remote track comes
   * with its `receiver`, whose RTP audio level is read instead.
   */
  setTrack(userID: string, track: MediaStreamTrack | null, receiver?: RTCRtpReceiver): void {
    const tap = this.#taps.get(userID);
    const known = tap?.track ?? this.#pending.get(userID) ?? this.#receivers.get(userID)?.track;
    if (known === track) return;
    if (tap) {
      release(tap);
      this.#taps.delete(userID);
    }
    this.#pending.delete(userID);
    this.#receivers.delete(userID);
    if (!track || track.kind !== 'audio' || track.readyState === 'ended') return;
    if (receiver && typeof receiver.getStats === 'function') {
      this.#receivers.set(userID, { track, receiver });
    } else {
      this.#pending.set(userID, track);
    }
  }

  // Chromium gives Web Audio silence for a remote track tapped while it is still muted (no RTP
  // yet), so each track is tapped at the first reading after it unmuted.
  #tap(userID: string, track: MediaStreamTrack): void {
    const Context = (globalThis as { AudioContext?: AudioContextClass }).AudioContext;
    if (!Context) return;
    this.#context ??= new Context();
    const stream = new MediaStream([track]);
    const source = this.#context.createMediaStreamSource(stream);
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = this.#buffer.length;
    source.connect(analyser);
    // Chromium feeds a remote WebRTC track to Web Audio only while a media element plays it
    // (crbug.com/933677): a muted, detached <audio> does, without playing anything twice.
    const doc = (globalThis as { document?: Document }).document;
    let sink: HTMLAudioElement | undefined;
    if (doc) {
      sink = doc.createElement('audio');
      sink.muted = true;
      sink.srcObject = stream;
      void sink.play().catch(() => {});
    }
    this.#taps.set(userID, { track, source, analyser, sink });
  }

  /** The current volume of each measured user. */
  async read(): Promise<VoiceVolume[]> {
    for (const [userID, track] of this.#pending) {
      if (track.readyState === 'ended') this.#pending.delete(userID);
      else if (!track.muted) {
        this.#pending.delete(userID);
        this.#tap(userID, track);
      }
    }
    const volumes: VoiceVolume[] = [];
    // A remote user's level is the receiver's inbound-rtp `audioLevel` (what the browser decoded).
    const remote = await Promise.all(
      [...this.#receivers].map(async ([userId, { track, receiver }]) => {
        let level = 0;
        if (track.readyState !== 'ended') {
          try {
            (await receiver.getStats()).forEach(
              (report: { type?: string; audioLevel?: number }) => {
                if (report.type === 'inbound-rtp' && typeof report.audioLevel === 'number') {
                  level = report.audioLevel;
                }
              },
            );
          } catch {
            // A closing connection: silence this time.
          }
        }
        return { userId, audioVolume: volumeFromLevel(level) };
      }),
    );
    volumes.push(...remote);
    for (const [userId, { track, analyser }] of this.#taps) {
      // A muted (disabled) or ended track is silence, whatever the analyser still holds.
      if (!track.enabled || track.readyState === 'ended') {
        volumes.push({ userId, audioVolume: 0 });
        continue;
      }
      analyser.getFloatTimeDomainData(this.#buffer);
      volumes.push({ userId, audioVolume: volumeFromSamples(this.#buffer) });
    }
    return volumes;
  }

  /** Stops measuring everything and closes the AudioContext (idempotent). */
  close(): void {
    for (const tap of this.#taps.values()) release(tap);
    this.#taps.clear();
    this.#pending.clear();
    this.#receivers.clear();
    void this.#context?.close().catch(() => {});
    this.#context = undefined;
  }
}

function release(tap: { source: AudioNode; sink: HTMLAudioElement | undefined }): void {
  tap.source.disconnect();
  if (tap.sink) {
    tap.sink.pause();
    tap.sink.srcObject = null;
  }
}
