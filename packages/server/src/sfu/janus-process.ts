/**
 * `--janus auto`: runs a private Janus Gateway next to the server. Writes a minimal config set into
 * `<dataDir>/janus/` (only the VideoRoom plugin and the WebSocket transport, bound to loopback on a
 * free port, no admin API), starts `janus`, waits until its WebSocket answers, restarts it with
 * backoff when it dies, and stops it on close() or when this process exits.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Logger } from '../log.js';
import { ChildSupervisor, findExecutable } from '../supervisor/child-supervisor.js';

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

export { findExecutable } from '../supervisor/child-supervisor.js';

/** Starts and supervises a local Janus. Rejects with JanusStartError when it cannot. */
export async function startJanus(options: StartJanusOptions): Promise<JanusProcess> {
  const binary = findExecutable(options.binary ?? 'janus');
  if (!binary) {
    throw new JanusStartError(
      'JANUS_NOT_FOUND',
      `janus executable ${JSON.stringify(options.binary ?? 'janus')} not found`,
    );
  }
  const configDir = join(options.dataDir, 'janus');
  const configFile = join(configDir, 'janus.jcfg');
  const port = await freeLoopbackPort();
  const url = `ws://127.0.0.1:${port}`;
  await writeJanusConfig({
    configDir,
    libDir: options.libDir ?? DEBIAN_JANUS_LIB,
    port,
    iceInterface: options.iceInterface,
    rtpPortRange: options.rtpPortRange ?? '20000-40000',
    publicIp: options.publicIp,
    turnRestApi: options.turnRestApi,
  });
  const supervisor = await ChildSupervisor.start({
    name: 'janus',
    binary,
    args: ['-C', configFile, '-F', configDir],
    pidFile: join(configDir, 'janus.pid'),
    cmdlineMarker: configFile,
    answers: () => janusAnswers(url, 500),
    where: url,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    startError: (message, cause) => new JanusStartError('JANUS_START_FAILED', message, { cause }),
    log: options.log,
  });
  return {
    url,
    get pid() {
      return supervisor.pid;
    },
    onRestarted: (listener) => supervisor.onRestarted(listener),
    close: () => supervisor.close(),
  };
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
