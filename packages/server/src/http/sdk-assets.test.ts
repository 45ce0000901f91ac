/**
 * The SDK bundles as a browser gets them: the real build of @ringline/calling (into a temporary
 * folder) served by the real HTTP app — minified, mapped, precompressed, versioned.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerErrorCode } from '@ringline/protocol';
import { buildHttpApp, SDK_IMMUTABLE_CACHE } from './app.js';

const BUILD = fileURLToPath(new URL('../../../calling/build.mjs', import.meta.url));
/** Not the repository's version: the URL must come from the package.json beside the build. */
const VERSION = '9.8.7';

let root: string;
let dist: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ringline-sdk-'));
  dist = join(root, 'dist');
  mkdirSync(dist);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ version: VERSION }));
  await promisify(execFile)(process.execPath, [BUILD, dist], { timeout: 60_000 });
  app = await buildHttpApp({ sdkAppID: 1400000001, secretKey: 'k', dev: false, sdkDir: dist });
}, 90_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

describe('the SDK bundles under /sdk/', () => {
  it('are minified, with a linked source map that leads back to the TypeScript', async () => {
    const js = readFileSync(join(dist, 'trtc-calling.js'), 'utf8');
    const lines = js.split('\n');
    // One line of code (esbuild's minified IIFE), then the map's link.
    expect(lines.filter(Boolean)).toHaveLength(2);
    expect(lines[1]).toBe('//# sourceMappingURL=trtc-calling.js.map');

    const res = await get(`/sdk/${VERSION}/trtc-calling.js.map`, { 'accept-encoding': 'br' });
    expect(res.statusCode).toBe(200);
    // Only devtools fetch maps: not precompressed, sent as they are.
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['cache-control']).toBe(SDK_IMMUTABLE_CACHE);
    const payload = JSON.parse(res.body) as SourceMapPayload & { sourcesContent: string[] };
    const map = new SourceMap(payload);
    // A message from TRTCCalling.setLogLevel: where it sits in the bundle maps to its source line.
    const needle = '0 (all) to 4 (none)';
    const at = lines[0]!.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    const entry = map.findEntry(0, at) as { originalSource?: string; originalLine?: number };
    expect(entry.originalSource).toMatch(/\/calling\/src\/TRTCCalling\.ts$/);
    // The map carries the sources, so devtools show them without access to the repository.
    const source = payload.sourcesContent[payload.sources.indexOf(entry.originalSource!)];
    expect(source?.split('\n')[entry.originalLine!]).toContain(needle);
  });

  it('at /sdk/<version>/ are the same bytes, cached for a year and never revalidated', async () => {
    for (const file of ['trtc-calling.js', 'trtc-calling.mjs']) {
      const res = await get(`/sdk/${VERSION}/${file}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.rawPayload.equals(readFileSync(join(dist, file)))).toBe(true);
    }
  });

  it.each([
    ['br', brotliDecompressSync],
    ['gzip', gunzipSync],
  ])('are sent %s-compressed to a client that accepts it', async (encoding, decompress) => {
    const plain = readFileSync(join(dist, 'trtc-calling.mjs'));
    for (const url of [`/sdk/${VERSION}/trtc-calling.mjs`, '/sdk/trtc-calling.mjs']) {
      const res = await get(url, { 'accept-encoding': encoding });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.rawPayload.length).toBeLessThan(plain.length / 2);
      expect(decompress(res.rawPayload).equals(plain)).toBe(true);
    }
    // Brotli is preferred where both are accepted.
    const both = await get('/sdk/trtc-calling.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(both.headers['content-encoding']).toBe('br');
  });

  it('at the unversioned URL are revalidated on every use (ETag, 304)', async () => {
    const res = await get('/sdk/trtc-calling.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.rawPayload.equals(readFileSync(join(dist, 'trtc-calling.js')))).toBe(true);
    const etag = res.headers.etag;
    expect(etag).toBeTruthy();
    const again = await get('/sdk/trtc-calling.js', { 'if-none-match': String(etag) });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload).toHaveLength(0);
  });

  it('in dev mode, at the versioned URL too (a checkout rebuilds under the same version)', async () => {
    const dev = await buildHttpApp({
      sdkAppID: 1400000001,
      secretKey: 'k',
      dev: true,
      sdkDir: dist,
    });
    try {
      const res = await dev.inject({ method: 'GET', url: `/sdk/${VERSION}/trtc-calling.js` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
    } finally {
      await dev.close();
    }
  });

  describe('refuse', () => {
    it('another version with 404 naming the one served', async () => {
      const res = await get('/sdk/9.8.6/trtc-calling.js');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({
        error: { code: ServerErrorCode.NOT_FOUND, message: expect.stringContaining(VERSION) },
      });
    });

    it.each([
      `/sdk/${VERSION}/..%2Fpackage.json`,
      `/sdk/${VERSION}/%2E%2E%2F%2E%2E%2Fpackage.json`,
      `/sdk/${VERSION}/../package.json`,
      `/sdk/..%2F${VERSION}/trtc-calling.js`,
      `/sdk/${VERSION}/trtc-calling.js.br`,
      `/sdk/${VERSION}/index.d.ts`,
      '/sdk/trtc-calling.js.gz',
      '/sdk/package.json',
      `/sdk/${VERSION}/callkit.js`,
    ])('any other file: %s is 404', async (url) => {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('"version"');
    });
  });
});
