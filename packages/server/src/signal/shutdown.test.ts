import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createMemoryCluster } from '../cluster/memory.js';
import { startServer } from '../server.js';
import { TestClient } from '../testing/client.js';
import { CloseCode } from './gateway.js';

/**
 * The server stops in bounded time even when a client cannot answer its close frame: one whose
 * address vanished (it changed networks) or that stopped reading. `ws` would wait 30 s for each
 * such client, and `ringline serve` was SIGKILLed by whoever stopped it.
 */
describe('server shutdown', () => {
  test('close() ends although a client never answers the close frame; the others get SHUTDOWN', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ringline-shutdown-'));
    const cluster = createMemoryCluster();
    const server = await startServer({ port: 0, host: '127.0.0.1', dev: true, dataDir, cluster });
    const gone = await TestClient.login(server, 'sd_gone');
    const polite = await TestClient.login(server, 'sd_polite');
    // The client stops reading: the close frame sits unread and no answer ever comes back.
    const socket = (gone.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    try {
      // Before the bound this took ws's 30 s close timeout, far past this test's time limit.
      await server.close();
      expect(await polite.closed()).toMatchObject({ code: CloseCode.SHUTDOWN });
      expect(server.edgeStats().connections).toBe(0);
    } finally {
      socket.resume();
      await Promise.all([gone.close(), polite.close()]);
      await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 10_000);
});
