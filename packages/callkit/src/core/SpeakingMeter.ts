/**
 * Speaking levels for the speaking indicator: an AudioContext analyser on each remote audio stream
 * and on the local microphone. The SDK plays every remote user's audio through one hidden
 * `<audio data-ringline="remote-audio" data-user-id="…">`, so the meter reads the streams there;
 * the microphone is the track the SDK sends (`getLocalAudioTrack()`). Without a document or
 * WebAudio (Node) it reports nothing.
 */
const SAMPLE_MS = 250;
/** Samples the analyser keeps (a power of two, covering more than SAMPLE_MS at 48 kHz). */
const WINDOW = 16384;
/** Samples per loudness chunk (≈21 ms at 48 kHz). */
const CHUNK = 1024;
/** Levels closer than this count as unchanged, so the state is not rebuilt for noise. */
const STEP = 0.05;

interface Probe {
  /** What the probe listens to: a remote `<audio>`'s stream, or the microphone track. */
  input: MediaStream | MediaStreamTrack;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  data: Uint8Array<ArrayBuffer>;
  level: number;
  /** The microphone probe's own copy of the track, which it stops when it goes. */
  copy?: MediaStreamTrack;
}

/** Levels that moved since the previous sample (0..1); `self` is absent when it did not. */
export interface LevelChanges {
  remote: Map<string, number>;
  self?: number;
}

// The local probe's key: never a user ID (those are non-empty).
const SELF = '';

export class SpeakingMeter {
  #context: AudioContext | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #probes = new Map<string, Probe>();

  /**
   * Samples every 250 ms, calling `onLevels` with the levels that moved. `microphone` gives the
   * local track to meter now, or null (muted, none): the own level then drops to 0 and the track
   * is not metered at all.
   */
  start(
    onLevels: (changes: LevelChanges) => void,
    microphone: () => MediaStreamTrack | null = () => null,
  ): void {
    const g = globalThis as {
      document?: Document;
      AudioContext?: typeof AudioContext;
      MediaStream?: typeof MediaStream;
    };
    if (this.#timer !== undefined || !g.document || !g.AudioContext) return;
    const AudioContextClass = g.AudioContext;
    const doc = g.document;
    this.#timer = setInterval(() => {
      try {
        this.#context ??= new AudioContextClass();
        const remote = this.#sampleRemote(doc, this.#context);
        const changes: LevelChanges = { remote };
        const self = this.#sampleLocal(this.#context, microphone(), g.MediaStream);
        if (self !== undefined) changes.self = self;
        if (remote.size > 0 || changes.self !== undefined) onLevels(changes);
      } catch {
        // WebAudio unavailable for this page: no speaking indicator, the call goes on.
      }
    }, SAMPLE_MS);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const probe of this.#probes.values()) drop(probe);
    this.#probes.clear();
    void this.#context?.close().catch(() => {});
    this.#context = undefined;
  }

  /** The microphone's level if it moved; a probe follows the track (device switches). */
  #sampleLocal(
    context: AudioContext,
    track: MediaStreamTrack | null,
    MediaStreamClass: typeof MediaStream | undefined,
  ): number | undefined {
    let probe = this.#probes.get(SELF);
    const live = track && track.readyState === 'live' && track.enabled ? track : null;
    if (!live || !MediaStreamClass) {
      // Muted or no microphone: nothing is read, and the level reads 0 at once.
      if (!probe || probe.level === 0) return undefined;
      probe.level = 0;
      return 0;
    }
    if (!probe || probe.input !== live) {
      const previous = probe?.level ?? 0;
      if (probe) drop(probe);
      // The meter listens to its own copy of the track, never muted: a source node on the track
      // itself now and then stayed silent after a mute (track.enabled false, then true) in
      // Chromium, and the indicator never came back (about one browser test run in three).
      const copy = live.clone();
      probe = this.#probe(context, live, new MediaStreamClass([copy]));
      probe.copy = copy;
      probe.level = previous;
      this.#probes.set(SELF, probe);
    }
    return this.#measure(probe);
  }

  #probe(context: AudioContext, input: MediaStream | MediaStreamTrack, stream: MediaStream): Probe {
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    // The analyser keeps the last WINDOW samples (≈340 ms at 48 kHz), more than one sampling
    // period, so every sample sees all the sound since the previous one.
    analyser.fftSize = WINDOW;
    source.connect(analyser); // not to the destination: nothing here is for playing
    return { input, source, analyser, data: new Uint8Array(analyser.fftSize), level: 0 };
  }

  /** The probe's new level when it moved by a step (or fell to silence), else undefined. */
  #measure(probe: Probe): number | undefined {
    const level = rms(probe);
    if (Math.abs(level - probe.level) < STEP && !(level === 0 && probe.level !== 0)) {
      return undefined;
    }
    probe.level = level;
    return level;
  }

  #sampleRemote(doc: Document, context: AudioContext): Map<string, number> {
    const changed = new Map<string, number>();
    const seen = new Set<string>();
    const elements = doc.querySelectorAll<HTMLAudioElement>('audio[data-ringline="remote-audio"]');
    for (const el of elements) {
      const userID = el.dataset.userId;
      const stream = el.srcObject as MediaStream | null;
      if (!userID || !stream || stream.getAudioTracks().length === 0) continue;
      seen.add(userID);
      let probe = this.#probes.get(userID);
      if (!probe || probe.input !== stream) {
        if (probe) drop(probe);
        probe = this.#probe(context, stream, stream);
        this.#probes.set(userID, probe);
      }
      const level = this.#measure(probe);
      if (level !== undefined) changed.set(userID, level);
    }
    for (const [userID, probe] of this.#probes) {
      if (userID === SELF || seen.has(userID)) continue;
      drop(probe);
      this.#probes.delete(userID);
    }
    return changed;
  }
}

/** Disconnects a probe and stops its copy of the microphone (the microphone itself goes on). */
function drop(probe: Probe): void {
  probe.source.disconnect();
  probe.copy?.stop();
}

/**
 * Loudness 0..1 since the last sample: the RMS of the loudest ~21 ms chunk in the analyser's
 * window (so a short word is not missed between two samples), scaled so speech nears 1.
 */
function rms(probe: Probe): number {
  probe.analyser.getByteTimeDomainData(probe.data);
  let loudest = 0;
  for (let start = 0; start < probe.data.length; start += CHUNK) {
    let sum = 0;
    const end = Math.min(start + CHUNK, probe.data.length);
    for (let i = start; i < end; i += 1) {
      const v = (probe.data[i]! - 128) / 128;
      sum += v * v;
    }
    loudest = Math.max(loudest, Math.sqrt(sum / (end - start)));
  }
  return Math.min(1, Math.round(loudest * 4 * 20) / 20);
}
