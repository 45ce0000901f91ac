/**
 * TURN for the server: resolves the options, starts the local coturn (`--turn auto`) or uses an
 * external one, and gives the gateway its ICE configuration source and Janus its TURN REST
 * endpoint. Clients only ever get credentials minted per session; the secret stays here.
 */
import { networkInterfaces } from 'node:os';
import type { IceServer } from '@ringline/protocol';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { CoturnStartError, startCoturn, type CoturnProcess } from './coturn-process.js';
import { IceConfigSource } from './ice-config.js';
import { stunBinding } from './stun.js';
import { startJanusTurnRest, type JanusTurnRest } from './janus-rest.js';
import { urlHost, type ResolvedIce } from './options.js';

export { resolveTurn, parseRelayPorts, parseTurnUrls, type ResolvedIce } from './options.js';
export { IceConfigSource } from './ice-config.js';
export { mintTurnCredential, renewalDelayMs, turnPassword } from './credentials.js';
export { CoturnStartError, type CoturnProcess } from './coturn-process.js';
export type { JanusTurnRest } from './janus-rest.js';

export interface TurnService {
  readonly ice: IceConfigSource;
  /** Where Janus gets TURN credentials; absent without TURN. */
  readonly janusRest: JanusTurnRest | undefined;
  /** The local coturn (`--turn auto`). */
  readonly coturn: CoturnProcess | undefined;
  /**
   * Whether TURN answers: the local coturn is running (auto), or the first external server
   * answers a STUN binding over UDP (at most `timeoutMs`). True without TURN.
   */
  reachable(timeoutMs: number): Promise<boolean>;
  /** Stops coturn and the REST endpoint; idempotent. */
  close(): Promise<void>;
}

export interface StartTurnOptions {
  resolved: ResolvedIce;
  staticServers: readonly IceServer[];
  dataDir: string;
  log: Logger;
  /** The `turnserver` executable (auto mode); `turnserver` on PATH when absent. */
  binary?: string | undefined;
  /** Renew sessions' credentials after this many ms instead of at 80 % of the TTL (tests). */
  renewAfterMs?: number | undefined;
}

/** Starts what the TURN options ask for. Throws ConfigError when coturn is not installed. */
export async function startTurn(options: StartTurnOptions): Promise<TurnService> {
  const { resolved, log } = options;
  const plan = resolved.turn;
  if (plan.mode === 'off') {
    const ice = new IceConfigSource({
      staticServers: options.staticServers,
      policy: resolved.policy,
    });
    return {
      ice,
      janusRest: undefined,
      coturn: undefined,
      reachable: async () => true,
      close: async () => {},
    };
  }
  let coturn: CoturnProcess | undefined;
  let turn: { turnUrls: string[]; stunUrls: string[]; secret: string; ttlS: number };
  if (plan.mode === 'auto') {
    const local = isLocalAddress(plan.urlHost);
    try {
      coturn = await startCoturn({
        dataDir: options.dataDir,
        secret: plan.secret,
        port: plan.port,
        // A public IP the machine does not have (cloud 1:1 NAT) is advertised, not bound.
        listenIp: local ? plan.urlHost : undefined,
        externalIp: local ? undefined : plan.urlHost,
        relayPorts: plan.relayPorts,
        allowedPeers: plan.allowedPeers,
        log,
        ...(options.binary !== undefined && { binary: options.binary }),
      });
    } catch (err) {
      if (err instanceof CoturnStartError && err.code === 'COTURN_NOT_FOUND') {
        throw new ConfigError(err.message);
      }
      throw err;
    }
    const at = `${urlHost(plan.urlHost)}:${plan.port}`;
    turn = {
      turnUrls: [`turn:${at}?transport=udp`, `turn:${at}?transport=tcp`],
      stunUrls: [`stun:${at}`],
      secret: coturn.secret,
      ttlS: plan.ttlS,
    };
  } else {
    turn = {
      turnUrls: plan.turnUrls,
      stunUrls: plan.stunUrls,
      secret: plan.secret,
      ttlS: plan.ttlS,
    };
  }
  let janusRest: JanusTurnRest | undefined;
  try {
    janusRest = await startJanusTurnRest({
      secret: turn.secret,
      ttlS: turn.ttlS,
      turnUrls: turn.turnUrls.filter((u) => u.startsWith('turn:')),
      log,
    });
  } catch (err) {
    await coturn?.close();
    throw err;
  }
  const ice = new IceConfigSource({
    staticServers: options.staticServers,
    policy: resolved.policy,
    turn,
    renewAfterMs: options.renewAfterMs,
  });
  log.info('TURN ready', { mode: plan.mode, urls: turn.turnUrls, ttl: turn.ttlS });
  let closing: Promise<void> | undefined;
  const probe = udpTarget(turn.stunUrls[0] ?? turn.turnUrls[0]);
  return {
    ice,
    janusRest,
    coturn,
    reachable: async (timeoutMs) => {
      if (coturn) return coturn.pid !== undefined;
      // A TLS-only server (turns:) cannot be probed over UDP: its TLS is the client's business.
      if (!probe) return true;
      return (await stunBinding(probe.host, probe.port, timeoutMs)) !== undefined;
    },
    close: () =>
      (closing ??= (async () => {
        await janusRest?.close();
        await coturn?.close();
      })()),
  };
}

/** Host and port of a `stun:` or `turn:` URL (UDP); undefined for `turns:` or a bad one. */
export function udpTarget(url: string | undefined): { host: string; port: number } | undefined {
  const m = /^(?:stun|turn):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?(.*))?$/.exec(url ?? '');
  if (!m || /transport=tcp/.test(m[3] ?? '')) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 3478 };
}

/** Whether `ip` is one of this machine's addresses. */
function isLocalAddress(ip: string): boolean {
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.address === ip),
  );
}
