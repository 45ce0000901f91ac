/**
 * `--janus auto`: runs a private Janus Gateway next to the server. Writes a minimal config set into
 * `<dataDir>/janus/` (only the VideoRoom plugin and the WebSocket transport, bound to loopback on a
 * free port, no admin API), starts `janus`, waits until its WebSocket answers, restarts it with
 * backoff when it dies, and stops it on close() or when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import WebSocket from 'ws';
import type { Logger } from '../log.js';

/** Where the Debian package puts Janus's plugins and transports. */
export const DEBIAN_JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';

export interface StartJanusOptions {
  /** The server's data dir; the config goes to `<dataDir>/janus/`. */
  dataDir: string;
  /** Network interface ICE may use (`nat.ice_enforce_list`); all interfaces when absent. */
  iceInterface?: string;
  /** The machine's public address behind a 1:1 NAT (`nat.nat_1_1_mapping`). */
  publicIp?: string | undefined;
  /** Where Janus gets TURN credentials for its own candidates (`nat.turn_rest_api`). */
  turnRestApi?: { url: string; key: string } | undefined;
  log: Logger;
  /** The `janus` executable; looked up on PATH when absent. */
  binary?: string;
  /** Folder with Janus's `plugins/` and `transports/`; the Debian location when absent. */
  libDir?: string;
  /** RTP port range for media, `min-max`. */
  rtpPortRange?: string;
  /** How long to wait for the WebSocket to answer after each start. */
  startTimeoutMs?: number;
}

export interface JanusProcess {
  /** The WebSocket URL of the Janus API. */
  readonly url: string;
  /** Process id of the current janus (changes on restart). */
  readonly pid: number | undefined;
  /** Called after the supervisor restarted a crashed janus and it answers again. */
  onRestarted(listener: () => void): () => void;
  /** Stops janus and the supervision; idempotent. */
  close(): Promise<void>;
}

/** Thrown when Janus cannot be started; `code` tells a missing binary from a failed start. */
export class JanusStartError extends Error {
  constructor(
    readonly code: 'JANUS_NOT_FOUND' | 'JANUS_START_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JanusStartError';
  }
}

/** Finds an executable `name` on PATH (or checks `name` itself when it has a slash). */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : pathEnv
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not here; try the next one
    }
  }
  return undefined;
}

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 8_000;
/** A janus that stayed up this long resets the backoff. */
const STABLE_MS = 30_000;

/** Starts and supervises a local Janus. Rejects with JanusStartError when it cannot. */
export async function startJanus(options: StartJanusOptions): Promise<JanusProcess> {
  const binary = findExecutable(options.binary ?? 'janus');
  if (!binary) {
    throw new JanusStartError(
      'JANUS_NOT_FOUND',
      `janus executable ${JSON.stringify(options.binary ?? 'janus')} not found`,
    );
  }
  const libDir = options.libDir ?? DEBIAN_JANUS_LIB;
  const configDir = join(options.dataDir, 'janus');
  await killLeftover(configDir, options.log);
  const port = await freeLoopbackPort();
  const url = `ws://127.0.0.1:${port}`;
  await writeJanusConfig({
    configDir,
    libDir,
    port,
    iceInterface: options.iceInterface,
    rtpPortRange: options.rtpPortRange ?? '20000-40000',
    publicIp: options.publicIp,
    turnRestApi: options.turnRestApi,
  });
  const supervisor = new JanusSupervisor(
    binary,
    configDir,
    url,
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

class JanusSupervisor implements JanusProcess {
  private child: ChildProcess | undefined;
  private closed = false;
  private backoffMs = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly restartedListeners = new Set<() => void>();
  // A janus left behind would hold the port and keep media running; kill it with us.
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(
    private readonly binary: string,
    private readonly configDir: string,
    readonly url: string,
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

  /** Spawns janus and waits for its WebSocket. */
  async start(): Promise<void> {
    const args = ['-C', join(this.configDir, 'janus.jcfg'), '-F', this.configDir];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    if (child.pid !== undefined) {
      await writeFile(join(this.configDir, PID_FILE), String(child.pid)).catch(() => {});
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
    this.log.info('janus starting', { pid: child.pid, url: this.url, config: this.configDir });
    const deadline = Date.now() + this.startTimeoutMs;
    while (!this.closed) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        throw new JanusStartError(
          'JANUS_START_FAILED',
          `janus exited during start (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}): ${lastLines(output)}`,
          { cause: spawnError },
        );
      }
      if (await janusAnswers(this.url, 500)) {
        this.log.info('janus ready', { pid: child.pid, url: this.url });
        return;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new JanusStartError(
          'JANUS_START_FAILED',
          `janus did not answer on ${this.url} within ${this.startTimeoutMs} ms: ${lastLines(output)}`,
        );
      }
      await delay(100);
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
    this.log.error('janus exited; restarting', {
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
              this.log.error('janus restart listener threw', { err });
            }
          }
        },
        (err: unknown) => {
          // A failed start either exited (exited() schedules the next try) or hung (killed
          // above, which also lands in exited()).
          this.log.error('janus restart failed', { err });
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
    // Janus normally stops within a second; do not let a stuck one hold up shutdown.
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
    await rm(join(this.configDir, PID_FILE), { force: true });
    this.log.info('janus stopped', { pid: child.pid });
  }
}

const PID_FILE = 'janus.pid';

/**
 * A server killed with SIGKILL cannot stop its janus; the next start in the same data dir does,
 * if the recorded process is still a janus running on this config.
 */
async function killLeftover(configDir: string, log: Logger): Promise<void> {
  const pid = Number(await readFile(join(configDir, PID_FILE), 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(join(configDir, 'janus.jcfg'))) return;
  log.warn('stopping a janus left behind by an earlier run', { pid });
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Whether a Janus WebSocket at `url` answers an `info` request within `timeoutMs`. */
export function janusAnswers(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'janus-protocol');
    const transaction = randomUUID();
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ janus: 'info', transaction })));
    ws.on('message', (data: WebSocket.RawData) => {
      try {
        const msg = JSON.parse(data.toString()) as { janus?: string; transaction?: string };
        if (msg.transaction === transaction) finish(msg.janus === 'server_info');
      } catch {
        finish(false);
      }
    });
    ws.on('error', () => finish(false));
    ws.on('close', () => finish(false));
  });
}

interface ConfigInput {
  configDir: string;
  libDir: string;
  port: number;
  iceInterface: string | undefined;
  rtpPortRange: string;
  publicIp?: string | undefined;
  turnRestApi?: { url: string; key: string } | undefined;
}

/** Writes janus.jcfg, the VideoRoom config and the WebSocket transport config. */
export async function writeJanusConfig(input: ConfigInput): Promise<void> {
  const { configDir, libDir, port, iceInterface, rtpPortRange, publicIp, turnRestApi } = input;
  await mkdir(configDir, { recursive: true });
  const pluginsDir = join(libDir, 'plugins');
  const transportsDir = join(libDir, 'transports');
  const disabledPlugins = sharedObjects(pluginsDir).filter((f) => f !== 'libjanus_videoroom.so');
  const disabledTransports = sharedObjects(transportsDir).filter(
    (f) => f !== 'libjanus_websockets.so',
  );
  const nat = [
    '\tnice_debug = false',
    ...(iceInterface ? [`\tice_enforce_list = ${str(iceInterface)}`] : []),
    // Cloud machines: candidates carry the public address the provider maps to this one.
    ...(publicIp ? [`\tnat_1_1_mapping = ${str(publicIp)}`] : []),
    // Janus asks ringline (turn/janus-rest.ts) for fresh TURN credentials per peer connection.
    ...(turnRestApi
      ? [
          `\tturn_rest_api = ${str(turnRestApi.url)}`,
          `\tturn_rest_api_key = ${str(turnRestApi.key)}`,
          '\tturn_rest_api_method = "GET"',
          '\tturn_rest_api_timeout = 5',
        ]
      : []),
  ];
  const janusCfg = [
    '# Written by ringline (--janus auto); rewritten on every start.',
    'general: {',
    `\tconfigs_folder = ${str(configDir)}`,
    `\tplugins_folder = ${str(pluginsDir)}`,
    `\ttransports_folder = ${str(transportsDir)}`,
    `\tevents_folder = ${str(join(libDir, 'events'))}`,
    `\tloggers_folder = ${str(join(libDir, 'loggers'))}`,
    '\tdebug_level = 3',
    '\tdebug_timestamps = true',
    // Handles whose owner went silent are reclaimed; janode keeps its sessions alive.
    '\tsession_timeout = 60',
    '}',
    'media: {',
    `\trtp_port_range = ${str(rtpPortRange)}`,
    '}',
    'nat: {',
    ...nat,
    '}',
    'plugins: {',
    `\tdisable = ${str(disabledPlugins.join(','))}`,
    '}',
    'transports: {',
    `\tdisable = ${str(disabledTransports.join(','))}`,
    '}',
    'events: {',
    '\tbroadcast = false',
    '}',
    '',
  ].join('\n');
  const websocketsCfg = [
    'general: {',
    '\tjson = "compact"',
    '\tws = true',
    `\tws_port = ${port}`,
    '\tws_ip = "127.0.0.1"',
    '\twss = false',
    '}',
    'admin: {',
    '\tadmin_ws = false',
    '\tadmin_wss = false',
    '}',
    '',
  ].join('\n');
  // No static rooms: every room is created per call with its own secret.
  const videoroomCfg = ['general: {', '\tlock_rtp_forward = true', '}', ''].join('\n');
  await writeFile(join(configDir, 'janus.jcfg'), janusCfg);
  await writeFile(join(configDir, 'janus.transport.websockets.jcfg'), websocketsCfg);
  await writeFile(join(configDir, 'janus.plugin.videoroom.jcfg'), videoroomCfg);
}

function sharedObjects(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.so'))
    .sort();
}

function str(value: string): string {
  return JSON.stringify(value);
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-8).join(' | ');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port free on 127.0.0.1 right now (the OS picks it). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
