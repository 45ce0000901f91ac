/**
 * Plays the ringtone while the kit rings: the app's `callingBell` URL, or a generated two-tone
 * ring through WebAudio. Where neither exists (Node, or a browser that blocks audio until a user
 * gesture), it stays silent instead of failing the call.
 */
export class Ringtone {
  #audio: HTMLAudioElement | undefined;
  #context: AudioContext | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #playing = false;

  get playing(): boolean {
    return this.#playing;
  }

  start(url: string | undefined): void {
    if (this.#playing) return;
    this.#playing = true;
    const g = globalThis as { Audio?: typeof Audio; AudioContext?: typeof AudioContext };
    if (url && g.Audio) {
      const audio = new g.Audio(url);
      audio.loop = true;
      this.#audio = audio;
      audio.play().catch(() => {}); // autoplay may be blocked; the UI still shows the call
      return;
    }
    if (!g.AudioContext) return;
    try {
      const context = new g.AudioContext();
      this.#context = context;
      const ring = () => {
        for (const [offset, frequency] of [
          [0, 440],
          [0.4, 480],
        ] as const) {
          const osc = context.createOscillator();
          const gain = context.createGain();
          osc.frequency.value = frequency;
          gain.gain.value = 0.08;
          osc.connect(gain).connect(context.destination);
          const at = context.currentTime + offset;
          osc.start(at);
          osc.stop(at + 0.35);
        }
      };
      ring();
      this.#timer = setInterval(ring, 2000);
    } catch {
      // No audio output available: ring silently.
    }
  }

  stop(): void {
    if (!this.#playing) return;
    this.#playing = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#audio) {
      this.#audio.pause();
      this.#audio.src = '';
      this.#audio = undefined;
    }
    void this.#context?.close().catch(() => {});
    this.#context = undefined;
  }
}
