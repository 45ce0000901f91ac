/**
 * Server options from CLI flags, environment variables and a config file (in that order of
 * precedence), their validation, and the dev-mode app credentials kept in `<data-dir>/app.json`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname, join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parseDocument } from 'yaml';
import {
  DEFAULT_INVITE_TIMEOUT_S,
  DEFAULT_MAX_RING_TIME_S,
  MAX_INVITE_TIMEOUT_S,
  type IceServer,
  type IceTransportPolicy,
} from '@ringline/protocol';
import { parseTrustProxy } from './http/proxy.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import type { SignalLimits } from './signal/limits.js';
import type { RateLimitOptions } from './signal/rate-limit.js';

/** A configuration mistake: the CLI prints the message and exits with `exitCode`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
}

export const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  /** Dev mode mints userSigs for anyone who asks, so it listens on loopback unless told. */
  devHost: '127.0.0.1',
  dataDir: './.ringline',
  inviteTimeout: DEFAULT_INVITE_TIMEOUT_S,
  maxRingTime: DEFAULT_MAX_RING_TIME_S,
  maxInvitationsPerCall: 100,
  resumeWindow: 30,
  pingInterval: 15,
  janus: 'auto',
  p2p: true,
  /** Seconds a group call waits for a lost SFU (Janus) to come back before it ends. */
  sfuHealTimeout: 20,
  /** Seconds a SIGTERM waits for calls to end before the server stops. */
  drainTimeout: 30,
  /** Seconds for a whole HTTP request (headers and body) to arrive. */
  httpRequestTimeout: 30,
  /** Seconds for an HTTP request's headers to arrive. */
  httpHeadersTimeout: 10,
  /** Seconds an idle keep-alive HTTP connection is kept. */
  httpKeepAliveTimeout: 5,
  /** Seconds an HTTP connection may carry no traffic at all. */
  httpIdleTimeout: 60,
  outboxLimit: 1000,
  multiDevice: 'kick',
  /** Sessions one user may have at once with `--multi-device ring-all`. */
  maxDevices: 5,
} as const;

/**
 * A user's second login: `kick` ends the first session (TRTCCalling's behaviour), `ring-all`
 * keeps both as devices that every invitation rings.
 */
export type MultiDeviceMode = 'kick' | 'ring-all';

/** Where group calls' media goes: a Janus the server starts itself, none, or a Janus at a URL. */
export type JanusMode = 'auto' | 'off' | `ws://${string}` | `wss://${string}`;

/** What `ringline serve` resolves its flags and environment to. */
export interface ServeConfig {
  port: number;
  host: string;
  sdkAppID?: number;
  secretKey?: string;
  dataDir: string;
  /** `postgres://…` for Postgres (--database); absent for SQLite in DATA_DIR/ringline.db. */
  database?: string;
  /** This node's stable name in the store (--node-id); absent for the single node's default. */
  nodeID?: string;
  /** Seconds a session whose connection dropped waits for its client (--resume-window). */
  resumeWindow?: number;
  /** The least a log line must be to be written (--log-level); default info. */
  logLevel: LogLevel;
  inviteTimeout: number;
  /** Seconds an invitation rings at most; longer timeouts (and 0) are clamped to it. */
  maxRingTime: number;
  /** Invitations one call may have over its life; more are TOO_MANY_INVITATIONS. */
  maxInvitationsPerCall: number;
  /** What a user's second login does (--multi-device); absent: `kick`. */
  multiDevice?: MultiDeviceMode;
  /** Devices per user with `ring-all` (--max-devices); more logins are TOO_MANY_DEVICES. */
  maxDevices?: number;
  iceServers: IceServer[];
  dev: boolean;
  janus: JanusMode;
  /** The interface Janus gathers ICE candidates on (its `ice_enforce_list`). */
  janusInterface?: string;
  /** One-to-one calls peer-to-peer (true), or through the SFU like group calls (false). */
  p2p: boolean;
  /** The REST API's OpenAPI document and Swagger UI at /api/docs (on), or a 404 there (off). */
  apiDocs: boolean;
  /** Seconds a call whose SFU room was lost waits for Janus before it ends (`sfu_lost`). */
  sfuHealTimeout: number;
  /** Milliseconds a SIGTERM waits for calls to end (--drain-timeout, in seconds). */
  drainTimeoutMs: number;
  /** HTTP client timeouts, seconds (0 = none); see http/app.ts HttpTimeouts. */
  httpTimeouts: { request: number; headers: number; keepAlive: number; idle: number };
  /** Per-session request rate (only when given; the server has a default). */
  rateLimit?: RateLimitOptions;
  /** Pushes kept per session for resuming (only when given). */
  outboxLimit?: number;
  /** The signalling edge's limits that were given; the rest keep their defaults. */
  limits?: Partial<SignalLimits>;
  /** TURN: `auto`, `off` or external `turn:` URLs (only when given; see ServerOptions.turn). */
  turn?: string;
  turnSecret?: string;
  turnTtl?: number;
  turnPort?: number;
  turnRelayPorts?: { min: number; max: number };
  turnAllowedPeerIps?: string[];
  publicIp?: string;
  iceTransportPolicy?: IceTransportPolicy;
  /** HTTPS/WSS with these PEM files (--tls-cert, --tls-key). */
  tls?: { certFile: string; keyFile: string };
  /** Reverse proxies whose X-Forwarded-For is believed (--trust-proxy). */
  trustProxy?: string[];
  /** Redis shared by the nodes of one app (--redis redis://…); absent: in-memory, one node. */
  redis?: string;
  /** A single node's live state (--state): SQLite in DATA_DIR/state.db (default) or memory. */
  state?: 'sqlite' | 'memory';
  /** Webhook receivers with their signing secrets (--webhook, --webhook-secret). */
  webhooks?: WebhookEndpointConfig[];
}

/** A webhook receiver: where events are POSTed, and the secret they are signed with. */
export interface WebhookEndpointConfig {
  url: string;
  secret: string;
}

/**
 * The signalling limits' flags and variables: [flag, RINGLINE_* variable, limit, min, max].
 * docs/limits.md has a row for each.
 */
const limitFlags = [
  ['max-connections', 'RINGLINE_MAX_CONNECTIONS', 'maxConnections', 1, 10_000_000],
  [
    'max-connections-per-address',
    'RINGLINE_MAX_CONNECTIONS_PER_ADDRESS',
    'maxConnectionsPerAddress',
    1,
    10_000_000,
  ],
  ['login-timeout', 'RINGLINE_LOGIN_TIMEOUT', 'loginTimeout', 1, 3600],
  ['max-buffered-bytes', 'RINGLINE_MAX_BUFFERED_BYTES', 'maxBufferedBytes', 1024, 2 ** 31],
  [
    'max-buffered-bytes-before-login',
    'RINGLINE_MAX_BUFFERED_BYTES_BEFORE_LOGIN',
    'maxBufferedBytesBeforeLogin',
    1024,
    2 ** 31,
  ],
  ['outbox-bytes', 'RINGLINE_OUTBOX_BYTES', 'outboxBytes', 1024, 2 ** 31],
  ['max-depth', 'RINGLINE_MAX_DEPTH', 'maxDepth', 2, 1000],
  [
    'rate-limit-close-after',
    'RINGLINE_RATE_LIMIT_CLOSE_AFTER',
    'rateLimitCloseAfter',
    1,
    10_000_000,
  ],
] as const;

/**
 * How a flag's value may be written in a config file, whose keys are the long flag names: `int`
 * a number or a string, `bool` true or false, `onoff` a boolean or on/off, `list` a string of
 * comma-separated items or a list of strings, `multiple` the same for a repeatable flag, `json`
 * a JSON string or the structure itself, `string` a string (quoted if it looks like a number).
 */
export type FlagKind = 'string' | 'int' | 'bool' | 'onoff' | 'list' | 'multiple' | 'json';

/** `serve`'s flags (bar --config and --help): the value's name in the help, and its kind. */
export const serveFlags = {
  port: { arg: 'N', kind: 'int' },
  host: { arg: 'HOST', kind: 'string' },
  sdkappid: { arg: 'N', kind: 'int' },
  'secret-key': { arg: 'KEY', kind: 'string' },
  'data-dir': { arg: 'DIR', kind: 'string' },
  database: { arg: 'URL', kind: 'string' },
  'node-id': { arg: 'NAME', kind: 'string' },
  'invite-timeout': { arg: 'SECONDS', kind: 'int' },
  'resume-window': { arg: 'SECONDS', kind: 'int' },
  'log-level': { arg: 'LEVEL', kind: 'string' },
  'max-ring-time': { arg: 'SECONDS', kind: 'int' },
  'max-invitations-per-call': { arg: 'N', kind: 'int' },
  'multi-device': { arg: 'MODE', kind: 'string' },
  'max-devices': { arg: 'N', kind: 'int' },
  'ice-servers': { arg: 'JSON', kind: 'json' },
  dev: { kind: 'bool' },
  janus: { arg: 'MODE', kind: 'list' },
  'janus-interface': { arg: 'IF', kind: 'string' },
  p2p: { arg: 'on|off', kind: 'onoff' },
  'api-docs': { arg: 'on|off', kind: 'onoff' },
  'sfu-heal-timeout': { arg: 'SECONDS', kind: 'int' },
  'drain-timeout': { arg: 'SECONDS', kind: 'int' },
  'http-request-timeout': { arg: 'SECONDS', kind: 'int' },
  'http-headers-timeout': { arg: 'SECONDS', kind: 'int' },
  'http-keepalive-timeout': { arg: 'SECONDS', kind: 'int' },
  'http-idle-timeout': { arg: 'SECONDS', kind: 'int' },
  'rate-limit': { arg: 'B/R', kind: 'string' },
  'prelogin-rate-limit': { arg: 'B/R', kind: 'string' },
  'outbox-limit': { arg: 'N', kind: 'int' },
  'max-connections': { arg: 'N', kind: 'int' },
  'max-connections-per-address': { arg: 'N', kind: 'int' },
  'login-timeout': { arg: 'SECONDS', kind: 'int' },
  'max-buffered-bytes': { arg: 'N', kind: 'int' },
  'max-buffered-bytes-before-login': { arg: 'N', kind: 'int' },
  'outbox-bytes': { arg: 'N', kind: 'int' },
  'max-depth': { arg: 'N', kind: 'int' },
  'rate-limit-close-after': { arg: 'N', kind: 'int' },
  turn: { arg: 'MODE', kind: 'list' },
  'turn-secret': { arg: 'SECRET', kind: 'string' },
  'turn-ttl': { arg: 'SECONDS', kind: 'int' },
  'turn-port': { arg: 'N', kind: 'int' },
  'turn-relay-ports': { arg: 'MIN-MAX', kind: 'string' },
  'turn-allowed-peer-ip': { arg: 'CIDR', kind: 'list' },
  'public-ip': { arg: 'IP', kind: 'string' },
  'ice-transport-policy': { arg: 'all|relay', kind: 'string' },
  'tls-cert': { arg: 'FILE', kind: 'string' },
  'tls-key': { arg: 'FILE', kind: 'string' },
  'trust-proxy': { arg: 'ADDRS', kind: 'list' },
  redis: { arg: 'URL', kind: 'string' },
  webhook: { arg: 'URL', kind: 'multiple' },
  'webhook-secret': { arg: 'SECRET', kind: 'multiple' },
  state: { arg: 'MODE', kind: 'string' },
} as const satisfies Record<string, { arg?: string; kind: FlagKind }>;

/** A long flag of `serve`, which is also its key in a config file. */
export type ServeFlag = keyof typeof serveFlags;

/** The flags' values as given: text, true for `--dev`, a list for a repeatable flag. */
export type FlagValues = { [K in ServeFlag | 'config']?: string | boolean | string[] };

/** Parses `serve`'s arguments, its config file and the RINGLINE_* environment. Throws ConfigError. */
export function parseServeArgs(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig & { help: boolean } {
  const cmd = new Command('serve')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false)
    .option('-h, --help');
  for (const option of serveOptions()) cmd.addOption(option);
  try {
    cmd.parse(args, { from: 'user' });
  } catch (err) {
    throw err instanceof CommanderError ? usageError(err) : err;
  }
  return { ...resolveServeConfig(flagValues(cmd), env), help: cmd.opts().help === true };
}

/** `serve`'s options for commander, from `serveFlags`: `--config FILE` first. */
export function serveOptions(): Option[] {
  const options = [new Option('--config <FILE>')];
  for (const [flag, spec] of Object.entries(serveFlags) as [
    ServeFlag,
    (typeof serveFlags)[ServeFlag],
  ][]) {
    if (!('arg' in spec)) {
      options.push(new Option(`--${flag}`));
      continue;
    }
    const option = new Option(`--${flag} <${spec.arg}>`);
    // A repeated flag collects its values; any other takes its last.
    if (spec.kind === 'multiple') {
      option.argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]);
    }
    options.push(option);
  }
  return options;
}

/** The values of `serveOptions()` that `cmd` parsed, keyed by long flag name. */
export function flagValues(cmd: Command): FlagValues {
  const values: FlagValues = {};
  for (const option of cmd.options) {
    const flag = option.long?.slice(2) ?? '';
    const value: unknown = cmd.getOptionValue(option.attributeName());
    if ((Object.hasOwn(serveFlags, flag) || flag === 'config') && value !== undefined) {
      values[flag as ServeFlag | 'config'] = value as string | boolean | string[];
    }
  }
  return values;
}

/** A usage mistake commander found, as a ConfigError (exit 2) with its suggestion on one line. */
function usageError(err: CommanderError): ConfigError {
  return new ConfigError(err.message.replace(/^error: /, '').replace(/\n/g, ' '), { cause: err });
}

/** Where a setting came from, when not a flag: errors name the variable or the file and key. */
type Origin = { env: string } | { file: string };

/**
 * The server's settings from flags, then RINGLINE_* variables, then the config file (--config or
 * RINGLINE_CONFIG), then defaults. Throws ConfigError naming the flag, variable or file and key.
 */
export function resolveServeConfig(values: FlagValues, env: NodeJS.ProcessEnv): ServeConfig {
  const given = typeof values.config === 'string' ? values.config : undefined;
  const path = given ?? (env.RINGLINE_CONFIG || undefined);
  const file =
    path === undefined
      ? undefined
      : loadConfigFile(path, given !== undefined ? '--config' : 'RINGLINE_CONFIG');
  const origin = new Map<string, Origin>();
  try {
    return buildServeConfig(values, env, file, origin);
  } catch (err) {
    throw err instanceof ConfigError ? relabel(err, origin) : err;
  }
}

/**
 * The validators name flags (`--port must be…`); a value from the environment is named by its
 * variable instead, and one from the config file by the file and key (`ringline.yaml: port:`).
 */
function relabel(err: ConfigError, origin: ReadonlyMap<string, Origin>): ConfigError {
  const message = err.message.replace(
    /--([a-z][a-z0-9-]*)(:?)/g,
    (all, flag: string, colon: string, at: number) => {
      const where = origin.get(flag);
      if (where === undefined) return all;
      if ('env' in where) return where.env + colon;
      return at === 0 ? `${where.file}: ${flag}:` : `${flag}${colon} (in ${where.file})`;
    },
  );
  return message === err.message ? err : new ConfigError(message, { cause: err });
}

/** A config file's settings in the flags' terms: text, `dev` true or false, lists for repeatable flags. */
export interface ConfigFile {
  /** The path as given; errors name it. */
  name: string;
  values: { [K in ServeFlag]?: string | boolean | string[] };
}

/** A config file is a page of settings; anything bigger is a mistake. */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * Reads and checks a YAML or JSON config file (JSON by a .json extension, or by a leading `{`
 * with neither .yaml nor .yml): a mapping of long flag names to values of the flag's kind
 * (FlagKind). `by` (--config or RINGLINE_CONFIG) is named if the file cannot be read. Throws
 * ConfigError naming the file and key; never shows a value, which may be a secret.
 */
export function loadConfigFile(path: string, by: string): ConfigFile {
  let text: string;
  try {
    if (statSync(path).size > MAX_CONFIG_FILE_BYTES) {
      throw new ConfigError(`${by}: ${path} is larger than 1 MiB; is it the config file?`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`${by}: cannot read ${path} (${why})`);
  }
  const ext = extname(path).toLowerCase();
  const json = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*\{/.test(text));
  const doc = parseDocument(text, { schema: json ? 'json' : 'core', uniqueKeys: true });
  let data: unknown;
  let syntax = doc.errors[0]?.message;
  if (syntax === undefined) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      syntax = (err as Error).message;
    }
  }
  if (syntax !== undefined) {
    // yaml quotes the source near the mistake, perhaps a secret: say only what and where.
    const what = syntax
      .split('\n')[0]!
      .replace(/\s*"[^"]*"/g, '')
      .replace(/:$/, '');
    throw new ConfigError(`${path}: not valid ${json ? 'JSON' : 'YAML'}: ${what}`);
  }
  if (data === null || data === undefined) return { name: path, values: {} };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `${path}: must be a mapping of settings such as "port: 8080", got ${kindOf(data)}`,
    );
  }
  const values: ConfigFile['values'] = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'config')
      throw new ConfigError(`${path}: config: a config file cannot name another`);
    if (!Object.hasOwn(serveFlags, key)) {
      const like = similarFlag(key);
      throw new ConfigError(
        `${path}: unknown key ${JSON.stringify(key.slice(0, 64))}` +
          (like === undefined
            ? " (the keys are serve's long flag names)"
            : ` (did you mean ${like}?)`),
      );
    }
    values[key as ServeFlag] = fileValue(path, key, serveFlags[key as ServeFlag].kind, value);
  }
  return { name: path, values };
}

/** A config file value as the flag's text (or list, or boolean). Throws ConfigError on a wrong type. */
function fileValue(
  file: string,
  key: string,
  kind: FlagKind,
  value: unknown,
): string | boolean | string[] {
  const wrong = (want: string) =>
    new ConfigError(`${file}: ${key}: must be ${want}, got ${kindOf(value)}`);
  switch (kind) {
    case 'bool':
      if (typeof value === 'boolean') return value;
      throw wrong('true or false');
    case 'onoff':
      if (typeof value === 'boolean') return value ? 'on' : 'off';
      if (typeof value === 'string') return value;
      throw wrong('on or off');
    case 'int':
      if (typeof value === 'number' || typeof value === 'string') return String(value);
      throw wrong('an integer');
    case 'json':
      if (typeof value === 'string') return value;
      if (Array.isArray(value)) return JSON.stringify(value);
      throw wrong('a list of ICE servers ({urls, username?, credential?})');
    case 'list':
    case 'multiple': {
      const items: unknown[] = Array.isArray(value) ? value : [value];
      if (!items.every((v) => typeof v === 'string')) throw wrong('a string or a list of strings');
      if (kind === 'multiple') return items as string[];
      return typeof value === 'string' ? value : (items as string[]).join(',');
    }
    case 'string':
      if (typeof value === 'string') return value;
      throw wrong(typeof value === 'number' ? 'a string (quote it)' : 'a string');
  }
}

/** What a value is, without showing it. */
function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/** The flag a mistyped config key most likely meant (as commander suggests for a mistyped flag). */
function similarFlag(key: string): string | undefined {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
  if (Object.hasOwn(serveFlags, kebab)) return kebab;
  if (!/^[a-z0-9-]{1,64}$/.test(kebab)) return undefined;
  const probe = new Command()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false);
  for (const flag of Object.keys(serveFlags)) probe.option(`--${flag}`);
  try {
    probe.parse([`--${kebab}`], { from: 'user' });
  } catch (err) {
    return /Did you mean --([a-z0-9-]+)\?/.exec((err as Error).message)?.[1];
  }
  return undefined;
}

function buildServeConfig(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  file: ConfigFile | undefined,
  origin: Map<string, Origin>,
): ServeConfig {
  const pick = (flag: ServeFlag, envName: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    const e = env[envName];
    if (e !== undefined && e !== '') {
      origin.set(flag, { env: envName });
      return e;
    }
    const f = file?.values[flag];
    if (typeof f !== 'string' || f === '') return undefined;
    origin.set(flag, { file: file!.name });
    return f;
  };

  const port = pick('port', 'RINGLINE_PORT');
  const sdkappid = pick('sdkappid', 'RINGLINE_SDKAPPID');
  const timeout = pick('invite-timeout', 'RINGLINE_INVITE_TIMEOUT');
  const ice = pick('ice-servers', 'RINGLINE_ICE_SERVERS');
  const maxRing = pick('max-ring-time', 'RINGLINE_MAX_RING_TIME');
  const maxInvitations = pick('max-invitations-per-call', 'RINGLINE_MAX_INVITATIONS_PER_CALL');
  const dev =
    values.dev === true ||
    (env.RINGLINE_DEV ? parseBool('RINGLINE_DEV', env.RINGLINE_DEV) : file?.values.dev === true);
  const seconds = (flag: ServeFlag, envName: string, fallback: number): number => {
    const v = pick(flag, envName);
    return v === undefined ? fallback : parseIntIn(`--${flag}`, v, 0, 3600);
  };
  const httpTimeouts = {
    request: seconds(
      'http-request-timeout',
      'RINGLINE_HTTP_REQUEST_TIMEOUT',
      DEFAULTS.httpRequestTimeout,
    ),
    headers: seconds(
      'http-headers-timeout',
      'RINGLINE_HTTP_HEADERS_TIMEOUT',
      DEFAULTS.httpHeadersTimeout,
    ),
    keepAlive: seconds(
      'http-keepalive-timeout',
      'RINGLINE_HTTP_KEEPALIVE_TIMEOUT',
      DEFAULTS.httpKeepAliveTimeout,
    ),
    idle: seconds('http-idle-timeout', 'RINGLINE_HTTP_IDLE_TIMEOUT', DEFAULTS.httpIdleTimeout),
  };
  checkHttpTimeouts(httpTimeouts);
  const config: ServeConfig = {
    port: port === undefined ? DEFAULTS.port : parseIntIn('--port', port, 0, 65535),
    host: pick('host', 'RINGLINE_HOST') ?? (dev ? DEFAULTS.devHost : DEFAULTS.host),
    dataDir: pick('data-dir', 'RINGLINE_DATA_DIR') ?? DEFAULTS.dataDir,
    logLevel: 'info',
    inviteTimeout:
      timeout === undefined
        ? DEFAULTS.inviteTimeout
        : parseIntIn('--invite-timeout', timeout, 0, MAX_INVITE_TIMEOUT_S),
    maxRingTime:
      maxRing === undefined
        ? DEFAULTS.maxRingTime
        : parseIntIn('--max-ring-time', maxRing, 1, MAX_INVITE_TIMEOUT_S),
    maxInvitationsPerCall:
      maxInvitations === undefined
        ? DEFAULTS.maxInvitationsPerCall
        : parseIntIn('--max-invitations-per-call', maxInvitations, 1, 10_000),
    iceServers: ice === undefined ? [] : parseIceServers(ice),
    dev,
    janus: parseJanusMode(pick('janus', 'RINGLINE_JANUS') ?? DEFAULTS.janus),
    p2p: parseOnOff('--p2p', pick('p2p', 'RINGLINE_P2P') ?? 'on'),
    apiDocs: parseOnOff('--api-docs', pick('api-docs', 'RINGLINE_API_DOCS') ?? 'on'),
    sfuHealTimeout: parseIntIn(
      '--sfu-heal-timeout',
      pick('sfu-heal-timeout', 'RINGLINE_SFU_HEAL_TIMEOUT') ?? String(DEFAULTS.sfuHealTimeout),
      1,
      3600,
    ),
    drainTimeoutMs:
      parseIntIn(
        '--drain-timeout',
        pick('drain-timeout', 'RINGLINE_DRAIN_TIMEOUT') ?? String(DEFAULTS.drainTimeout),
        0,
        3600,
      ) * 1000,
    httpTimeouts,
  };
  // The test network namespace names its veth in RINGLINE_MEDIA_IFACE; Janus must use only it.
  const iface =
    pick('janus-interface', 'RINGLINE_JANUS_INTERFACE') ??
    (env.RINGLINE_MEDIA_IFACE ? env.RINGLINE_MEDIA_IFACE : undefined);
  if (iface !== undefined) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(iface)) {
      throw new ConfigError(
        `--janus-interface must be an interface name or address, got "${iface}"`,
      );
    }
    config.janusInterface = iface;
  }
  if (sdkappid !== undefined) config.sdkAppID = parseIntIn('--sdkappid', sdkappid, 1, 0xffffffff);
  const database = pick('database', 'RINGLINE_DATABASE');
  if (database !== undefined) {
    parseDatabaseURL(database);
    config.database = database.trim();
  }
  const nodeID = pick('node-id', 'RINGLINE_NODE_ID');
  if (nodeID !== undefined) config.nodeID = parseNodeID(nodeID);
  const key = pick('secret-key', 'RINGLINE_SECRET_KEY');
  if (key !== undefined) config.secretKey = key;

  const multiDevice = pick('multi-device', 'RINGLINE_MULTI_DEVICE');
  if (multiDevice !== undefined) {
    if (multiDevice !== 'kick' && multiDevice !== 'ring-all') {
      throw new ConfigError(`--multi-device must be kick or ring-all, got "${multiDevice}"`);
    }
    config.multiDevice = multiDevice;
  }
  const maxDevices = pick('max-devices', 'RINGLINE_MAX_DEVICES');
  if (maxDevices !== undefined) config.maxDevices = parseIntIn('--max-devices', maxDevices, 1, 100);

  const rate = pick('rate-limit', 'RINGLINE_RATE_LIMIT');
  if (rate !== undefined) config.rateLimit = parseRate('--rate-limit', rate);
  const level = pick('log-level', 'RINGLINE_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      `--log-level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  config.logLevel = level as LogLevel;
  const resume = pick('resume-window', 'RINGLINE_RESUME_WINDOW');
  if (resume !== undefined) config.resumeWindow = parseIntIn('--resume-window', resume, 1, 3600);
  const outbox = pick('outbox-limit', 'RINGLINE_OUTBOX_LIMIT');
  if (outbox !== undefined) config.outboxLimit = parseIntIn('--outbox-limit', outbox, 1, 1_000_000);
  const limits: Partial<SignalLimits> = {};
  for (const [flag, envName, name, min, max] of limitFlags) {
    const v = pick(flag, envName);
    if (v !== undefined) limits[name] = parseIntIn(`--${flag}`, v, min, max);
  }
  const preLogin = pick('prelogin-rate-limit', 'RINGLINE_PRELOGIN_RATE_LIMIT');
  if (preLogin !== undefined) {
    limits.preLoginRateLimit = parseRate('--prelogin-rate-limit', preLogin);
  }
  if (Object.keys(limits).length > 0) config.limits = limits;
  parseTurnFlags(pick, config);
  const certFile = pick('tls-cert', 'RINGLINE_TLS_CERT');
  const keyFile = pick('tls-key', 'RINGLINE_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [given, missing] =
      certFile === undefined ? ['--tls-key', '--tls-cert'] : ['--tls-cert', '--tls-key'];
    throw new ConfigError(`${given} needs ${missing} too: the certificate and its key go together`);
  }
  if (certFile !== undefined && keyFile !== undefined) config.tls = { certFile, keyFile };
  const trust = pick('trust-proxy', 'RINGLINE_TRUST_PROXY');
  if (trust !== undefined) {
    const proxies = parseTrustProxy(trust);
    if (proxies.length > 0) config.trustProxy = proxies;
  }
  const redis = pick('redis', 'RINGLINE_REDIS');
  if (redis !== undefined) config.redis = checkRedisUrl(redis);
  const list = (flag: 'webhook' | 'webhook-secret', envName: string): string[] => {
    const v = values[flag];
    if (Array.isArray(v)) return v;
    const e = env[envName];
    if (e !== undefined && e.trim() !== '') {
      origin.set(flag, { env: envName });
      return e.split(',').map((x) => x.trim());
    }
    const f = file?.values[flag];
    if (!Array.isArray(f)) return [];
    origin.set(flag, { file: file!.name });
    return f;
  };
  const webhooks = parseWebhooks(
    list('webhook', 'RINGLINE_WEBHOOK'),
    list('webhook-secret', 'RINGLINE_WEBHOOK_SECRET'),
  );
  if (webhooks.length > 0) config.webhooks = webhooks;
  const state = pick('state', 'RINGLINE_STATE');
  if (state !== undefined) {
    if (state !== 'sqlite' && state !== 'memory') {
      throw new ConfigError(`--state must be sqlite or memory, got "${state.slice(0, 50)}"`);
    }
    if (config.redis !== undefined) {
      throw new ConfigError(
        '--state is for a single node; with --redis the live state is in Redis',
      );
    }
    config.state = state;
  }
  return config;
}

/** Webhook endpoints at most (each has its own delivery loop). */
export const MAX_WEBHOOKS = 16;
/** A webhook secret: 16-256 characters, no whitespace or commas (they separate secrets). */
const WEBHOOK_SECRET = /^[^\s,]{16,256}$/;

/**
 * `--webhook URL` (repeatable) and `--webhook-secret S`: one secret for every endpoint, or one
 * per endpoint in the same order. URLs must be http:// or https://. Throws ConfigError naming the
 * flag; never shows a secret.
 */
export function parseWebhooks(
  urls: readonly string[],
  secrets: readonly string[],
): WebhookEndpointConfig[] {
  if (urls.length === 0) {
    if (secrets.length > 0) throw new ConfigError('--webhook-secret was given without --webhook');
    return [];
  }
  if (urls.length > MAX_WEBHOOKS) {
    throw new ConfigError(`--webhook: at most ${MAX_WEBHOOKS} endpoints, got ${urls.length}`);
  }
  if (secrets.length === 0) {
    throw new ConfigError('--webhook needs --webhook-secret (deliveries are signed with it)');
  }
  if (secrets.length !== 1 && secrets.length !== urls.length) {
    throw new ConfigError(
      `--webhook-secret: give one secret for every endpoint or one per --webhook ` +
        `(${urls.length}), got ${secrets.length}`,
    );
  }
  secrets.forEach((secret, i) => {
    if (!WEBHOOK_SECRET.test(secret)) {
      throw new ConfigError(
        `--webhook-secret #${i + 1} must be 16-256 characters without whitespace or commas ` +
          `(got ${secret.length} characters)`,
      );
    }
  });
  const seen = new Set<string>();
  return urls.map((raw, i) => {
    const url = checkWebhookURL(raw.trim());
    if (seen.has(url)) throw new ConfigError(`--webhook lists ${redactURL(url)} twice`);
    seen.add(url);
    return { url, secret: secrets.length === 1 ? secrets[0]! : secrets[i]! };
  });
}

/** An http:// or https:// URL with a host, up to 2048 characters. Throws ConfigError. */
function checkWebhookURL(text: string): string {
  const shown = redactURL(text.slice(0, 200));
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError(`--webhook must be an http:// or https:// URL, got "${shown}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`--webhook must be an http:// or https:// URL, got ${u.protocol}//…`);
  }
  if (!u.hostname) throw new ConfigError(`--webhook URL has no host: "${shown}"`);
  if (text.length > 2048) throw new ConfigError('--webhook URL is longer than 2048 characters');
  return u.toString();
}

/** `url` if it is a redis:// or rediss:// URL with a host; ConfigError otherwise. */
export function checkRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(
      `--redis must be a URL such as redis://host:6379, got "${redactURL(url.slice(0, 100))}"`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ConfigError(`--redis must be a redis:// or rediss:// URL, got ${u.protocol}//…`);
  }
  if (!u.hostname) throw new ConfigError('--redis URL has no host');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) {
    throw new ConfigError('--redis URL path must be a database number (redis://host:6379/0)');
  }
  return url;
}

/**
 * The TURN, public-IP and ICE-policy flags, syntax only (startServer checks how they combine,
 * turn/options.ts). Only flags that were given end up in `config`. Throws ConfigError.
 */
function parseTurnFlags(
  pick: (flag: ServeFlag, envName: string) => string | undefined,
  config: ServeConfig,
): void {
  const turn = pick('turn', 'RINGLINE_TURN');
  if (turn !== undefined) {
    const t = turn.trim();
    if (t !== 'auto' && t !== 'off' && !/^turns?:/.test(t)) {
      throw new ConfigError(
        `--turn must be auto, off, or turn:HOST:PORT URLs separated by commas, got "${turn}"`,
      );
    }
    config.turn = t;
  }
  const secret = pick('turn-secret', 'RINGLINE_TURN_SECRET');
  if (secret !== undefined) config.turnSecret = secret;
  const ttl = pick('turn-ttl', 'RINGLINE_TURN_TTL');
  if (ttl !== undefined) config.turnTtl = parseIntIn('--turn-ttl', ttl, 60, 604_800);
  const port = pick('turn-port', 'RINGLINE_TURN_PORT');
  if (port !== undefined) config.turnPort = parseIntIn('--turn-port', port, 1, 65535);
  const relay = pick('turn-relay-ports', 'RINGLINE_TURN_RELAY_PORTS');
  if (relay !== undefined) {
    const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(relay);
    if (!m) throw new ConfigError(`--turn-relay-ports must be MIN-MAX, got "${relay}"`);
    config.turnRelayPorts = { min: Number(m[1]), max: Number(m[2]) };
  }
  const allowed = pick('turn-allowed-peer-ip', 'RINGLINE_TURN_ALLOWED_PEER_IP');
  if (allowed !== undefined) {
    config.turnAllowedPeerIps = allowed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  const publicIp = pick('public-ip', 'RINGLINE_PUBLIC_IP');
  if (publicIp !== undefined) {
    if (isIP(publicIp.trim()) === 0) {
      throw new ConfigError(`--public-ip must be an IP address, got "${publicIp}"`);
    }
    config.publicIp = publicIp.trim();
  }
  const policy = pick('ice-transport-policy', 'RINGLINE_ICE_TRANSPORT_POLICY');
  if (policy !== undefined) {
    const p = policy.trim();
    if (p !== 'all' && p !== 'relay') {
      throw new ConfigError(`--ice-transport-policy must be all or relay, got "${policy}"`);
    }
    config.iceTransportPolicy = p;
  }
}

/** Node refuses a header deadline later than the request deadline. Throws ConfigError. */
export function checkHttpTimeouts(t: { request: number; headers: number }): void {
  if (t.request > 0 && (t.headers === 0 || t.headers > t.request)) {
    throw new ConfigError(
      `the HTTP headers timeout (${t.headers} s) must be from 1 to the request timeout ` +
        `(${t.request} s); 0 turns both off only together`,
    );
  }
}

/** `BURST/PER_SECOND`, e.g. `100/50`: a token bucket. Throws ConfigError. */
function parseRate(name: string, text: string): RateLimitOptions {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  const burst = m ? Number(m[1]) : NaN;
  const perSecond = m ? Number(m[2]) : NaN;
  if (!(burst >= 1 && burst <= 1_000_000 && perSecond > 0 && perSecond <= 1_000_000)) {
    throw new ConfigError(
      `${name} must be BURST/PER_SECOND (e.g. 100/50; burst ≥ 1, rate > 0), got "${text}"`,
    );
  }
  return { burst, perSecond };
}

/** Node IDs: 1-64 letters, digits, `_`, `-` or `.` (a host or pod name fits). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** `--node-id`. Throws ConfigError. */
export function parseNodeID(text: string): string {
  const t = text.trim();
  if (!NODE_ID_PATTERN.test(t)) {
    throw new ConfigError(`--node-id must be 1-64 letters, digits, "_", "-" or ".", got "${text}"`);
  }
  return t;
}

/** Connections one node keeps to Postgres at most, unless the URL's `pool_size` says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/** A Postgres database, from `--database postgres://…`. */
export interface PostgresTarget {
  /** The URL for `pg`, without our own parameters. */
  url: string;
  /** Connections kept at most (`?pool_size=N`, 1-100). */
  poolSize: number;
  /** `postgres://user@host:port/db`: where, for messages and logs, without the password. */
  location: string;
}

/** A URL with its password replaced, for messages: `postgres://u:***@h/db`. */
export function redactURL(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/**
 * `--database`: a `postgres://` or `postgresql://` URL (user, password, host, port, database and
 * libpq-style parameters such as `sslmode`; `pool_size` is ours). Throws ConfigError; its message
 * never shows the password.
 */
export function parseDatabaseURL(text: string): PostgresTarget {
  const t = text.trim();
  const shown = redactURL(t);
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    throw new ConfigError(
      `--database must be a postgres://user:password@host:port/database URL, got "${shown}"`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      `--database must be a postgres:// or postgresql:// URL (leave it out for SQLite in ` +
        `DATA_DIR/ringline.db), got "${shown}"`,
    );
  }
  // A unix socket is named by ?host=/path, with no host before the path.
  if (url.hostname === '' && !url.searchParams.get('host')) {
    throw new ConfigError(`--database names no host, got "${shown}"`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database.includes('/')) {
    throw new ConfigError(`--database: "${database}" is not a database name`);
  }
  const pool = url.searchParams.get('pool_size');
  url.searchParams.delete('pool_size');
  const poolSize =
    pool === null ? DEFAULT_POOL_SIZE : parseIntIn('--database pool_size', pool, 1, 100);
  const host = url.hostname || url.searchParams.get('host') || '';
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  const location = `postgres://${user}${host}${url.port ? `:${url.port}` : ''}/${database}`;
  return { url: url.toString(), poolSize, location };
}

/** `auto`, `off`, or a ws:// / wss:// URL of a Janus websockets transport. Throws ConfigError. */

/**
 * `auto`, `off`, or one or more ws:// / wss:// URLs of Janus websockets transports separated by
 * commas (a pool: each new room goes on the least-loaded one). Throws ConfigError.
 */
export function parseJanusMode(text: string): JanusMode {
  const t = text.trim();
  if (t === 'auto' || t === 'off') return t;
  const urls = t.split(',').map((u) => u.trim());
  for (const u of urls) {
    if (!isJanusUrl(u)) {
      throw new ConfigError(
        `--janus must be auto, off, or the ws:// URL of a Janus websockets transport ` +
          `(several separated by commas for a pool), got "${text}"`,
      );
    }
  }
  const twice = urls.find((u, i) => urls.indexOf(u) !== i);
  if (twice !== undefined) {
    throw new ConfigError(`--janus lists ${twice} twice; each Janus of the pool once`);
  }
  return urls.join(',') as JanusMode;
}

function isJanusUrl(u: string): boolean {
  if (!/^wss?:\/\/[^\s/,]+(\/[^\s,]*)?$/.test(u)) return false;
  try {
    new URL(u);
    return true;
  } catch {
    return false;
  }
}

function parseOnOff(name: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(t)) return true;
  if (['off', 'false', '0', 'no'].includes(t)) return false;
  throw new ConfigError(`${name} must be on or off, got "${text}"`);
}

function parseIntIn(name: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function parseBool(name: string, text: string | undefined): boolean {
  if (text === undefined) return false;
  const t = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(`${name} must be true or false, got "${text}"`);
}

/** Parses a JSON list of RTCIceServer. Throws ConfigError saying what is wrong. */
export function parseIceServers(json: string): IceServer[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`--ice-servers is not valid JSON: ${(err as Error).message}`);
  }
  return validateIceServers(value);
}

const iceUrl = /^(stun|stuns|turn|turns):[^\s]+$/;

/** Checks a list of RTCIceServer the way a browser would; throws ConfigError. */
export function validateIceServers(value: unknown): IceServer[] {
  const fail = (msg: string): never => {
    throw new ConfigError(`--ice-servers: ${msg}`);
  };
  if (!Array.isArray(value)) fail('must be a JSON array of {urls, username?, credential?}');
  return (value as unknown[]).map((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      return fail(`[${i}] must be an object`);
    }
    const { urls, username, credential, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) fail(`[${i}] has unknown field "${extra[0]}"`);
    const list = typeof urls === 'string' ? [urls] : urls;
    if (!Array.isArray(list) || list.length === 0) {
      fail(`[${i}].urls must be a URL or a non-empty list of URLs`);
    }
    for (const url of list as unknown[]) {
      if (typeof url !== 'string' || !iceUrl.test(url)) {
        fail(`[${i}].urls: ${JSON.stringify(url)} is not a stun:, stuns:, turn: or turns: URL`);
      }
    }
    if (username !== undefined && typeof username !== 'string')
      fail(`[${i}].username must be a string`);
    if (credential !== undefined && typeof credential !== 'string') {
      fail(`[${i}].credential must be a string`);
    }
    const isTurn = (list as string[]).some((u) => u.startsWith('turn'));
    if (isTurn && (username === undefined || credential === undefined)) {
      fail(`[${i}] is a TURN server and needs username and credential`);
    }
    const server: IceServer = { urls: urls as string | string[] };
    if (username !== undefined) server.username = username as string;
    if (credential !== undefined) server.credential = credential as string;
    return server;
  });
}

/** The app this server serves. */
export interface AppCredentials {
  sdkAppID: number;
  secretKey: string;
}

/**
 * The given credentials, or in dev mode the pair kept in `<dataDir>/app.json` (made on first use,
 * mode 0600). Outside dev mode both must be given. Throws ConfigError.
 */
export async function resolveCredentials(options: {
  sdkAppID?: number | undefined;
  secretKey?: string | undefined;
  dev?: boolean | undefined;
  dataDir?: string | undefined;
}): Promise<AppCredentials & { created: boolean; file?: string }> {
  const { sdkAppID, secretKey } = options;
  if (sdkAppID !== undefined && secretKey !== undefined) {
    if (!Number.isSafeInteger(sdkAppID) || sdkAppID < 1 || sdkAppID > 0xffffffff) {
      throw new ConfigError(`sdkAppID must be an integer from 1 to 4294967295, got ${sdkAppID}`);
    }
    if (secretKey.length === 0) throw new ConfigError('secretKey must not be empty');
    return { sdkAppID, secretKey, created: false };
  }
  if (sdkAppID !== undefined || secretKey !== undefined) {
    throw new ConfigError('give both --sdkappid and --secret-key, or neither (with --dev)');
  }
  if (!options.dev) {
    throw new ConfigError(
      'no app credentials: pass --sdkappid and --secret-key (or RINGLINE_SDKAPPID and ' +
        'RINGLINE_SECRET_KEY), or use --dev to have a development pair made for you',
    );
  }
  return loadOrCreateDevApp(options.dataDir ?? DEFAULTS.dataDir);
}

async function loadOrCreateDevApp(
  dataDir: string,
): Promise<AppCredentials & { created: boolean; file: string }> {
  const file = join(dataDir, 'app.json');
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (text !== undefined) {
    let app: unknown;
    try {
      app = JSON.parse(text);
    } catch {
      throw new ConfigError(`${file} is not valid JSON; delete it to have a new pair made`);
    }
    const { sdkAppID, secretKey } = (app ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(sdkAppID) || typeof secretKey !== 'string' || !secretKey) {
      throw new ConfigError(`${file} lacks sdkAppID/secretKey; delete it to have a new pair made`);
    }
    return { sdkAppID: sdkAppID as number, secretKey, created: false, file };
  }
  // Tencent's SDKAppIDs look like 14xxxxxxxx; keys are 64 hex digits.
  const app = {
    sdkAppID: randomInt(1_400_000_000, 1_500_000_000),
    secretKey: randomBytes(32).toString('hex'),
  };
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(app, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateDevApp(dataDir);
    throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`);
  }
  return { ...app, created: true, file };
}
