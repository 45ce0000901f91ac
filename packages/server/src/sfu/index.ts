/**
 * Picks the server's SFU from `--janus auto|off|URL[,URL…]`: a supervised local Janus (auto, when
 * the binary exists), external Janus servers (a pool, sfu/pool.ts), or none — then group calls fail
 * with SFU_UNAVAILABLE and `message` says how to enable them.
 */
import type { Logger } from '../log.js';
import { JanusStartError, startJanus, type JanusProcess } from './janus-process.js';
import { JanusSfu } from './janus-sfu.js';
import { JanusPool } from './pool.js';
import type { SfuAdapter } from './types.js';

export type { SfuAdapter, SubscriberOffer, SessionDescription, IceCandidate } from './types.js';
export { JanusSfu } from './janus-sfu.js';
export { JanusPool, type PoolMember } from './pool.js';
export { startJanus, type JanusProcess } from './janus-process.js';

/** How to get group calls working, for errors and logs when there is no SFU. */
export const NO_SFU_HINT =
  'group calls need an SFU: install janus (apt-get install janus) and start with --janus auto, ' +
  'or pass --janus ws://host:8188';

export interface CreateSfuOptions {
  /**
   * `auto` (local janus when installed), `off`, the ws:// URL of an external Janus, or several
   * URLs separated by commas (a pool).
   */
  mode: 'auto' | 'off' | string;
  /** The server's data dir (auto mode writes `<dataDir>/janus/`). */
  dataDir: string;
  /** Network interface Janus may use for ICE (auto mode). */
  iceInterface?: string;
  /** The public address for Janus's 1:1 NAT mapping (auto mode). */
  publicIp?: string | undefined;
  /** Where a local Janus gets TURN credentials (auto mode). */
  turnRestApi?: { url: string; key: string } | undefined;
  log: Logger;
  /** The janus executable for auto mode; `janus` on PATH when absent. */
  janusBinary?: string;
  /** Shared by all nodes: room secrets derive from it (JanusSfuOptions.roomKey). */
  roomKey?: string;
}

export type CreateSfuResult =
  { sfu: SfuAdapter; message?: undefined } | { sfu: undefined; message: string };

/**
 * Creates the SFU for `mode`. Never throws for a missing or unreachable SFU: the server then runs
 * without group calls and `message` explains why and how to enable them.
 */
export async function createSfu(options: CreateSfuOptions): Promise<CreateSfuResult> {
  const { mode, log } = options;
  if (mode === 'off') return { sfu: undefined, message: `the SFU is off; ${NO_SFU_HINT}` };
  if (mode === 'auto') return createLocal(options);
  const urls = mode.split(',').map((u) => u.trim());
  if (!urls.every((u) => /^wss?:\/\//.test(u))) {
    return {
      sfu: undefined,
      message: `--janus ${JSON.stringify(mode)} is not auto, off or a ws:// URL; ${NO_SFU_HINT}`,
    };
  }
  if (urls.length === 1) {
    // One external Janus: it must answer now, or the server runs without group calls.
    try {
      const sfu = await JanusSfu.connect({ url: urls[0]!, log, ...roomKeyOf(options) });
      log.info('sfu: using Janus', { url: urls[0] });
      return { sfu: new JanusPool([{ url: urls[0]!, sfu }], log) };
    } catch (err) {
      const message = `cannot reach Janus at ${mode} (${errorText(err)}); ${NO_SFU_HINT}`;
      log.warn(message);
      return { sfu: undefined, message };
    }
  }
  // A pool: members that do not answer yet keep being tried and take rooms once they do; at
  // least one must answer now.
  const members = await Promise.all(
    urls.map(async (url) => ({
      url,
      sfu: await JanusSfu.connectOrRetry({ url, log, ...roomKeyOf(options) }),
    })),
  );
  if (!members.some((m) => m.sfu.connected)) {
    await Promise.all(members.map((m) => m.sfu.close()));
    const message = `cannot reach any Janus of ${mode}; ${NO_SFU_HINT}`;
    log.warn(message);
    return { sfu: undefined, message };
  }
  log.info('sfu: using a Janus pool', {
    urls,
    answering: members.filter((m) => m.sfu.connected).map((m) => m.url),
  });
  return { sfu: new JanusPool(members, log) };
}

async function createLocal(options: CreateSfuOptions): Promise<CreateSfuResult> {
  const { log } = options;
  let janus: JanusProcess;
  try {
    janus = await startJanus({
      dataDir: options.dataDir,
      iceInterface: options.iceInterface,
      publicIp: options.publicIp,
      turnRestApi: options.turnRestApi,
      binary: options.janusBinary,
      log,
    });
  } catch (err) {
    const why =
      err instanceof JanusStartError && err.code === 'JANUS_NOT_FOUND'
        ? 'janus is not installed'
        : `janus did not start (${errorText(err)})`;
    const message = `${why}; ${NO_SFU_HINT}`;
    log.warn(message);
    return { sfu: undefined, message };
  }
  try {
    const sfu = await JanusSfu.connect({ url: janus.url, log, ...roomKeyOf(options) });
    // The supervisor knows first when a restarted janus answers: reconnect then, not on backoff.
    janus.onRestarted(() => sfu.reconnectNow());
    // A pool of one, so that every SFU call records its placement the same way.
    return { sfu: new JanusPool([{ url: janus.url, sfu: new LocalJanusSfu(sfu, janus) }], log) };
  } catch (err) {
    await janus.close();
    const message = `janus started but does not answer (${errorText(err)}); ${NO_SFU_HINT}`;
    log.warn(message);
    return { sfu: undefined, message };
  }
}

/** A JanusSfu that also owns the local janus process: closing it stops the process. */
class LocalJanusSfu implements SfuAdapter {
  constructor(
    readonly janus: JanusSfu,
    readonly process: JanusProcess,
  ) {}
  openRoom: SfuAdapter['openRoom'] = (...a) => this.janus.openRoom(...a);
  closeRoom: SfuAdapter['closeRoom'] = (...a) => this.janus.closeRoom(...a);
  publish: SfuAdapter['publish'] = (...a) => this.janus.publish(...a);
  subscribe: SfuAdapter['subscribe'] = (...a) => this.janus.subscribe(...a);
  answer: SfuAdapter['answer'] = (...a) => this.janus.answer(...a);
  trickle: SfuAdapter['trickle'] = (...a) => this.janus.trickle(...a);
  setLayer: SfuAdapter['setLayer'] = (...a) => this.janus.setLayer(...a);
  restartSubscriber: SfuAdapter['restartSubscriber'] = (...a) => this.janus.restartSubscriber(...a);
  hold: SfuAdapter['hold'] = (...a) => this.janus.hold(...a);
  unhold: SfuAdapter['unhold'] = (...a) => this.janus.unhold(...a);
  leave: SfuAdapter['leave'] = (...a) => this.janus.leave(...a);
  onPublishersChanged: SfuAdapter['onPublishersChanged'] = (l) => this.janus.onPublishersChanged(l);
  onRoomLost: SfuAdapter['onRoomLost'] = (l) => this.janus.onRoomLost(l);
  waitUntilAvailable: SfuAdapter['waitUntilAvailable'] = (t) => this.janus.waitUntilAvailable(t);
  placement: SfuAdapter['placement'] = (callID) => this.janus.placement(callID);
  attachedHandles: SfuAdapter['attachedHandles'] = () => this.janus.attachedHandles();
  destroyStaleRoom: SfuAdapter['destroyStaleRoom'] = (p) => this.janus.destroyStaleRoom(p);
  get connected(): boolean {
    return this.janus.connected;
  }
  async close(): Promise<void> {
    await this.janus.close();
    await this.process.close();
  }
}

function roomKeyOf(options: CreateSfuOptions): { roomKey?: string } {
  return options.roomKey === undefined ? {} : { roomKey: options.roomKey };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
