/**
 * A real `redis-server` (Debian's package) for a test: loopback only, a free port, a throwaway
 * directory, no persistence. The test can kill it, freeze it and bring it back on the same port,
 * which is how the adapters' failure behaviour is tested.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  /** redis://127.0.0.1:port */
  url: string;
  port: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its directory; idempotent.
   * `restart()` may bring it back; a test calls `stop()` last.
   */
  stop(): Promise<void>;
  /** SIGKILL: the server vanishes mid-whatever, as a crashed machine's would (directory kept). */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port (killing it first if it runs, in a fresh directory after
   * `stop()`); resolves once it answers PING.
   */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing answers (a hung server). */
  freeze(): void;
  thaw(): void;
}

const REDIS_BINARY = process.env.RINGLINE_REDIS_SERVER ?? 'redis-server';
/** How long a start may take before the harness gives up. */
const START_TIMEOUT_MS = 10_000;

export async function startRedis(): Promise<TestRedis> {
  let dir = mkdtempSync(join(tmpdir(), 'ringline-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      REDIS_BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        // No RDB snapshots, no AOF: a test's data lives only as long as the process.
        '--save',
        '',
        '--appendonly',
        'no',
        '--logfile',
        join(dir, 'redis.log'),
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) =>
        reject(new Error(`redis-server exited (${signal ?? code}) while starting: ${tail(dir)}`)),
      ),
    );
    exited.catch(() => {});
    const spawnFailed = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnFailed.catch(() => {});
    await Promise.race([waitForPong(port), exited, spawnFailed]);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a frozen process cannot die of SIGTERM; SIGKILL does not care
    proc.kill('SIGKILL');
    await gone;
  };

  // A free port can be taken between our probe and redis-server's bind: a few attempts.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      await kill();
    }
  }
  if (lastError !== undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      if (stopped) {
        dir = mkdtempSync(join(tmpdir(), 'ringline-redis-'));
        stopped = false;
      }
      await launch();
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const proc = child;
      child = undefined;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGCONT');
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls with a raw PING until the server answers +PONG, within START_TIMEOUT_MS. */
async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

function tail(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}
