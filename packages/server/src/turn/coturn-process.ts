/**
 * `--turn auto`: runs coturn next to the server. Writes `<dataDir>/turn/turnserver.conf`, starts
 * `turnserver -c` as a foreground child, waits until it answers a STUN binding request, restarts
 * it with backoff when it dies, and stops it on close() or when this process exits — as
 * sfu/janus-process.ts does for Janus.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { ChildSupervisor, findExecutable } from '../supervisor/child-supervisor.js';
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
  const where = `${probe}:${options.port}`;
  const supervisor = await ChildSupervisor.start({
    name: 'coturn',
    binary,
    args: ['-c', configFile],
    pidFile: join(dir, PID_FILE),
    cmdlineMarker: configFile,
    answers: async () => (await stunBinding(probe, options.port, 500)) !== undefined,
    where,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    startError: (message, cause) => new CoturnStartError('COTURN_START_FAILED', message, { cause }),
    log: options.log,
  });
  return {
    secret,
    configFile,
    get pid() {
      return supervisor.pid;
    },
    onRestarted: (listener) => supervisor.onRestarted(listener),
    close: () => supervisor.close(),
  };
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
