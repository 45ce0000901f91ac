// Bundles the SDK for browsers: dist/trtc-calling.js (a classic script whose global `TRTCCalling`
// is the class itself) and dist/trtc-calling.mjs (an ES module with `export default TRTCCalling`).
// @ringline/protocol is bundled from its TypeScript source; only its constants and error codes are
// imported at run time, so the TypeBox schemas stay out of the bundle.
import { build } from 'esbuild';
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
