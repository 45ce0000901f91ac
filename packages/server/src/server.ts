/** `startServer`: wires config, cluster adapters, the call service, signalling and HTTP together. */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { IceServer, IceTransportPolicy } from '@ringline/protocol';
import type { CallObserver } from './calls/events.js';
import { CallService } from './calls/service.js';
import { createDelivery, createDeviceDelivery, createSharedDelivery } from './cluster/delivery.js';
import { createMemoryCluster } from './cluster/memory.js';
import { createRedisCluster } from './cluster/redis/index.js';
import { createSqliteCluster, STATE_FILE } from './cluster/sqlite/index.js';
import type { ClusterAdapters, DeviceStore } from './cluster/types.js';
import { TimerRouter } from './cluster/timer-router.js';
import {
  checkHttpTimeouts,
  ConfigError,
  DEFAULTS,
  parseJanusMode,
  parseWebhooks,
  type WebhookEndpointConfig,
  resolveCredentials,
  validateIceServers,
  type MultiDeviceMode,
} from './config.js';
import { GroupService } from './groups/index.js';
import { historyObserver } from './history/observer.js';
import { buildHttpApp, DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from './http/app.js';
import { pinoLogger, silentLogger, type Logger } from './log.js';
import { TrustedProxies } from './http/proxy.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, SignalGateway, type EdgeStats } from './signal/gateway.js';
import { LimitError, checkRate, resolveLimits, type SignalLimits } from './signal/limits.js';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './signal/rate-limit.js';
import { callLogObserver } from './call-log/index.js';
import { Metrics } from './metrics/index.js';
import { checkDataDirWritable, checkPortFree } from './preflight.js';
import { cached, CHECK_TIMEOUT_MS, readiness } from './probes/readiness.js';
import { createSfu, JanusPool, type SfuAdapter } from './sfu/index.js';
import { openStore, type Store } from './store/index.js';
import { WebhookEnqueuer } from './webhooks/outbox.js';
import { shownURL, WebhookWorker, type WebhookWorkerOptions } from './webhooks/worker.js';
import { resolveTurn, startTurn, type TurnService } from './turn/index.js';
import { checkTlsFiles, loadTls, type TlsFiles, type TlsMaterial } from './tls/certificate.js';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to listen on. Default 0.0.0.0; in dev mode 127.0.0.1 (loopback only). */
  host?: string;
  /** The app served; with `secretKey`. Without both, `dev` must be set. */
  sdkAppID?: number;
  secretKey?: string;
  /** Where dev mode keeps its app.json (and the SQLite store its ringline.db). Default ./.ringline. */
  dataDir?: string;
  /**
   * `postgres://user:password@host:port/database[?pool_size=N]`: keep groups and call history in
   * Postgres, which several nodes can share. Default: SQLite in DATA_DIR/ringline.db.
   */
  database?: string;
  /**
   * This node's stable name in the store (its host or pod name): its call records carry it, and
   * on start it closes only the records it left open. Nodes sharing a database need distinct
   * names. Default: '' (one node).
   */
  nodeID?: string;
  /** Default invitation timeout, seconds (0 = up to `maxRingTime`). Default 30. */
  inviteTimeout?: number;
  /** The longest an invitation rings, seconds; longer timeouts and 0 are clamped. Default 60. */
  maxRingTime?: number;
  /** Invitations one call may have over its life. Default 100. */
  maxInvitationsPerCall?: number;
  /**
   * A user's second login: `kick` (the default, TRTCCalling's behaviour) ends the first session;
   * `ring-all` keeps every login as a device, and invitations ring them all.
   */
  multiDevice?: MultiDeviceMode;
  /** Devices one user may have with `ring-all`. Default 5. */
  maxDevices?: number;
  /** STUN/TURN servers handed to clients at login, after ours (`turn`). Default none. */
  iceServers?: IceServer[];
  /**
   * TURN for clients (and Janus): `auto` starts and supervises a local coturn (`turnserver`, config
   * in DATA_DIR/turn), `turn:host:port[,…]` uses an external coturn sharing `turnSecret`, `off`
   * (the default) has none. Clients get credentials minted per session, renewed before they expire.
   */
  turn?: string;
  /** The external coturn's `static-auth-secret`; with `auto`, replaces the generated one. */
  turnSecret?: string;
  /** Seconds a minted TURN credential stays valid, 60 to 604800. Default 86400. */
  turnTtl?: number;
  /** `auto`: coturn's UDP and TCP port. Default 3478. */
  turnPort?: number;
  /** `auto`: coturn's relay ports. Default 49152-65535. */
  turnRelayPorts?: { min: number; max: number };
  /**
   * `auto`: CIDR blocks coturn may relay to although they are private or special (it refuses
   * 10/8, 172.16/12, 192.168/16, 100.64/10, loopback, link-local… by default).
   */
  turnAllowedPeerIps?: string[];
  /**
   * The address clients reach this machine at (`auto`: in the stun:/turn: URLs; Janus: its
   * `nat_1_1_mapping`). Default: `host`.
   */
  publicIp?: string;
  /** `relay` tells clients to send all media through TURN (needs TURN). Default `all`. */
  iceTransportPolicy?: IceTransportPolicy;
  /** The `turnserver` executable for `turn: 'auto'`; `turnserver` on PATH when absent. */
  turnBinary?: string;
  /** Renew sessions' TURN credentials after this many ms, not at 80 % of the TTL (tests only). */
  iceRenewalMs?: number;
  /** Development mode: makes and keeps app credentials, serves /api/dev/usersig. */
  dev?: boolean;
  /** Serve the REST API's OpenAPI document and Swagger UI at /api/docs. Default true. */
  apiDocs?: boolean;
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
  /**
   * The signalling edge's other limits (connections, login deadline, buffered bytes, nesting,
   * the per-address rate before login); each left out has its default (`DEFAULT_LIMITS`,
   * docs/limits.md).
   */
  limits?: Partial<SignalLimits>;
  /**
   * Shared-state adapters; nodes given the same adapters form one cluster. Default: Redis with
   * `redis`, else the single node's `state` (SQLite in DATA_DIR/state.db).
   */
  cluster?: ClusterAdapters;
  /**
   * Observers of the calls' domain events (invited, answered, ended…; calls/events.ts), after
   * the call history's own.
   */
  callObservers?: readonly CallObserver[];
  /**
   * Redis shared by the nodes of one app (redis://host:6379): presence, calls and invitations,
   * the node bus, timers and locks live there (cluster/redis), under `ringline:<sdkAppID>`.
   * Ignored when `cluster` is given.
   */
  redis?: string;
  /**
   * Where a single node (no `redis`) keeps its live state — calls, invitations, timers, sessions:
   * `sqlite` (the default) in DATA_DIR/state.db, so that a restart keeps calls and ringing and
   * clients resume; `memory` in the process, lost when it stops (and a stop ends every call).
   * Ignored when `cluster` is given; ConfigError with `redis`.
   */
  state?: StateMode;
  /** Where the SDK bundles are read from. Default packages/calling/dist. */
  sdkDir?: string;
  /** Where the demo is served from. Default apps/demo/dist. */
  demoDir?: string;
  /**
   * The SFU for group calls: `auto` starts the local `janus` (config in DATA_DIR/janus), a ws://
   * URL uses an external Janus, `off` has none (group calls fail with SFU_UNAVAILABLE). Default
   * `off` here so that embedding and tests start no process unasked; `ringline serve` defaults
   * to `auto`.
   */
  janus?: string;
  /** The only interface a Janus started by `auto` gathers ICE candidates on. */
  janusInterface?: string;
  /** An SFU the caller owns (tests share one Janus between servers); overrides `janus`. */
  sfu?: SfuAdapter;
  /** One-to-one calls peer-to-peer (default true); false sends every call through the SFU. */
  p2p?: boolean;
  /**
   * Seconds a group call whose SFU room was lost (Janus restarted or unreachable) waits for Janus
   * to answer again; then it ends with `sfu_lost`. Default 20.
   */
  sfuHealTimeout?: number;
  /**
   * Milliseconds an SFU request routed to the node that drives the call's room waits for its
   * reply before SFU_NODE_UNREACHABLE. Default SFU_ROUTE_TIMEOUT_MS (8 s); tests shorten it.
   */
  sfuRouteTimeoutMs?: number;
  /**
   * HTTP client timeouts in seconds (0 = none). Default: request 30, headers 10, keep-alive 5,
   * idle 60.
   */
  httpTimeouts?: Partial<HttpTimeouts>;
  /**
   * Serve HTTPS and WSS on the port with this certificate (chain) and key, PEM files; both or
   * neither. `reloadTls()` (SIGHUP in `ringline serve`) reads them again. Default plain HTTP.
   */
  tls?: TlsFiles;
  /**
   * Reverse proxies (IP addresses or CIDR ranges) whose X-Forwarded-For names the client: the
   * per-address limits then count the client, not the proxy. Default none (the header is ignored).
   */
  trustProxy?: string[];
  /**
   * Webhook receivers, each with its signing secret: every call event (and kicked session) is
   * POSTed, signed, to each, from a durable outbox in the store (docs/webhooks.md).
   */
  webhooks?: WebhookEndpointConfig[];
  /** Webhook delivery tuning (poll, timeouts, retries, retention); tests shorten it. */
  webhookDelivery?: Omit<WebhookWorkerOptions, 'endpoints' | 'outbox' | 'logger'>;
  /**
   * Milliseconds `close()` drains before it stops (SIGTERM): new connections and logins are
   * refused, clients are told to reconnect elsewhere (their sessions are kept), and it waits for
   * them to go, for the group calls on the Janus it started (`janus: 'auto'`) to end, and with the
   * state in memory for its users' calls to end. Then those SFU calls still going end with
   * `server_shutdown`. 0 stops at once. Default 30000 (docs/operations.md, "Graceful shutdown").
   */
  drainTimeoutMs?: number;
}

export interface RinglineServer {
  /** http://host:port, or https://host:port with `tls` */
  url: string;
  port: number;
  sdkAppID: number;
  secretKey: string;
  /** What the signalling edge holds now and has refused, dropped or closed (for metrics, tests). */
  edgeStats(): Readonly<EdgeStats> & { connections: number; iceRenewals: number };
  /**
   * Reads the `tls` files again and uses them for new connections; open ones keep going. On any
   * failure (ConfigError) the old certificate stays and an error is logged. Without `tls` it
   * rejects with ConfigError.
   */
  reloadTls(): Promise<void>;
  /**
   * Stops the server, after a drain of up to `drainTimeoutMs` (`drain: false` skips it, or cuts
   * short one under way: a second SIGTERM). Sessions that outlive the node (Redis, the SQLite
   * state) are kept for their clients to resume; in memory they end. Idempotent.
   */
  close(options?: { drain?: boolean }): Promise<void>;
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
    options.logger === true ? pinoLogger() : options.logger ? options.logger : silentLogger;
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
  const maxRingTime = checkSeconds(
    'maxRingTime',
    options.maxRingTime ?? DEFAULTS.maxRingTime,
    1,
    3600,
  );
  const maxInvitationsPerCall = options.maxInvitationsPerCall ?? DEFAULTS.maxInvitationsPerCall;
  const maxDevices = options.maxDevices ?? DEFAULTS.maxDevices;
  if (!Number.isSafeInteger(maxDevices) || maxDevices < 1 || maxDevices > 100) {
    throw new ConfigError(`maxDevices must be an integer from 1 to 100, got ${maxDevices}`);
  }
  const multiDeviceMode = options.multiDevice ?? DEFAULTS.multiDevice;
  if (multiDeviceMode !== 'kick' && multiDeviceMode !== 'ring-all') {
    throw new ConfigError(`multiDevice must be kick or ring-all, got ${String(multiDeviceMode)}`);
  }
  if (!Number.isSafeInteger(maxInvitationsPerCall) || maxInvitationsPerCall < 1) {
    throw new ConfigError(
      `maxInvitationsPerCall must be a positive integer, got ${maxInvitationsPerCall}`,
    );
  }
  // What an invite without a timeout rings for, as login tells clients.
  const ringTime = inviteTimeout === 0 ? maxRingTime : Math.min(inviteTimeout, maxRingTime);
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
  const sfuHealTimeout = checkSeconds(
    'sfuHealTimeout',
    options.sfuHealTimeout ?? DEFAULTS.sfuHealTimeout,
    0.1,
    3600,
  );
  const iceServers = validateIceServers(options.iceServers ?? []);
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs < 0 || drainTimeoutMs > 3_600_000) {
    throw new ConfigError(
      `drainTimeoutMs must be a number of ms from 0 to 3600000, got ${drainTimeoutMs}`,
    );
  }
  const host = options.host ?? (dev ? DEFAULTS.devHost : DEFAULTS.host);
  const ice = resolveTurn({
    turn: options.turn,
    turnSecret: options.turnSecret,
    turnTtl: options.turnTtl,
    turnPort: options.turnPort,
    turnRelayPorts: options.turnRelayPorts,
    turnAllowedPeerIps: options.turnAllowedPeerIps,
    publicIp: options.publicIp,
    iceTransportPolicy: options.iceTransportPolicy,
    host,
    iceServers,
  });
  const renewal = options.iceRenewalMs;
  if (renewal !== undefined && !(Number.isFinite(renewal) && renewal >= 10)) {
    throw new ConfigError(`iceRenewalMs must be at least 10 (ms), got ${renewal}`);
  }
  let limits: SignalLimits;
  let rateLimit: RateLimitOptions;
  const outboxLimit = options.outboxLimit ?? DEFAULTS.outboxLimit;
  try {
    limits = resolveLimits(options.limits);
    rateLimit = checkRate('rateLimit', options.rateLimit ?? DEFAULT_RATE_LIMIT);
    if (!Number.isSafeInteger(outboxLimit) || outboxLimit < 1) {
      throw new LimitError(`outboxLimit must be an integer ≥ 1, got ${outboxLimit}`);
    }
  } catch (err) {
    if (err instanceof LimitError) throw new ConfigError(err.message);
    throw err;
  }
  const port = options.port ?? DEFAULTS.port;
  const httpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...options.httpTimeouts };
  for (const [name, value] of Object.entries(httpTimeouts)) {
    checkSeconds(`httpTimeouts.${name}`, value, 0, 3600);
  }
  checkHttpTimeouts(httpTimeouts);
  const tlsFiles = checkTlsFiles(options.tls);
  const proxies = options.trustProxy?.length ? new TrustedProxies(options.trustProxy) : undefined;
  const webhooks = parseWebhooks(
    (options.webhooks ?? []).map((w) => w.url),
    (options.webhooks ?? []).map((w) => w.secret),
  );
  let tls: TlsMaterial | undefined;
  if (tlsFiles) {
    tls = await loadTls(tlsFiles);
    logCertificate(logger, 'TLS certificate loaded', tls);
  }

  const dataDir = options.dataDir ?? DEFAULTS.dataDir;
  // Every check before the cluster opens (a Redis connection, or the state file's lock).
  const janusMode = parseJanusMode(options.janus ?? 'off');
  const state = checkStateMode(options.state, options.redis !== undefined);
  const ownsCluster = options.cluster === undefined;
  const cluster =
    options.cluster ??
    (options.redis !== undefined
      ? await createRedisCluster({
          url: options.redis,
          // One Redis may serve several apps.
          prefix: `ringline:${sdkAppID}`,
          logger,
          ...(options.outboxLimit !== undefined && { outboxLimit: options.outboxLimit }),
        })
      : state === 'sqlite'
        ? openStateFile(dataDir, logger, options.outboxLimit)
        : createMemoryCluster());
  // A fresh identity per process: after a restart the previous process is a dead node, whose
  // sessions its clients resume here (or which end after the resume window), as with Redis.
  const nodeID = randomUUID();
  const metrics = new Metrics();
  // Calls outlive this process when their state does (SQLite on one node): a stop leaves its
  // sessions for their clients to resume after the restart, instead of ending them.
  const keepSessionsOnClose = ownsCluster && options.redis === undefined && state === 'sqlite';
  // Invitation timeouts and (with shared sessions) sessions' resume windows share the scheduler.
  const timers = new TimerRouter(cluster.scheduler);
  // Sessions survive their node when the cluster shares them (Redis); else they live in memory.
  const shared =
    cluster.sessions && cluster.nodes
      ? { sessions: cluster.sessions, nodes: cluster.nodes, timers: timers.view('session') }
      : undefined;
  let multiDevice: { devices: DeviceStore; max: number } | undefined;
  if (multiDeviceMode === 'ring-all') {
    if (!cluster.devices) {
      if (ownsCluster) await cluster.close();
      throw new ConfigError('--multi-device ring-all needs cluster adapters that keep devices');
    }
    multiDevice = { devices: cluster.devices, max: maxDevices };
  }
  // Parts are opened in order; close() closes whichever exist, so a failed start leaves nothing open.
  let store: Store | undefined;
  let turn: TurnService | undefined;
  let ownedSfu: SfuAdapter | undefined;
  let calls: CallService | undefined;
  let gateway: SignalGateway | undefined;
  let webhookWorker: WebhookWorker | undefined;
  let app: Awaited<ReturnType<typeof buildHttpApp>> | undefined;
  let enqueuer: WebhookEnqueuer | undefined;
  let closing: Promise<void> | undefined;
  /** Closing: /readyz says so, so a balancer sends new clients elsewhere. */
  let draining = false;
  /** Set once the server listens: a start that failed has nothing to drain. */
  let listening = false;
  let cutDrain = (): void => {};
  const drainCut = new Promise<void>((resolve) => (cutDrain = resolve));
  // Whose media stops with this process: the Janus `auto` started (an external one goes on, and
  // the other nodes take over the rooms this node drove).
  const ownJanus = (): boolean => ownedSfu !== undefined && janusMode === 'auto';
  const drain = async (timeoutMs: number): Promise<void> => {
    if (!gateway || !calls || !listening) return;
    const service = calls;
    const started = Date.now();
    logger.info('draining', {
      sessions: gateway.sessionCount,
      connections: gateway.stats.connections,
      timeoutMs,
    });
    const left = await gateway.drain({
      timeoutMs,
      cut: drainCut,
      // The SFU calls on the Janus this node started, which stops with it. (The rooms it drives
      // on an external Janus move to another node after the stop, with a moment's freeze.)
      ownCalls: () => (ownJanus() ? service.ownSfuCalls() : Promise.resolve([])),
    });
    // What this node's Janus still carries cannot go on without it: ended, with a reason.
    const ended = ownJanus()
      ? await service.endOwnSfuCalls().catch((err: unknown) => {
          logger.error('ending the SFU calls at the end of the drain failed', { err });
          return 0;
        })
      : 0;
    logger.info('drained', {
      ...left,
      sfuCallsEnded: ended,
      sessions: gateway.sessionCount,
      ms: Date.now() - started,
    });
  };
  const close = (opts: { drain?: boolean } = {}): Promise<void> => {
    if (opts.drain === false) cutDrain();
    return (closing ??= (async () => {
      draining = true;
      await drain(opts.drain === false ? 0 : drainTimeoutMs);
      await gateway?.close();
      calls?.close();
      await app?.close();
      // After the gateway: ending the sessions closed their calls' rooms first.
      await ownedSfu?.close();
      // After Janus, which asks it for TURN credentials.
      await turn?.close();
      // The last events are in the outbox before the store closes; the next start sends them.
      await enqueuer?.flushed();
      await webhookWorker?.close();
      await store?.close();
      if (ownsCluster) await cluster.close();
      logger.info('server stopped');
    })());
  };

  try {
    // Before any child process starts: a taken port or an unwritable data dir fails here, clearly.
    await checkPortFree(host, port);
    await checkDataDirWritable(dataDir);
    store = await openStore({
      dataDir,
      database: options.database,
      nodeID: options.nodeID,
      logger,
      // Calls still in the live state (Redis, the state file) go on: their records stay open.
      recover: true,
      liveCalls: async (callIDs) => {
        // At once: with Redis the loads share round trips instead of one each.
        const loaded = await Promise.all(callIDs.map((callID) => cluster.calls.load(callID)));
        return new Set(callIDs.filter((_, i) => loaded[i]));
      },
    });
    const groups = new GroupService(store.db);
    if (webhooks.length > 0) {
      const worker = (webhookWorker = new WebhookWorker({
        ...options.webhookDelivery,
        endpoints: webhooks,
        outbox: store.webhookOutbox,
        logger,
      }));
      enqueuer = new WebhookEnqueuer({
        outbox: store.webhookOutbox,
        endpoints: webhooks.map((w) => w.url),
        logger,
        onEnqueued: () => worker.wake(),
      });
      // What a previous run left in the outbox goes out now.
      worker.start();
      logger.info('webhooks on', { endpoints: webhooks.map((w) => shownURL(w.url)) });
    }
    // Before Janus: its config points at our TURN REST endpoint.
    turn = await startTurn({
      resolved: ice,
      staticServers: iceServers,
      dataDir,
      log: logger,
      binary: options.turnBinary,
      renewAfterMs: options.iceRenewalMs,
    });
    let sfu = options.sfu;
    let sfuMissing: string | undefined;
    if (!sfu) {
      const made = await createSfu({
        mode: janusMode,
        dataDir,
        ...(options.janusInterface !== undefined && { iceInterface: options.janusInterface }),
        publicIp: ice.publicIp,
        turnRestApi: turn.janusRest,
        log: logger,
        // Every node of an app shares its secret key, so each can destroy a room a dead node made.
        roomKey: createHmac('sha256', secretKey).update('ringline janus rooms').digest('hex'),
      });
      sfu = ownedSfu = made.sfu;
      sfuMissing = made.message;
    }
    const toSessions = shared
      ? createSharedDelivery(shared.sessions)
      : createDelivery(cluster.presence, cluster.bus);
    calls = new CallService({
      store: cluster.calls,
      scheduler: timers.view('invite'),
      locks: cluster.locks,
      deliver: multiDevice ? createDeviceDelivery(multiDevice.devices, toSessions) : toSessions,
      defaultInviteTimeout: inviteTimeout,
      maxRingTime,
      maxInvitationsPerCall,
      groups,
      presence: cluster.presence,
      ...(multiDevice && { devices: multiDevice.devices }),
      // The call history is one observer of the calls' domain events; the caller's come after it.
      observers: [
        historyObserver(store.callRecords, logger),
        ...(enqueuer ? [enqueuer.observer] : []),
        metrics.observer,
        callLogObserver(logger),
        ...(options.callObservers ?? []),
      ],
      ...(sfu && { sfu }),
      ...(sfuMissing !== undefined && { sfuMissing }),
      p2p: options.p2p ?? DEFAULTS.p2p,
      sfuHealTimeoutMs: sfuHealTimeout * 1000,
      nodeID,
      bus: cluster.bus,
      ...(options.sfuRouteTimeoutMs !== undefined && {
        sfuRouteTimeoutMs: options.sfuRouteTimeoutMs,
      }),
      logger,
    });
    gateway = new SignalGateway({
      nodeID,
      sdkAppID,
      secretKey,
      ice: turn.ice,
      inviteTimeout: ringTime,
      resumeWindow,
      pingInterval,
      rateLimit,
      outboxLimit,
      limits,
      calls,
      presence: cluster.presence,
      bus: cluster.bus,
      locks: cluster.locks,
      ...(shared && { shared }),
      ...(multiDevice && { multiDevice }),
      ...(enqueuer && { onKicked: enqueuer.kicked.bind(enqueuer) }),
      onRequest: metrics.request,
      keepSessionsOnClose,
      logger,
      ...(proxies && { clientAddress: (req) => proxies.clientAddress(req) }),
    });
    const relay = turn;
    // A STUN probe of an external TURN server: at most one every 5 s, however often /readyz is asked.
    const turnCheck = cached(() => relay.reachable(CHECK_TIMEOUT_MS / 2), 5_000);
    const httpOptions: Parameters<typeof buildHttpApp>[0] = {
      sdkAppID,
      secretKey,
      dev,
      logger,
      groups,
      history: store.callHistory,
      // Each history request verifies a userSig, as a login does: the same per-address budget.
      historyRate: limits.preLoginRateLimit,
      timeouts: httpTimeouts,
      ...(options.apiDocs === false && { apiDocs: false }),
      ...(tls && { tls: { cert: tls.cert, key: tls.key } }),
      ...(proxies && { trustProxy: proxies.entries }),
      ready: () => {
        const pool = sfu instanceof JanusPool ? sfu : undefined;
        const stored = store!;
        return readiness(
          {
            store: async () => {
              await stored.db.selectFrom('store_nodes').select('node_id').limit(1).execute();
              return true;
            },
            cluster: () => cluster.health?.ready ?? true,
            // Group calls need a Janus that answers; without an SFU configured there is none to ask.
            janus: pool && (() => pool.members.some((m) => m.connected)),
            turn: turnCheck,
          },
          draining,
        );
      },
      metrics: () => metrics.render(),
    };
    const edge = gateway;
    const outbox = store.webhookOutbox;
    const worker = webhookWorker;
    const sender = enqueuer;
    metrics.attach({
      sessions: () => edge.sessionCount,
      edge: () => edge.stats,
      ...(sfu instanceof JanusPool && { janus: () => sfu.members }),
      ...(worker &&
        sender && {
          webhookBacklog: () => outbox.pending(),
          webhooks: () => ({ ...worker.stats, dropped: sender.dropped }),
        }),
    });
    if (options.sdkDir !== undefined) httpOptions.sdkDir = options.sdkDir;
    if (options.demoDir !== undefined) httpOptions.demoDir = options.demoDir;
    // Pushes for this node's first sessions must not be published before it listens for them.
    await cluster.bus.whenSubscribed();
    app = await buildHttpApp(httpOptions);
    gateway.attach(app.server);
    // Plain HTTP, port scans, clients that distrust the certificate: their handshakes fail here.
    app.server.on('tlsClientError', (err: Error) => logger.debug('TLS handshake failed', { err }));
    await app.listen({ port, host });
    listening = true;
  } catch (err) {
    await close();
    throw err;
  }
  const bound = (app.server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${bound}`;
  logger.info(`listening on ${url}`, { nodeID });
  const edge = gateway;
  const listener = app.server as unknown as TlsListener;
  // One reload at a time, so that two quick SIGHUPs cannot apply their files out of order.
  let reloading: Promise<void> = Promise.resolve();
  const reloadTls = (): Promise<void> => {
    const run = reloading.then(async () => {
      if (!tlsFiles) throw new ConfigError('the server has no TLS certificate to reload');
      try {
        const next = await loadTls(tlsFiles);
        listener.setSecureContext({ cert: next.cert, key: next.key });
        logCertificate(logger, 'TLS certificate reloaded', next);
      } catch (err) {
        logger.error('TLS reload failed, still using the previous certificate', { err });
        throw err;
      }
    });
    reloading = run.catch(() => undefined);
    return run;
  };
  return {
    url,
    port: bound,
    sdkAppID,
    secretKey,
    edgeStats: () => edge.stats,
    reloadTls,
    close,
  };
}

/** Where a single node keeps its live state (ServerOptions.state, `--state`). */
export type StateMode = 'sqlite' | 'memory';

/** `mode` if it is a state mode that fits the rest of the options; ConfigError otherwise. */
function checkStateMode(mode: string | undefined, redis: boolean): StateMode {
  if (mode !== undefined && mode !== 'sqlite' && mode !== 'memory') {
    throw new ConfigError(`--state must be sqlite or memory, got "${String(mode).slice(0, 50)}"`);
  }
  if (mode !== undefined && redis) {
    throw new ConfigError('--state is for a single node; with --redis the live state is in Redis');
  }
  return mode ?? 'sqlite';
}

/** The single node's state file in the data dir (made if missing), held by this process alone. */
function openStateFile(dataDir: string, logger: Logger, outboxLimit: number | undefined) {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`cannot make data dir ${dataDir}: ${(err as Error).message}`);
  }
  return createSqliteCluster({
    file: join(dataDir, STATE_FILE),
    single: true,
    logger,
    ...(outboxLimit !== undefined && { outboxLimit }),
  });
}

/** What an https.Server adds that reloading needs. */
interface TlsListener {
  setSecureContext(options: { cert: Buffer; key: Buffer }): void;
}

function logCertificate(logger: Logger, msg: string, tls: TlsMaterial): void {
  logger.info(msg, tls.summary);
  if (tls.expired)
    logger.warn('the TLS certificate has expired; browsers will refuse it', tls.summary);
}
