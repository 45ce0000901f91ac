// Bundles the SDK for browsers: dist/trtc-calling.js (a classic script whose global `TRTCCalling`
// is the class itself) and dist/trtc-calling.mjs (an ES module with `export default TRTCCalling`),
// minified, each with its source map and .br/.gz copies that the server sends as they are.
// @ringline/protocol is bundled from its TypeScript source; only its constants and error codes are
// imported at run time, so the TypeBox schemas stay out of the bundle.
import { build } from 'esbuild';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputsOf, precompress } from '../../scripts/precompress.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
// dist/ unless another folder is given (a test builds into a temporary one).
const out = resolve(here, process.argv[2] ?? 'dist');

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: here,
  bundle: true,
  target: 'es2020',
  platform: 'browser',
  // Minified, with the map beside it (linked by a `//# sourceMappingURL` comment) so that stack
  // traces and devtools still show the TypeScript; names kept for the console and stack traces.
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  metafile: true,
  conditions: ['source'],
  legalComments: 'none',
  logLevel: 'info',
};

const bundles = await Promise.all([
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
    outfile: join(out, 'trtc-calling.js'),
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
    outfile: join(out, 'trtc-calling.mjs'),
  }),
]);
await precompress(outputsOf(bundles, here));

// Background blur's model and wasm (npm @mediapipe/selfie_segmentation) go to dist/blur/, which the
// server serves as /sdk/blur/: the browser loads them from the Ringline server, never a CDN. The
// list is the one the SDK's segmenter and the server's route use.
const blurSource = dirname(
  createRequire(import.meta.url).resolve('@mediapipe/selfie_segmentation/package.json'),
);
const { BLUR_ASSET_FILES } = await import('@ringline/protocol');
await mkdir(join(out, 'blur'), { recursive: true });
await Promise.all(
  BLUR_ASSET_FILES.map(async (file) => {
    const target = join(out, 'blur', file);
    await copyFile(join(blurSource, file), target);
    // npm keeps the package's modes, some read-only: the next build must be able to overwrite.
    await chmod(target, 0o644);
  }),
);
