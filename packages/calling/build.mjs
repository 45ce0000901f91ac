// Bundles the SDK for browsers: dist/trtc-calling.js (a classic script whose global `TRTCCalling`
// is the class itself) and dist/trtc-calling.mjs (an ES module with `export default TRTCCalling`).
// @ringline/protocol is bundled from its TypeScript source; only its constants and error codes are
// imported at run time, so the TypeBox schemas stay out of the bundle.
import { build } from 'esbuild';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: here,
  bundle: true,
  target: 'es2020',
  platform: 'browser',
  sourcemap: true,
  conditions: ['source'],
  legalComments: 'none',
  logLevel: 'info',
};

await Promise.all([
  build({
    ...common,
    // The IIFE's global is the class itself, not a namespace holding `default`. `server` defaults
    // to the origin of this script: document.currentScript is only set while it first runs.
    stdin: {
      contents: [
        "import { setScriptUrl } from './src/util/defaultServer.ts';",
        "setScriptUrl(typeof document !== 'undefined' ? document.currentScript?.src : undefined);",
        "import TRTCCalling from './src/index.ts';",
        'globalThis.TRTCCalling = TRTCCalling;',
      ].join('\n'),
      resolveDir: here,
      sourcefile: 'trtc-calling-global.ts',
      loader: 'ts',
    },
    format: 'iife',
    outfile: 'dist/trtc-calling.js',
  }),
  build({
    ...common,
    // `server` defaults to the origin this module was loaded from.
    stdin: {
      contents: [
        "import { setScriptUrl } from './src/util/defaultServer.ts';",
        'setScriptUrl(import.meta.url);',
        "export * from './src/index.ts';",
        "export { default } from './src/index.ts';",
      ].join('\n'),
      resolveDir: here,
      sourcefile: 'trtc-calling-esm.ts',
      loader: 'ts',
    },
    format: 'esm',
    outfile: 'dist/trtc-calling.mjs',
  }),
]);

// Background blur's model and wasm (npm @mediapipe/selfie_segmentation) go to dist/blur/, which the
// server serves as /sdk/blur/: the browser loads them from the Ringline server, never a CDN. The
// list is the one the SDK's segmenter and the server's route use.
const blurSource = dirname(
  createRequire(import.meta.url).resolve('@mediapipe/selfie_segmentation/package.json'),
);
const { BLUR_ASSET_FILES } = await import('@ringline/protocol');
await mkdir(join(here, 'dist/blur'), { recursive: true });
await Promise.all(
  BLUR_ASSET_FILES.map(async (file) => {
    const target = join(here, 'dist/blur', file);
    await copyFile(join(blurSource, file), target);
    // npm keeps the package's modes, some read-only: the next build must be able to overwrite.
    await chmod(target, 0o644);
  }),
);
