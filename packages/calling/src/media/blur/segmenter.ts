// MediaPipe's selfie segmentation (npm @mediapipe/selfie_segmentation) as this SDK uses it. The
// package is a classic script that defines a global `SelfieSegmentation`; it is not bundled: the
// build copies it with its .wasm/.tflite files to dist/blur/, the server serves them under
// /sdk/blur/, and the script is loaded from there on first use (no request leaves the Ringline
// server: there may be no internet).

/** What a segmentation result carries: the input frame and a mask whose alpha is "person". */
export interface SegmentationResults {
  image: CanvasImageSource;
  segmentationMask: CanvasImageSource;
}

/** The part of MediaPipe's `SelfieSegmentation` class that is used here. */
export interface Segmenter {
  setOptions(options: { modelSelection?: number; selfieMode?: boolean }): void;
  onResults(listener: (results: SegmentationResults) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLVideoElement | HTMLCanvasElement }): Promise<void>;
  close(): Promise<void>;
}

type SegmenterClass = new (config: { locateFile: (file: string) => string }) => Segmenter;

// One script load per asset URL, shared by every pipeline of the page.
const loading = new Map<string, Promise<SegmenterClass>>();

/** Loads the segmenter script from `assetBase` (a URL ending in '/') once. */
function loadClass(assetBase: string): Promise<SegmenterClass> {
  const found = (): SegmenterClass | undefined =>
    (globalThis as { SelfieSegmentation?: SegmenterClass }).SelfieSegmentation;
  let pending = loading.get(assetBase);
  if (pending) return pending;
  pending = new Promise<SegmenterClass>((resolve, reject) => {
    const ready = found();
    if (ready) return resolve(ready);
    const script = document.createElement('script');
    script.src = `${assetBase}selfie_segmentation.js`;
    script.async = true;
    script.onload = () => {
      const cls = found();
      if (cls) resolve(cls);
      else reject(new Error(`${script.src} did not define SelfieSegmentation`));
    };
    script.onerror = () => reject(new Error(`${script.src} could not be loaded`));
    document.head.appendChild(script);
  });
  // A failed load may be retried (e.g. after the server was updated).
  pending.catch(() => loading.delete(assetBase));
  loading.set(assetBase, pending);
  return pending;
}

/** A segmenter whose model and wasm are loaded and ready for `send`. */
export async function createSegmenter(assetBase: string): Promise<Segmenter> {
  const SelfieSegmentation = await loadClass(assetBase);
  const segmenter = new SelfieSegmentation({ locateFile: (file) => `${assetBase}${file}` });
  // 1 = the landscape model (144x256), faster and made for video calls.
  segmenter.setOptions({ modelSelection: 1, selfieMode: false });
  try {
    await segmenter.initialize();
  } catch (error) {
    await segmenter.close().catch(() => undefined);
    throw error;
  }
  return segmenter;
}
