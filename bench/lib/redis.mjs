// A private redis-server for the multi-node signalling benchmark (Debian's package): loopback, a free
// port, a throw-away directory, no persistence (a snapshot would cost CPU the nodes need). Also
// reads what the bench reports of it: commands served (INFO commandstats), CPU, memory.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_BINARY = process.env.RINGLINE_REDIS_SERVER ?? 'redis-server';

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Parses INFO's `key:value` lines. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Starts redis-server; resolves with `{url, stats(), close()}` once it answers PING. `stats()` is
 * what the server has done so far: commands (all but the bench's own INFO), CPU seconds, memory.
 */
export async function startRedis({ timeoutMs = 10_000 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ringline-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    REDIS_BINARY,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      // One client connection per node and a few per generator; the default 10,000 is plenty,
      // but the bench's own sessions must never be refused for it.
      '--maxclients',
      '10000',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  let exitInfo;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve((exitInfo = { code, signal }))),
  );
  child.once('error', (err) => (exitInfo = { error: String(err) }));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: null });
  client.on('error', () => {});
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo)
      throw new Error(`redis-server exited while starting: ${JSON.stringify(exitInfo)}`);
    try {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      if ((await client.ping()) === 'PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on ${port} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let closing;
  return {
    url: `redis://127.0.0.1:${port}`,
    async stats() {
      const commands = parseInfo(await client.info('commandstats'));
      let total = 0;
      for (const [name, value] of Object.entries(commands)) {
        if (name === 'cmdstat_info') continue;
        total += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
      }
      const cpu = parseInfo(await client.info('cpu'));
      const memory = parseInfo(await client.info('memory'));
      return {
        commands: total,
        cpuS: Number(cpu.used_cpu_sys) + Number(cpu.used_cpu_user),
        usedMemory: Number(memory.used_memory),
        rss: Number(memory.used_memory_rss),
      };
    },
    close() {
      closing ??= (async () => {
        client.disconnect();
        if (!exitInfo) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
