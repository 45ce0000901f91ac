import type { Logger } from '../../util/logger.js';
import { createSegmenter, type SegmentationResults, type Segmenter } from './segmenter.js';

/**
 * Turns the camera track into the track that is sent. The engine asks for one output per camera
 * track and stops using it when the camera changes or the filter is removed.
 */
export interface VideoFilter {
  /**
   * A track showing `camera` filtered. Processing ends when the caller stops that track, when
   * `camera` ends, when `process` is called again, or on `close()`.
   */
  process(camera: MediaStreamTrack): MediaStreamTrack;
  /** Stops processing and frees the model. Idempotent. */
  close(): void;
}

/** Options of background blur. */
export interface BackgroundBlurOptions {
  /** Where the segmenter's files are served, ending in '/' (the server's /sdk/blur/). */
  assetBase: string;
  /** Blur radius in CSS pixels at 640 px width; scaled with the frame. Default 12. */
  radius?: number;
  /** Frames per second to process at most; default: the camera's rate (15 if unknown). */
  maxFrameRate?: number;
  logger: Logger;
}

/**
 * Background blur: MediaPipe selfie segmentation (wasm + WebGL, in the page) finds the person; the
 * frame is drawn sharp where the mask says "person" over a blurred copy of itself, on a canvas whose
 * captured track is what peers receive.
 */
export class BackgroundBlur implements VideoFilter {
  readonly #segmenter: Segmenter;
  readonly #options: BackgroundBlurOptions;
  #run: BlurRun | undefined;
  #closed = false;

  private constructor(segmenter: Segmenter, options: BackgroundBlurOptions) {
    this.#segmenter = segmenter;
    this.#options = options;
    segmenter.onResults((results) => this.#run?.draw(results));
  }

  /** Loads the model (from `assetBase`) and returns a ready filter; rejects if it cannot load. */
  static async create(options: BackgroundBlurOptions): Promise<BackgroundBlur> {
    return new BackgroundBlur(await createSegmenter(options.assetBase), options);
  }

  process(camera: MediaStreamTrack): MediaStreamTrack {
    if (this.#closed) throw new Error('background blur is closed');
    this.#run?.stop();
    const run = new BlurRun(camera, this.#segmenter, this.#options);
    this.#run = run;
    return run.output;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#run?.stop();
    this.#run = undefined;
    this.#segmenter.close().catch((error: unknown) => {
      this.#options.logger.warn('closing the segmenter failed', error);
    });
  }
}

/** One camera track being blurred onto one canvas track. */
class BlurRun {
  readonly output: MediaStreamTrack;
  readonly #video: HTMLVideoElement;
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  // The segmenter's input (its model takes 256x144 anyway) and the background before scaling up.
  readonly #input = document.createElement('canvas');
  readonly #inputCtx: CanvasRenderingContext2D;
  readonly #small = document.createElement('canvas');
  readonly #smallCtx: CanvasRenderingContext2D;
  readonly #radius: number;
  readonly #frameMs: number;
  #stopped = false;
  #warned = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly camera: MediaStreamTrack,
    private readonly segmenter: Segmenter,
    private readonly options: BackgroundBlurOptions,
  ) {
    const settings = camera.getSettings();
    this.#canvas = document.createElement('canvas');
    this.#canvas.width = settings.width ?? 640;
    this.#canvas.height = settings.height ?? 480;
    const ctx = this.#canvas.getContext('2d');
    const inputCtx = this.#input.getContext('2d');
    const smallCtx = this.#small.getContext('2d');
    if (!ctx || !inputCtx || !smallCtx) throw new Error('no 2D canvas context for background blur');
    this.#ctx = ctx;
    this.#inputCtx = inputCtx;
    this.#smallCtx = smallCtx;
    this.#radius = options.radius ?? 12;
    const rate = Math.min(options.maxFrameRate ?? Infinity, settings.frameRate ?? 15);
    this.#frameMs = 1000 / Math.max(1, rate);
    // No argument: a frame is captured each time the canvas is drawn, at the rate frames are made.
    this.output = this.#canvas.captureStream().getVideoTracks()[0]!;
    this.#video = document.createElement('video');
    this.#video.muted = true;
    this.#video.playsInline = true;
    this.#video.srcObject = new MediaStream([camera]);
    camera.addEventListener('ended', this.#onCameraEnded);
    this.#video
      .play()
      .then(() => this.#schedule(0))
      .catch((error: unknown) => {
        if (!this.#stopped)
          options.logger.error('background blur: the camera would not play', error);
      });
  }

  /** Composes one segmented frame: the person sharp over the blurred frame. */
  draw({ segmentationMask }: SegmentationResults): void {
    if (this.#stopped) return;
    const video = this.#video;
    const canvas = this.#canvas;
    if (
      video.videoWidth &&
      (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight)
    ) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    const { width: w, height: h } = canvas;
    // The background is blurred at a quarter of the size (16x fewer pixels to filter); scaling
    // it up again only smooths it more.
    const small = this.#small;
    resize(small, Math.max(1, Math.round(w / 4)), Math.max(1, Math.round(h / 4)));
    const r = Math.max(1, Math.round((this.#radius * small.width) / 160));
    const sctx = this.#smallCtx;
    sctx.filter = `blur(${r}px)`;
    // Drawn past the edges so the blur does not fade to transparent (black once encoded) there.
    sctx.drawImage(video, -2 * r, -2 * r, small.width + 4 * r, small.height + 4 * r);
    const ctx = this.#ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(segmentationMask, 0, 0, w, h);
    ctx.globalCompositeOperation = 'source-in';
    ctx.drawImage(video, 0, 0, w, h);
    ctx.globalCompositeOperation = 'destination-over';
    ctx.drawImage(small, 0, 0, w, h);
    ctx.restore();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.camera.removeEventListener('ended', this.#onCameraEnded);
    this.#video.pause();
    this.#video.srcObject = null;
    this.output.stop();
  }

  readonly #onCameraEnded = (): void => this.stop();

  // One frame at a time: the next is sent only once the last was drawn, at most at the camera rate.
  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#step(), delay);
  }

  async #step(): Promise<void> {
    if (this.#stopped) return;
    // The engine stops the output when the camera changes or the call ends, and a stopped camera
    // fires no 'ended': either one ends this run.
    if (this.output.readyState === 'ended' || this.camera.readyState === 'ended') {
      this.stop();
      return;
    }
    const started = performance.now();
    try {
      if (this.#video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        const video = this.#video;
        // Sent small: the model's input is 256x144, and a full frame costs more to upload.
        resize(
          this.#input,
          256,
          Math.max(1, Math.round((256 * video.videoHeight) / (video.videoWidth || 1))),
        );
        this.#inputCtx.drawImage(video, 0, 0, this.#input.width, this.#input.height);
        await this.segmenter.send({ image: this.#input });
      }
    } catch (error) {
      // Once per run: a broken frame source fails every frame.
      if (!this.#warned) this.options.logger.warn('background blur: a frame failed', error);
      this.#warned = true;
    }
    this.#schedule(Math.max(0, this.#frameMs - (performance.now() - started)));
  }
}

// Setting a canvas's size clears and reallocates it: only when it changes.
function resize(canvas: HTMLCanvasElement, width: number, height: number): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}
