/** `startServer`: wires config, cluster adapters, the call service, signalling and HTTP together. */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IceServer } from '@ringline/protocol';
import { CallService } from './calls/service.js';
import { createDelivery } from './cluster/delivery.js';
import { createMemoryCluster } from './cluster/memory.js';
import type { ClusterAdapters } from './cluster/types.js';
import { ConfigError, DEFAULTS, resolveCredentials, validateIceServers } from './config.js';
import { buildHttpApp } from './http/app.js';
import { consoleLogger, silentLogger, type Logger } from './log.js';
import { SignalGateway } from './signal/gateway.js';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './signal/rate-limit.js';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to listen on. Default 0.0.0.0. */
  host?: string;
  /** The app served; with `secretKey`. Without both, `dev` must be set. */
  sdkAppID?: number;
  secretKey?: string;
  /** Where dev mode keeps its app.json. Default ./.ringline. */
  dataDir?: string;
  /** Default invitation timeout, seconds (0 = none). Default 30. */
  inviteTimeout?: number;
  /** STUN/TURN servers handed to clients at login. Default none. */
  iceServers?: IceServer[];
  /** Development mode: makes and keeps app credentials, serves /api/dev/usersig. */
  dev?: boolean;
  /** Seconds a session whose connection dropped is kept for the client to resume. Default 30. */
  resumeWindow?: number;
  /** A logger, `true` for console logging, or nothing for silence. */
  logger?: Logger | boolean;
  /** Seconds between client pings; 3 missed ones drop the connection. Default 15. */
  pingInterval?: number;
  /** Per-session request rate limit. Default 100 at once, 50/s. */
  rateLimit?: RateLimitOptions;
  /** Pushes kept per session for resuming. Default 1000. */
  outboxLimit?: number;
  /** Shared-state adapters; nodes given the same adapters form one cluster. Default in-memory. */
  cluster?: ClusterAdapters;
  /** Where the SDK bundles are read from. Default packages/calling/dist. */
  sdkDir?: string;
  /** Where the demo is served from. Default apps/demo/dist. */
  demoDir?: string;
}

export interface RinglineServer {
  /** http://host:port */
  url: string;
  port: number;
  sdkAppID: number;
  secretKey: string;
  /** Stops the server: sessions end, connections close. Idempotent. */
  close(): Promise<void>;
}

function checkSeconds(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a number of seconds from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/** Starts a Ringline server. Rejects with ConfigError for bad options. */
export async function startServer(options: ServerOptions = {}): Promise<RinglineServer> {
  const logger: Logger =
    options.logger === true ? consoleLogger() : options.logger ? options.logger : silentLogger;
  const dev = options.dev ?? false;
  const { sdkAppID, secretKey } = await resolveCredentials({
    sdkAppID: options.sdkAppID,
    secretKey: options.secretKey,
    dev,
    dataDir: options.dataDir,
  });
  const inviteTimeout = checkSeconds(
    'inviteTimeout',
    options.inviteTimeout ?? DEFAULTS.inviteTimeout,
    0,
    3600,
  );
  const resumeWindow = checkSeconds(
    'resumeWindow',
    options.resumeWindow ?? DEFAULTS.resumeWindow,
    0,
    3600,
  );
  const pingInterval = checkSeconds(
    'pingInterval',
    options.pingInterval ?? DEFAULTS.pingInterval,
    0.01,
    3600,
  );
  const iceServers = validateIceServers(options.iceServers ?? []);
  const port = options.port ?? DEFAULTS.port;
  const host = options.host ?? DEFAULTS.host;

  const ownsCluster = options.cluster === undefined;
  const cluster = options.cluster ?? createMemoryCluster();
  const nodeID = randomUUID();
  const calls = new CallService({
    store: cluster.calls,
    scheduler: cluster.scheduler,
    locks: cluster.locks,
    deliver: createDelivery(cluster.presence, cluster.bus),
    defaultInviteTimeout: inviteTimeout,
    logger,
  });
  const gateway = new SignalGateway({
    nodeID,
    sdkAppID,
    secretKey,
    iceServers,
    inviteTimeout,
    resumeWindow,
    pingInterval,
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    outboxLimit: options.outboxLimit ?? 1000,
    calls,
    presence: cluster.presence,
    bus: cluster.bus,
    locks: cluster.locks,
    logger,
  });
  const httpOptions: Parameters<typeof buildHttpApp>[0] = { sdkAppID, secretKey, dev, logger };
  if (options.sdkDir !== undefined) httpOptions.sdkDir = options.sdkDir;
  if (options.demoDir !== undefined) httpOptions.demoDir = options.demoDir;
  const app = await buildHttpApp(httpOptions);
  gateway.attach(app.server);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await gateway.close();
      calls.close();
      await app.close();
      if (ownsCluster) await cluster.close();
      logger.info('server stopped');
    })());

  try {
    await app.listen({ port, host });
  } catch (err) {
    await close();
    throw err;
  }
  const bound = (app.server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${bound}`;
  logger.info(`listening on ${url}`, { nodeID });
  return { url, port: bound, sdkAppID, secretKey, close };
}
