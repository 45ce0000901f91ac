/**
 * `--turn auto`: runs coturn next to the server. Writes `<dataDir>/turn/turnserver.conf`, starts
 * `turnserver -c` as a foreground child, waits until it answers a STUN binding request, restarts
 * it with backoff when it dies, and stops it on close() or when this process exits — as
 * sfu/janus-process.ts does for Janus.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { findExecutable } from '../sfu/janus-process.js';
import type { Cidr } from './cidr.js';
import { coturnConfig } from './coturn-config.js';
import { stunBinding } from './stun.js';

export interface StartCoturnOptions {
  /** The server's data dir; coturn's files go to `<dataDir>/turn/`. */
  dataDir: string;
  /** The shared secret; when absent, the one kept in `<dataDir>/turn/secret` (made on first use). */
  secret?: string | undefined;
  port: number;
  /** Address coturn listens and relays on; all when absent. */
  listenIp?: string | undefined;
  /** Public address when it is not one of the machine's own (1:1 NAT on cloud machines). */
  externalIp?: string | undefined;
  relayPorts: { min: number; max: number };
  allowedPeers: readonly Cidr[];
  log: Logger;
  /** The `turnserver` executable; looked up on PATH when absent. */
  binary?: string;
  /** How long to wait for the first STUN answer after each start. */
  startTimeoutMs?: number;
}

export interface CoturnProcess {
  /** The shared secret coturn checks credentials with. */
  readonly secret: string;
  /** Process id of the current turnserver (changes on restart). */
  readonly pid: number | undefined;
  /** The config file. */
  readonly configFile: string;
  /** Called after the supervisor restarted a dead coturn and it answers again. */
  onRestarted(listener: () => void): () => void;
  /** Stops coturn and the supervision; idempotent. */
  close(): Promise<void>;
}

/** Thrown when coturn cannot be started; `code` tells a missing binary from a failed start. */
export class CoturnStartError extends Error {
  constructor(
    readonly code: 'COTURN_NOT_FOUND' | 'COTURN_START_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CoturnStartError';
  }
}

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 8_000;
/** A coturn that stayed up this long resets the backoff. */
const STABLE_MS = 30_000;
const PID_FILE = 'turnserver.pid';
const SECRET_FILE = 'secret';

/** Starts and supervises a local coturn. Rejects with CoturnStartError when it cannot. */
export async function startCoturn(options: StartCoturnOptions): Promise<CoturnProcess> {
  const binary = findExecutable(options.binary ?? 'turnserver');
  if (!binary) {
    throw new CoturnStartError(
      'COTURN_NOT_FOUND',
      `--turn auto needs coturn's ${JSON.stringify(options.binary ?? 'turnserver')} executable, ` +
        'which is not on PATH: install the Debian package coturn (apt-get install coturn), or ' +
        'point --turn at an external coturn with --turn-secret',
    );
  }
  const dir = join(options.dataDir, 'turn');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'turnserver.conf');
  await killLeftover(dir, configFile, options.log);
  const secret = options.secret ?? (await loadOrCreateSecret(dir));
  const text = coturnConfig({
    secret,
    port: options.port,
    listenIp: options.listenIp,
    externalIp: options.externalIp,
    relayPorts: options.relayPorts,
    allowedPeers: options.allowedPeers,
    realm: 'ringline',
    pidFile: join(dir, PID_FILE),
    userDb: join(dir, 'turndb'),
  });
  await writeFile(configFile, text, { mode: 0o600 });
  await chmod(configFile, 0o600);
  // Probe where clients would reach it; a wildcard listener answers on loopback.
  const probe = options.listenIp ?? '127.0.0.1';
  const supervisor = new CoturnSupervisor(
    binary,
    configFile,
    dir,
    secret,
    { host: probe, port: options.port },
    options.log,
    options.startTimeoutMs ?? 10_000,
  );
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.close();
    throw err;
  }
  return supervisor;
}

/** The shared secret kept in `dir/secret` (mode 0600), made on first use. */
async function loadOrCreateSecret(dir: string): Promise<string> {
  const file = join(dir, SECRET_FILE);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const secret = randomBytes(32).toString('hex');
  try {
    await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another server in the same data dir made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecret(dir);
    throw err;
  }
  return secret;
}

class CoturnSupervisor implements CoturnProcess {
  private child: ChildProcess | undefined;
  private closed = false;
  private backoffMs = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly restartedListeners = new Set<() => void>();
  // A coturn left behind would hold the port and keep relaying; kill it with us.
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(
    private readonly binary: string,
    readonly configFile: string,
    private readonly dir: string,
    readonly secret: string,
    private readonly probe: { host: string; port: number },
    private readonly log: Logger,
    private readonly startTimeoutMs: number,
  ) {
    process.on('exit', this.killOnExit);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  onRestarted(listener: () => void): () => void {
    this.restartedListeners.add(listener);
    return () => this.restartedListeners.delete(listener);
  }

  /** Spawns turnserver and waits for it to answer STUN. */
  async start(): Promise<void> {
    const child = spawn(this.binary, ['-c', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    if (child.pid !== undefined) {
      await writeFile(join(this.dir, PID_FILE), String(child.pid)).catch(() => {});
    }
    let output = '';
    const keep = (chunk: Buffer): void => {
      // Keep the tail only: enough to explain a failed start.
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.once('exit', (code, signal) => this.exited(child, code, signal, output));
    const where = `${this.probe.host}:${this.probe.port}`;
    this.log.info('coturn starting', { pid: child.pid, address: where, config: this.configFile });
    const deadline = Date.now() + this.startTimeoutMs;
    while (!this.closed) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        throw new CoturnStartError(
          'COTURN_START_FAILED',
          `turnserver exited during start (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}): ${lastLines(output)}`,
          { cause: spawnError },
        );
      }
      if (await stunBinding(this.probe.host, this.probe.port, 500)) {
        this.log.info('coturn ready', { pid: child.pid, address: where });
        return;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new CoturnStartError(
          'COTURN_START_FAILED',
          `turnserver did not answer STUN on ${where} within ${this.startTimeoutMs} ms: ${lastLines(output)}`,
        );
      }
    }
  }

  private exited(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    output: string,
  ): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.closed) return;
    if (Date.now() - this.startedAt > STABLE_MS) this.backoffMs = RESTART_MIN_MS;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, RESTART_MAX_MS);
    this.log.error('coturn exited; restarting', {
      code,
      signal,
      inMs: wait,
      output: lastLines(output),
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      this.start().then(
        () => {
          for (const listener of this.restartedListeners) {
            try {
              listener();
            } catch (err) {
              this.log.error('coturn restart listener threw', { err });
            }
          }
        },
        (err: unknown) => {
          // A failed start either exited (exited() schedules the next try) or hung (killed
          // above, which also lands in exited()).
          this.log.error('coturn restart failed', { err });
        },
      );
    }, wait);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.killOnExit);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    // coturn normally stops at once; do not let a stuck one hold up shutdown.
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
    await rm(join(this.dir, PID_FILE), { force: true });
    this.log.info('coturn stopped', { pid: child.pid });
  }
}

/**
 * A server killed with SIGKILL cannot stop its coturn; the next start in the same data dir does,
 * if the recorded process is still a turnserver running on this config.
 */
async function killLeftover(dir: string, configFile: string, log: Logger): Promise<void> {
  const pid = Number(await readFile(join(dir, PID_FILE), 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(configFile)) return;
  log.warn('stopping a coturn left behind by an earlier run', { pid });
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  // Its port must be free before the new one binds it.
  for (let i = 0; i < 50; i++) {
    if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-8).join(' | ');
}
