/**
 * Speaking levels of remote users, for the speaking indicator: an AudioContext analyser on each
 * remote audio stream. The SDK plays every remote user's audio through one hidden
 * `<audio data-ringline="remote-audio" data-user-id="…">`, so the meter reads the streams there
 * (no SDK change needed). Without a document or WebAudio (Node) it reports nothing.
 */
const SAMPLE_MS = 250;
/** Samples the analyser keeps (a power of two, covering more than SAMPLE_MS at 48 kHz). */
const WINDOW = 16384;
/** Samples per loudness chunk (≈21 ms at 48 kHz). */
const CHUNK = 1024;
/** Levels closer than this count as unchanged, so the state is not rebuilt for noise. */
const STEP = 0.05;

interface Probe {
  stream: MediaStream;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  data: Uint8Array<ArrayBuffer>;
  level: number;
}

export class SpeakingMeter {
  #context: AudioContext | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #probes = new Map<string, Probe>();

  /** Samples every 250 ms, calling `onLevels` with the users whose level moved (0..1). */
  start(onLevels: (levels: Map<string, number>) => void): void {
    const g = globalThis as { document?: Document; AudioContext?: typeof AudioContext };
    if (this.#timer !== undefined || !g.document || !g.AudioContext) return;
    const AudioContextClass = g.AudioContext;
    const doc = g.document;
    this.#timer = setInterval(() => {
      try {
        this.#context ??= new AudioContextClass();
        onLevels(this.#sample(doc, this.#context));
      } catch {
        // WebAudio unavailable for this page: no speaking indicator, the call goes on.
      }
    }, SAMPLE_MS);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const probe of this.#probes.values()) probe.source.disconnect();
    this.#probes.clear();
    void this.#context?.close().catch(() => {});
    this.#context = undefined;
  }

  #sample(doc: Document, context: AudioContext): Map<string, number> {
    const changed = new Map<string, number>();
    const seen = new Set<string>();
    const elements = doc.querySelectorAll<HTMLAudioElement>('audio[data-ringline="remote-audio"]');
    for (const el of elements) {
      const userID = el.dataset.userId;
      const stream = el.srcObject as MediaStream | null;
      if (!userID || !stream || stream.getAudioTracks().length === 0) continue;
      seen.add(userID);
      let probe = this.#probes.get(userID);
      if (!probe || probe.stream !== stream) {
        probe?.source.disconnect();
        const source = context.createMediaStreamSource(stream);
        const analyser = context.createAnalyser();
        // The analyser keeps the last WINDOW samples (≈340 ms at 48 kHz), more than one sampling
        // period, so every sample sees all the sound since the previous one.
        analyser.fftSize = WINDOW;
        source.connect(analyser); // not to the destination: the <audio> already plays it
        probe = {
          stream,
          source,
          analyser,
          data: new Uint8Array(analyser.fftSize),
          level: 0,
        };
        this.#probes.set(userID, probe);
      }
      const level = rms(probe);
      if (Math.abs(level - probe.level) >= STEP || (level === 0 && probe.level !== 0)) {
        probe.level = level;
        changed.set(userID, level);
      }
    }
    for (const [userID, probe] of this.#probes) {
      if (seen.has(userID)) continue;
      probe.source.disconnect();
      this.#probes.delete(userID);
    }
    return changed;
  }
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
