// Bundles the kit for browsers: dist/callkit.js (a classic script whose global `TUICallKit` holds
// `{TUICallKitServer, STATUS, CallMediaType, CallRole, CallStatus}` and which registers
// <tui-call-kit>) and dist/callkit.mjs (an ES module with the package's exports).
// The workspace packages are bundled from their TypeScript sources (the `source` condition).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: here,
  bundle: true,
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  conditions: ['source'],
  legalComments: 'none',
  logLevel: 'info',
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/index.ts'],
    format: 'iife',
    globalName: 'TUICallKit',
    outfile: 'dist/callkit.js',
  }),
  build({
    ...common,
    entryPoints: ['src/index.ts'],
    format: 'esm',
    outfile: 'dist/callkit.mjs',
  }),
]);
