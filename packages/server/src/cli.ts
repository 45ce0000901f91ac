/**
 * The `ringline` command (commander: --version, --help per command, suggestions for mistypes):
 *   ringline serve [flags]       run the server
 *   ringline usersig --sdkappid N --secret-key K --user U [--expire S]
 *   ringline group create|delete|add|remove|list|show …   (see groups/cli.ts)
 *   ringline --help | --version
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { DEFAULT_INVITE_TIMEOUT_S } from '@ringline/protocol';
import { genUserSig, DEFAULT_USERSIG_EXPIRE_S } from './auth/usersig.js';
import {
  ConfigError,
  DEFAULTS,
  flagValues,
  resolveCredentials,
  resolveServeConfig,
  serveOptions,
  type FlagValues,
  type ServeFlag,
} from './config.js';
import { addGroupCommand } from './groups/cli.js';
import { describeValue } from './errors.js';
import { pinoLogger } from './log.js';
import { startServer } from './server.js';
import { DEFAULT_LIMITS } from './signal/limits.js';
import { DEFAULT_RATE_LIMIT } from './signal/rate-limit.js';
import { isValidUserID } from './signal/validate.js';

/**
 * `serve`'s flags as its --help lists them, in this order: what each does, then its
 * environment variable and default in brackets.
 */
const SERVE_HELP = {
  config: `settings from a YAML or JSON file whose keys are these flags' long names (port: 8080, multi-device: ring-all, webhook: [URL, URL]); flags and RINGLINE_* variables override it (RINGLINE_CONFIG; docs/deployment.md, "Configuration file")`,
  port: `port to listen on, 0 = any free port (RINGLINE_PORT; ${DEFAULTS.port})`,
  host: `interface to listen on (RINGLINE_HOST; ${DEFAULTS.host}, with --dev ${DEFAULTS.devHost})`,
  sdkappid: `the app's SDKAppID (RINGLINE_SDKAPPID)`,
  'secret-key': `the app's secret key (RINGLINE_SECRET_KEY)`,
  'data-dir': `state directory (RINGLINE_DATA_DIR; ${DEFAULTS.dataDir})`,
  database: `postgres://user:password@host:port/db[?pool_size=N]: groups and call history in Postgres, shared by several nodes (RINGLINE_DATABASE; SQLite in DATA_DIR/ringline.db). Migrates the schema on start`,
  'node-id': `this node's stable name in the store; on start it closes only the call records it left open. Distinct per node sharing a database (RINGLINE_NODE_ID)`,
  'invite-timeout': `seconds an invitation rings, 0 = up to --max-ring-time (RINGLINE_INVITE_TIMEOUT; ${DEFAULT_INVITE_TIMEOUT_S})`,
  'max-ring-time': `the longest an invitation rings, whatever the caller asks; longer timeouts and 0 are clamped to it (RINGLINE_MAX_RING_TIME; ${DEFAULTS.maxRingTime})`,
  'max-invitations-per-call': `invitations one call may have (RINGLINE_MAX_INVITATIONS_PER_CALL; ${DEFAULTS.maxInvitationsPerCall})`,
  'multi-device': `a user's second login: kick = ends the first session (TRTCCalling's behaviour), ring-all = every login is a device that invitations ring (RINGLINE_MULTI_DEVICE; ${DEFAULTS.multiDevice})`,
  'max-devices': `devices one user may have with ring-all, 1-100 (RINGLINE_MAX_DEVICES; ${DEFAULTS.maxDevices})`,
  'ice-servers': `RTCIceServer list, e.g. '[{"urls":"stun:stun.example.org"}]' (RINGLINE_ICE_SERVERS)`,
  dev: `development mode: makes an app key pair in DATA_DIR/app.json if none is given, serves GET /api/dev/usersig?userID=U to this server's own pages, and listens on loopback unless --host is given (RINGLINE_DEV)`,
  janus: `the SFU for group calls (RINGLINE_JANUS; auto): auto = start the local janus binary (apt-get install janus) with a config in DATA_DIR/janus, off = no group calls, ws://host:8188 = an external Janus (websockets), ws://a:8188,ws://b:8188 = a pool: each new group call's room goes on the least-loaded Janus that answers; a dead one's rooms move to another`,
  'janus-interface': `the only interface Janus gathers ICE candidates on (ice_enforce_list) (RINGLINE_JANUS_INTERFACE; default RINGLINE_MEDIA_IFACE, else all)`,
  p2p: `one-to-one calls peer-to-peer (on), or through the SFU too (RINGLINE_P2P; on)`,
  'api-docs': `the REST API's OpenAPI document and Swagger UI at /api/docs (RINGLINE_API_DOCS; on)`,
  'sfu-heal-timeout': `seconds a group call waits for a restarted or unreachable Janus before it ends (RINGLINE_SFU_HEAL_TIMEOUT; ${DEFAULTS.sfuHealTimeout})`,
  'drain-timeout': `seconds a SIGTERM waits for calls to end before the server stops, 0 = stop at once (RINGLINE_DRAIN_TIMEOUT; ${DEFAULTS.drainTimeout})`,
  'http-request-timeout': `seconds for an HTTP request's headers and body to arrive, 0 = none (RINGLINE_HTTP_REQUEST_TIMEOUT; ${DEFAULTS.httpRequestTimeout})`,
  'http-headers-timeout': `seconds for its headers to arrive, at most the request timeout (RINGLINE_HTTP_HEADERS_TIMEOUT; ${DEFAULTS.httpHeadersTimeout})`,
  'http-keepalive-timeout': `seconds an idle keep-alive connection is kept (RINGLINE_HTTP_KEEPALIVE_TIMEOUT; ${DEFAULTS.httpKeepAliveTimeout})`,
  'http-idle-timeout': `seconds an HTTP connection may stay silent, 0 = none (RINGLINE_HTTP_IDLE_TIMEOUT; ${DEFAULTS.httpIdleTimeout})`,
  'tls-cert': `serve HTTPS and WSS on --port with this PEM certificate (chain), e.g. certbot's fullchain.pem; needs --tls-key (RINGLINE_TLS_CERT). SIGHUP reloads both files: new connections get the new certificate`,
  'tls-key': `the certificate's unencrypted PEM private key (RINGLINE_TLS_KEY)`,
  'trust-proxy': `reverse proxies (IP addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client, so per-address limits count clients, not the proxy (RINGLINE_TRUST_PROXY; none)`,
  redis: `Redis shared by the nodes of one app, redis://[user:pass@]host:6379[/db] (RINGLINE_REDIS; none = in-memory, one node): presence, calls, invitations, timers, locks and session outboxes live there, under ringline:<sdkappid>; sessions survive their node (a client resumes on any node; docs/deployment.md, "Node loss")`,
  webhook: `an http(s) endpoint every call event is POSTed to, signed (repeat for several, at most 16; RINGLINE_WEBHOOK, comma-separated). Deliveries wait in the store and are retried for 24 h (docs/webhooks.md)`,
  'webhook-secret': `the HMAC-SHA256 key deliveries are signed with, 16-256 characters: one for every --webhook, or one per --webhook in the same order (RINGLINE_WEBHOOK_SECRET, comma-separated)`,
  state: `where a single node (no --redis) keeps its live state (RINGLINE_STATE; sqlite): sqlite = DATA_DIR/state.db, so a restart keeps calls and ringing invitations and clients resume (docs/deployment.md, "What a restart keeps"); memory = in the process, a stop ends every call`,
  'log-level': `debug, info, warn or error (RINGLINE_LOG_LEVEL; info); JSON lines, or readable ones when stderr is a terminal`,
  turn: `TURN for clients and Janus (RINGLINE_TURN; off): auto = start the local turnserver (apt-get install coturn) with a config in DATA_DIR/turn; turn:host:port[,...] = an external coturn (needs --turn-secret). Clients get stun:/turn: URLs with credentials minted per session and renewed`,
  'turn-secret': `the external coturn's static-auth-secret; with auto it replaces the secret generated in DATA_DIR/turn/secret (RINGLINE_TURN_SECRET)`,
  'turn-ttl': `seconds a minted TURN credential is valid, 60-604800 (RINGLINE_TURN_TTL; 86400); sessions get fresh ones at 80 % of it`,
  'turn-port': `auto: coturn's UDP and TCP port (RINGLINE_TURN_PORT; 3478)`,
  'turn-relay-ports': `auto: coturn's relay port range (RINGLINE_TURN_RELAY_PORTS; 49152-65535)`,
  'turn-allowed-peer-ip': `auto: private or special ranges coturn may relay to after all (it refuses 10/8, 172.16/12, 192.168/16, 100.64/10, loopback, link-local...) (RINGLINE_TURN_ALLOWED_PEER_IP)`,
  'public-ip': `the address clients reach this machine at: the host in auto's URLs, and Janus's 1:1 NAT mapping (RINGLINE_PUBLIC_IP; default --host)`,
  'ice-transport-policy': `relay = clients send all media through TURN and never learn each other's addresses; needs TURN (RINGLINE_ICE_TRANSPORT_POLICY; all)`,
  'max-connections': `WebSocket connections at once; more get HTTP 503 (RINGLINE_MAX_CONNECTIONS; ${DEFAULT_LIMITS.maxConnections})`,
  'max-connections-per-address': `the same from one source address; more get HTTP 429 (RINGLINE_MAX_CONNECTIONS_PER_ADDRESS; ${DEFAULT_LIMITS.maxConnectionsPerAddress})`,
  'login-timeout': `seconds a connection may stay without logging in (RINGLINE_LOGIN_TIMEOUT; ${DEFAULT_LIMITS.loginTimeout})`,
  'rate-limit': `requests per session: burst B, then R per second (RINGLINE_RATE_LIMIT; ${DEFAULT_RATE_LIMIT.burst}/${DEFAULT_RATE_LIMIT.perSecond})`,
  'prelogin-rate-limit': `frames before login, per source address (RINGLINE_PRELOGIN_RATE_LIMIT; ${DEFAULT_LIMITS.preLoginRateLimit.burst}/${DEFAULT_LIMITS.preLoginRateLimit.perSecond})`,
  'rate-limit-close-after': `frames dropped in a row for the rate limit before the connection is closed (RINGLINE_RATE_LIMIT_CLOSE_AFTER; ${DEFAULT_LIMITS.rateLimitCloseAfter})`,
  'max-buffered-bytes': `outgoing bytes a session's connection may have waiting (RINGLINE_MAX_BUFFERED_BYTES; ${DEFAULT_LIMITS.maxBufferedBytes})`,
  'max-buffered-bytes-before-login': `the same before login (RINGLINE_MAX_BUFFERED_BYTES_BEFORE_LOGIN; ${DEFAULT_LIMITS.maxBufferedBytesBeforeLogin})`,
  'resume-window': `seconds a session whose connection dropped (or whose node died) waits for its client to resume it (RINGLINE_RESUME_WINDOW; ${DEFAULTS.resumeWindow})`,
  'outbox-limit': `pushes kept per session for resuming (RINGLINE_OUTBOX_LIMIT; ${DEFAULTS.outboxLimit})`,
  'outbox-bytes': `bytes of pushes kept per session for resuming (RINGLINE_OUTBOX_BYTES; ${DEFAULT_LIMITS.outboxBytes})`,
  'max-depth': `how deep a frame's arrays/objects may nest (RINGLINE_MAX_DEPTH; ${DEFAULT_LIMITS.maxDepth})`,
} satisfies Record<ServeFlag | 'config', string>;

/** The help's sections after the general flags. */
const SERVE_HELP_GROUPS: [heading: string, flags: ReadonlySet<string>][] = [
  [
    'TURN and NAT traversal (docs/deployment.md, "TURN" and "Public IPs on cloud machines"):',
    new Set([
      'turn',
      'turn-secret',
      'turn-ttl',
      'turn-port',
      'turn-relay-ports',
      'turn-allowed-peer-ip',
      'public-ip',
      'ice-transport-policy',
    ]),
  ],
  [
    'Signalling limits (docs/limits.md says what a client sees when one is hit):',
    new Set([
      'max-connections',
      'max-connections-per-address',
      'login-timeout',
      'rate-limit',
      'prelogin-rate-limit',
      'rate-limit-close-after',
      'max-buffered-bytes',
      'max-buffered-bytes-before-login',
      'resume-window',
      'outbox-limit',
      'outbox-bytes',
      'max-depth',
    ]),
  ],
];

const EXIT_CODES = 'Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.';

/** This package's version (src/ and dist/ are both one level below package.json). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Stops `serve` (the real CLI wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Cuts short the drain of a stopping `serve` (the real CLI wires a second SIGINT/SIGTERM to it). */
  now?: AbortSignal;
  /** Called once `serve` is listening (tests use it to find the URL). */
  onListening?: (url: string) => void;
  /** `hangup` events on it reload the TLS certificate (the real CLI wires SIGHUP to it). */
  hangup?: EventTarget;
}

/** Runs the CLI; resolves with the exit code. `serve` resolves when stopped. */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const exit = { code: 0 };
  try {
    const cli = program({ ...io, stdout: out, stderr: err, env: io.env ?? process.env }, exit);
    await cli.parseAsync(argv, { from: 'user' });
    return exit.code;
  } catch (e) {
    // Commander has written the help, the version or the usage mistake already.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      err.write(`ringline: ${e.message}\n`);
      return e.exitCode;
    }
    err.write(`ringline: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** The `ringline` program; a command's action leaves its exit code in `exit.code`. */
function program(io: CliIO, exit: { code: number }): Command {
  const ringline = new Command('ringline')
    .description('self-hosted calling server with a TRTCCalling-compatible SDK')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .exitOverride()
    // serve's long flag names leave a narrow column for the text: wrap it all the same.
    .configureHelp({ minWidthToWrap: 30 })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'ringline: ')),
    })
    .addHelpText('after', `\nRun "ringline COMMAND --help" for its flags.\n${EXIT_CODES}`);

  const serveCommand = ringline
    .command('serve')
    .description('run the server (flags > RINGLINE_* variables > --config file > defaults)')
    .addHelpText('after', `\n${EXIT_CODES}`)
    .action(async (_options: unknown, cmd: Command) => {
      exit.code = await serve(flagValues(cmd), io);
    });
  const options = new Map(serveOptions().map((o) => [o.long!.slice(2), o]));
  for (const [flag, text] of Object.entries(SERVE_HELP)) {
    const option = options.get(flag)!;
    option.description = text;
    const group = SERVE_HELP_GROUPS.find(([, flags]) => flags.has(flag))?.[0];
    if (group !== undefined) option.helpGroup(group);
    serveCommand.addOption(option);
  }

  ringline
    .command('usersig')
    .description("print a userSig: a user's login ticket, signed with the app's secret key")
    .option('--sdkappid <N>', "the app's SDKAppID")
    .option('--secret-key <KEY>', "the app's secret key")
    .option('--user <ID>', 'the user ID: 1-32 letters, digits, "-" or "_"')
    .option('--expire <SECONDS>', `how long it is valid (default ${DEFAULT_USERSIG_EXPIRE_S})`)
    .addHelpText('after', `\n${EXIT_CODES}`)
    .action((options: UsersigFlags) => {
      io.stdout.write(usersig(options) + '\n');
    });

  addGroupCommand(ringline, io);
  return ringline;
}

/** `usersig`'s flags as commander names them. */
interface UsersigFlags {
  sdkappid?: string;
  secretKey?: string;
  user?: string;
  expire?: string;
}

function usersig({ sdkappid, secretKey, user, expire }: UsersigFlags): string {
  if (!sdkappid || !secretKey || !user) {
    throw new ConfigError('usersig needs --sdkappid, --secret-key and --user');
  }
  const sdkAppID = Number(sdkappid);
  if (!/^\d+$/.test(sdkappid) || !Number.isSafeInteger(sdkAppID) || sdkAppID < 1) {
    throw new ConfigError(`--sdkappid must be a positive integer, got "${sdkappid}"`);
  }
  if (!isValidUserID(user)) {
    throw new ConfigError(
      `--user "${user}" is not a valid user ID (1-32 letters, digits, "-" or "_")`,
    );
  }
  let seconds: number | undefined;
  if (expire !== undefined) {
    seconds = Number(expire);
    if (!/^\d+$/.test(expire) || !Number.isSafeInteger(seconds) || seconds < 1) {
      throw new ConfigError(`--expire must be a positive integer of seconds, got "${expire}"`);
    }
  }
  const options: Parameters<typeof genUserSig>[0] = { sdkAppID, secretKey, userID: user };
  if (seconds !== undefined) options.expire = seconds;
  return genUserSig(options);
}

async function serve(values: FlagValues, io: CliIO): Promise<number> {
  const config = resolveServeConfig(values, io.env);
  const creds = await resolveCredentials(config);
  const logger = pinoLogger({
    level: config.logLevel,
    out: io.stderr as NodeJS.WritableStream,
  });
  const server = await startServer({
    ...config,
    sdkAppID: creds.sdkAppID,
    secretKey: creds.secretKey,
    logger,
  });
  // A failed reload is logged by the server and keeps the old certificate.
  const onHangup = () => {
    if (config.tls) void server.reloadTls().catch(() => undefined);
    else logger.info('SIGHUP: nothing to reload (no --tls-cert)');
  };
  io.hangup?.addEventListener('hangup', onHangup);
  io.stdout.write(`Ringline server listening on ${server.url}\n`);
  if (config.dev) {
    io.stdout.write(
      `Development mode${creds.file ? ` (credentials in ${creds.file})` : ''}:\n` +
        `  SDKAppID:  ${server.sdkAppID}\n` +
        `  SecretKey: ${server.secretKey}\n` +
        `  userSigs:  ${server.url}/api/dev/usersig?userID=<user>\n`,
    );
  }
  io.onListening?.(server.url);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) return resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  io.hangup?.removeEventListener('hangup', onHangup);
  const cut = () => void server.close({ drain: false });
  if (io.now?.aborted) cut();
  io.now?.addEventListener('abort', cut, { once: true });
  await server.close();
  io.now?.removeEventListener('abort', cut);
  return 0;
}

/** Runs as the program when this file is the entry (`node dist/cli.js serve`). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url;
  } catch {
    return false;
  }
}

/** Calls `gone` once when this process's parent exits (it is reparented); checks every second. */
function watchParent(gone: () => void): NodeJS.Timeout {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone();
  }, 1000);
  timer.unref();
  return timer;
}

/** The process entry: wires signals to a clean shutdown and exits with main's code. */
export async function run(argv = process.argv.slice(2)): Promise<void> {
  const stop = new AbortController();
  const now = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 2) {
      process.stderr.write(`ringline: third ${sig}, exiting now\n`);
      process.exit(130);
    }
    if (signals > 1) {
      // Janus and coturn are still stopped in order; a third signal exits without that.
      process.stderr.write(`ringline: second ${sig}, stopping without draining\n`);
      now.abort();
      return;
    }
    process.stderr.write(`ringline: ${sig}, draining, then shutting down\n`);
    stop.abort();
  };
  // A server keeps serving through a failure that escaped every guard: it is logged, and the
  // one request or connection it came from is lost, not every user's calls.
  const onUncaught = (err: unknown, origin: string) => {
    process.stderr.write(
      `ringline: ${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'} ` +
        `(kept serving): ${err instanceof Error ? (err.stack ?? err.message) : describeValue(err)}\n`,
    );
  };
  const onRejection = (reason: unknown) => onUncaught(reason, 'unhandledRejection');
  const serving = argv[0] === 'serve';
  // SIGHUP reloads the TLS certificate (certbot's deploy hook) instead of ending the server.
  const hangup = new EventTarget();
  const onHangup = () => hangup.dispatchEvent(new Event('hangup'));
  if (serving) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
    process.on('SIGHUP', onHangup);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Under `npm start` or `npx ringline`, npm is the parent, and a SIGTERM to it does not reach
  // this process: it would be left serving (with Janus and coturn) after npm exits. So a server
  // run by npm stops as for SIGTERM when its parent goes away.
  const orphanWatch =
    serving && process.env.npm_command !== undefined
      ? watchParent(() => onSignal('SIGTERM'))
      : undefined;
  const code = await main(argv, { signal: stop.signal, now: now.signal, hangup });
  clearInterval(orphanWatch);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (serving) {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    process.off('SIGHUP', onHangup);
  }
  process.exitCode = code;
}

if (isEntry()) await run();
