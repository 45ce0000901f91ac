/**
 * What a session is told about ICE: STUN/TURN servers with TURN credentials minted for its user,
 * the transport policy, and how long the credentials last. The gateway asks at every login and
 * resume, and again when renewing.
 */
import type { IceConfig, IceServer, IceTransportPolicy } from '@ringline/protocol';
import { mintTurnCredential, renewalDelayMs } from './credentials.js';

export interface IceConfigSourceOptions {
  /** `--ice-servers`: handed out as given, after ours. */
  staticServers: readonly IceServer[];
  policy: IceTransportPolicy;
  /** Our TURN: URLs and the secret that mints credentials for them. */
  turn?: { turnUrls: string[]; stunUrls: string[]; secret: string; ttlS: number } | undefined;
  /** Renew after this many ms instead of at 80 % of the TTL (tests). */
  renewAfterMs?: number | undefined;
}

export class IceConfigSource {
  readonly #o: IceConfigSourceOptions;

  constructor(options: IceConfigSourceOptions) {
    this.#o = options;
  }

  /** The configuration for a session of `userID` now: fresh TURN credentials when there is TURN. */
  configFor(userID: string, nowMs = Date.now()): IceConfig {
    const { turn, staticServers, policy } = this.#o;
    if (!turn)
      return { iceServers: [...staticServers], iceTransportPolicy: policy, iceServersTtl: 0 };
    const { username, credential } = mintTurnCredential(turn.secret, userID, turn.ttlS, nowMs);
    const ours: IceServer[] = [];
    if (turn.stunUrls.length) ours.push({ urls: turn.stunUrls });
    ours.push({ urls: turn.turnUrls, username, credential });
    return {
      iceServers: [...ours, ...staticServers],
      iceTransportPolicy: policy,
      iceServersTtl: turn.ttlS,
    };
  }

  /** Milliseconds after a login at which the session gets fresh credentials; undefined = never. */
  get renewAfterMs(): number | undefined {
    const { turn, renewAfterMs } = this.#o;
    if (!turn) return undefined;
    return renewAfterMs ?? renewalDelayMs(turn.ttlS);
  }
}
