import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { BLUR_ASSET_FILES, BLUR_ASSET_PATH } from '@ringline/protocol';
import { buildHttpApp } from './app.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An SDK dist folder whose blur/ holds each listed asset, its content its own name. */
function sdkDirWithBlur(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-blur-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'blur'));
  for (const file of BLUR_ASSET_FILES) writeFileSync(join(dir, 'blur', file), file);
  // A file that is in the folder but not in the list must not be served.
  writeFileSync(join(dir, 'blur', 'secret.txt'), 'secret');
  return dir;
}

async function appWith(sdkDir: string) {
  return buildHttpApp({ sdkAppID: 1400000001, secretKey: 'k', dev: false, sdkDir });
}

describe(`GET ${BLUR_ASSET_PATH}<file>`, () => {
  test('serves every blur asset from the SDK dist, wasm as application/wasm', async () => {
    const app = await appWith(sdkDirWithBlur());
    try {
      for (const file of BLUR_ASSET_FILES) {
        const res = await app.inject({ method: 'GET', url: `${BLUR_ASSET_PATH}${file}` });
        expect(res.statusCode, file).toBe(200);
        expect(res.body, file).toBe(file);
        if (file.endsWith('.wasm')) expect(res.headers['content-type']).toBe('application/wasm');
        if (file.endsWith('.js')) expect(res.headers['content-type']).toMatch(/javascript/);
        expect(res.headers['access-control-allow-origin']).toBe('*');
      }
    } finally {
      await app.close();
    }
  });

  test('answers 404 for a file not in the list, even if it is in the folder', async () => {
    const app = await appWith(sdkDirWithBlur());
    try {
      for (const url of ['secret.txt', '..%2Ftrtc-calling.js', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd']) {
        const res = await app.inject({ method: 'GET', url: `${BLUR_ASSET_PATH}${url}` });
        expect(res.statusCode, url).toBe(404);
        expect(res.body).not.toBe('secret');
      }
    } finally {
      await app.close();
    }
  });

  test('answers 404 saying how to build them when they are not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringline-blur-'));
    dirs.push(dir);
    const app = await appWith(dir);
    try {
      const res = await app.inject({
        method: 'GET',
        url: `${BLUR_ASSET_PATH}${BLUR_ASSET_FILES[0]}`,
      });
      expect(res.statusCode).toBe(404);
      expect(res.body).toMatch(/not built.*npm run build --workspace @ringline\/calling/);
    } finally {
      await app.close();
    }
  });
});
