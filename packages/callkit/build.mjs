// Bundles the kit for browsers: dist/callkit.js (a classic script whose global `TUICallKit` holds
// `{TUICallKitServer, STATUS, CallMediaType, CallRole, CallStatus}` and which registers
// <tui-call-kit>) and dist/callkit.mjs (an ES module with the package's exports), minified, each with
// its source map and .br/.gz copies that the server sends as they are.
// The workspace packages are bundled from their TypeScript sources (the `source` condition).
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputsOf, precompress } from '../../scripts/precompress.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
// dist/ unless another folder is given (a test builds into a temporary one).
const out = resolve(here, process.argv[2] ?? 'dist');

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: here,
  bundle: true,
  target: 'es2022',
  platform: 'browser',
  // Minified with a linked map, as the SDK's bundles (see packages/calling/build.mjs).
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
    entryPoints: ['src/index.ts'],
    format: 'iife',
    globalName: 'TUICallKit',
    outfile: join(out, 'callkit.js'),
  }),
  build({
    ...common,
    entryPoints: ['src/index.ts'],
    format: 'esm',
    outfile: join(out, 'callkit.mjs'),
  }),
]);
await precompress(outputsOf(bundles, here));
