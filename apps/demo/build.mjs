// Builds the demo into dist/: index.html, app.js (bundled from src/main.ts), app.css, and the call
// kit page: kit.html, kit.js (from src/kit.ts), kit.css. The kit itself loads from /sdk/callkit.js.
// The SDK stays external: the page imports it from the server at /sdk/trtc-calling.mjs, as an
// app would, so the demo always runs the SDK the server ships.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const outdir = join(here, 'dist');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

await build({
  absWorkingDir: here,
  entryPoints: { app: join(src, 'main.ts'), kit: join(src, 'kit.ts') },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  external: ['/sdk/*'],
  logLevel: 'warning',
});

await build({
  absWorkingDir: here,
  entryPoints: { app: join(src, 'app.css'), kit: join(src, 'kit.css') },
  outdir,
  bundle: true,
  target: ['chrome100', 'firefox100', 'safari15'],
  sourcemap: true,
  logLevel: 'warning',
});

await copyFile(join(src, 'index.html'), join(outdir, 'index.html'));
await copyFile(join(src, 'kit.html'), join(outdir, 'kit.html'));
console.log(`demo built into ${outdir}`);
