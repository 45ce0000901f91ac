/**
 * The TURN and ICE options of ServerOptions / `ringline serve`, checked and resolved into what the
 * server runs: no TURN, a local coturn (`auto`), or an external coturn that shares our secret.
 * Every mistake is a ConfigError saying which option and why.
 */
import { isIP } from 'node:net';
import type { IceServer, IceTransportPolicy } from '@ringline/protocol';
import { ConfigError } from '../config.js';
import { parseCidrList, type Cidr } from './cidr.js';
import { DEFAULT_TURN_TTL_S, MAX_TURN_TTL_S, MIN_TURN_TTL_S } from './credentials.js';

export const DEFAULT_TURN_PORT = 3478;
/** coturn's own default relay range. */
export const DEFAULT_RELAY_PORTS = { min: 49152, max: 65535 } as const;

/** The TURN-related options as ServerOptions carries them. */
export interface TurnOptionsInput {
  turn?: string | undefined;
  turnSecret?: string | undefined;
  turnTtl?: number | undefined;
  turnPort?: number | undefined;
  turnRelayPorts?: { min: number; max: number } | undefined;
  turnAllowedPeerIps?: readonly string[] | undefined;
  publicIp?: string | undefined;
  iceTransportPolicy?: string | undefined;
  host: string;
  iceServers: readonly IceServer[];
}

export type TurnPlan =
  | { mode: 'off' }
  | {
      mode: 'auto';
      secret: string | undefined;
      ttlS: number;
      port: number;
      relayPorts: { min: number; max: number };
      allowedPeers: Cidr[];
      /** The address put in the stun:/turn: URLs clients get. */
      urlHost: string;
    }
  | { mode: 'external'; secret: string; ttlS: number; turnUrls: string[]; stunUrls: string[] };

export interface ResolvedIce {
  turn: TurnPlan;
  policy: IceTransportPolicy;
  publicIp: string | undefined;
}

/** Checks the options and works out what to run. Throws ConfigError. */
export function resolveTurn(input: TurnOptionsInput): ResolvedIce {
  const publicIp = input.publicIp === undefined ? undefined : checkIp(input.publicIp);
  const mode = (input.turn ?? 'off').trim();
  const ttlS = input.turnTtl ?? DEFAULT_TURN_TTL_S;
  if (!Number.isSafeInteger(ttlS) || ttlS < MIN_TURN_TTL_S || ttlS > MAX_TURN_TTL_S) {
    throw new ConfigError(
      `turnTtl (--turn-ttl) must be whole seconds from ${MIN_TURN_TTL_S} to ${MAX_TURN_TTL_S}, got ${input.turnTtl}`,
    );
  }
  const secret = input.turnSecret;
  if (secret !== undefined && !/^[\x21-\x7e]{16,256}$/.test(secret)) {
    // It goes into turnserver.conf as is: no spaces or newlines, and long enough to be a secret.
    throw new ConfigError('--turn-secret must be 16 to 256 printable characters without spaces');
  }
  let turn: TurnPlan;
  if (mode === 'off') {
    for (const [name, value] of [
      ['--turn-secret', secret],
      ['--turn-port', input.turnPort],
      ['--turn-relay-ports', input.turnRelayPorts],
      ['--turn-allowed-peer-ip', input.turnAllowedPeerIps],
    ] as const) {
      if (value !== undefined) throw new ConfigError(`${name} needs --turn auto or --turn URLs`);
    }
    turn = { mode: 'off' };
  } else if (mode === 'auto') {
    const port = input.turnPort ?? DEFAULT_TURN_PORT;
    if (!Number.isSafeInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`--turn-port must be a port from 1 to 65535, got ${input.turnPort}`);
    }
    const relayPorts = checkRelayPorts(input.turnRelayPorts ?? DEFAULT_RELAY_PORTS);
    if (port >= relayPorts.min && port <= relayPorts.max) {
      throw new ConfigError(
        `--turn-port ${port} lies inside the relay range ${relayPorts.min}-${relayPorts.max}`,
      );
    }
    let allowedPeers: Cidr[] = [];
    if (input.turnAllowedPeerIps !== undefined) {
      try {
        allowedPeers = parseCidrList(input.turnAllowedPeerIps.join(','));
      } catch (err) {
        throw new ConfigError(`--turn-allowed-peer-ip: ${(err as Error).message}`);
      }
    }
    const wildcard = input.host === '0.0.0.0' || input.host === '::' || input.host === '';
    const urlHost = publicIp ?? (wildcard ? undefined : input.host);
    if (urlHost === undefined || isIP(urlHost) === 0) {
      throw new ConfigError(
        '--turn auto needs an address clients can reach for its stun:/turn: URLs: give ' +
          '--public-ip, or --host with a specific IP address',
      );
    }
    turn = { mode: 'auto', secret, ttlS, port, relayPorts, allowedPeers, urlHost };
  } else {
    const { turnUrls, stunUrls } = parseTurnUrls(mode);
    if (secret === undefined) {
      throw new ConfigError(
        '--turn with URLs is an external coturn: give its static-auth-secret with --turn-secret',
      );
    }
    for (const [name, value] of [
      ['--turn-port', input.turnPort],
      ['--turn-relay-ports', input.turnRelayPorts],
      ['--turn-allowed-peer-ip', input.turnAllowedPeerIps],
    ] as const) {
      if (value !== undefined) {
        throw new ConfigError(`${name} configures the local coturn: it needs --turn auto`);
      }
    }
    turn = { mode: 'external', secret, ttlS, turnUrls, stunUrls };
  }
  const policy = (input.iceTransportPolicy ?? 'all').trim();
  if (policy !== 'all' && policy !== 'relay') {
    throw new ConfigError(`--ice-transport-policy must be all or relay, got "${policy}"`);
  }
  if (policy === 'relay' && turn.mode === 'off' && !input.iceServers.some(isTurnServer)) {
    throw new ConfigError(
      '--ice-transport-policy relay sends all media through TURN, but no TURN server is ' +
        'configured: add --turn auto, --turn URLs with --turn-secret, or a turn: entry in --ice-servers',
    );
  }
  return { turn, policy, publicIp };
}

function isTurnServer(server: IceServer): boolean {
  const urls = typeof server.urls === 'string' ? [server.urls] : server.urls;
  return urls.some((u) => u.startsWith('turn:') || u.startsWith('turns:'));
}

function checkIp(text: string): string {
  const t = text.trim();
  if (isIP(t) === 0) throw new ConfigError(`--public-ip must be an IP address, got "${text}"`);
  return t;
}

function checkRelayPorts(r: { min: number; max: number }): { min: number; max: number } {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 1024 && n <= 65535;
  if (!ok(r.min) || !ok(r.max) || r.max - r.min < 1) {
    throw new ConfigError(
      `--turn-relay-ports must be MIN-MAX with 1024 ≤ MIN < MAX ≤ 65535, got ${r.min}-${r.max}`,
    );
  }
  return { min: r.min, max: r.max };
}

/** `MIN-MAX`, e.g. `49152-65535`. Throws ConfigError. */
export function parseRelayPorts(text: string): { min: number; max: number } {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!m) throw new ConfigError(`--turn-relay-ports must be MIN-MAX, got "${text}"`);
  return checkRelayPorts({ min: Number(m[1]), max: Number(m[2]) });
}

const turnUrl =
  /^(turns?):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/**
 * `turn:host:port[?transport=udp|tcp],…`. A turn: URL without a transport becomes one for UDP and
 * one for TCP (a browser tries each), and each distinct host:port of a turn: URL also gets a stun:
 * URL (coturn answers STUN on its TURN port). Throws ConfigError.
 */
export function parseTurnUrls(text: string): { turnUrls: string[]; stunUrls: string[] } {
  const turnUrls: string[] = [];
  const stunUrls: string[] = [];
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new ConfigError('--turn needs auto, off, or turn: URLs');
  for (const part of parts) {
    const m = turnUrl.exec(part);
    const port = m?.[3] === undefined ? undefined : Number(m[3]);
    if (!m || (port !== undefined && (port < 1 || port > 65535))) {
      throw new ConfigError(
        `--turn must be auto, off, or turn:HOST:PORT[?transport=udp|tcp] URLs separated by ` +
          `commas, got "${part}"`,
      );
    }
    const [, scheme, host, , transport] = m;
    const base = `${scheme}:${host}${port === undefined ? '' : `:${port}`}`;
    if (transport || scheme === 'turns') turnUrls.push(part);
    else turnUrls.push(`${base}?transport=udp`, `${base}?transport=tcp`);
    const stun = `stun:${host}${port === undefined ? '' : `:${port}`}`;
    if (scheme === 'turn' && !stunUrls.includes(stun)) stunUrls.push(stun);
  }
  return { turnUrls: [...new Set(turnUrls)], stunUrls };
}

/** `host` as it goes into a URL: IPv6 in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
