/**
 * Start-up checks: a taken port or an unwritable data dir is refused with a ConfigError naming
 * it, before the server starts coturn (which would write DATA_DIR/turn) or anything else.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { checkDataDirWritable, checkPortFree } from './preflight.js';
import { startServer } from './server.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-preflight-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

describe('start-up checks', () => {
  it('refuse a port in use, naming it, before coturn or the store start', async () => {
    const port = await occupiedPort();
    const dataDir = tempDir();
    const start = startServer({ host: '127.0.0.1', port, dev: true, dataDir, turn: 'auto' });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(`port ${port} on 127.0.0.1 is in use`);
    expect(existsSync(join(dataDir, 'turn'))).toBe(false);
    expect(existsSync(join(dataDir, 'ringline.db'))).toBe(false);
  });

  it('refuse a data dir that cannot be written', async () => {
    const parent = tempDir();
    // A file where the data dir should be: no user, root included, can create a directory in it.
    const blocked = join(parent, 'file');
    writeFileSync(blocked, '');
    await expect(checkDataDirWritable(join(blocked, 'data'))).rejects.toThrow(
      /data dir .*file\/data is not writable \(ENOTDIR\)/,
    );
  });

  it('pass a free port (and port 0) and a writable dir', async () => {
    await expect(checkPortFree('127.0.0.1', 0)).resolves.toBeUndefined();
    const port = await occupiedPort();
    await expect(checkPortFree('127.0.0.1', port)).rejects.toThrow(/is in use/);
    await expect(checkDataDirWritable(join(tempDir(), 'new', 'dir'))).resolves.toBeUndefined();
  });
});
