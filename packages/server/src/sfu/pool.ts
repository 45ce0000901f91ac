/**
 * A pool of Janus servers behind one `SfuAdapter` (`--janus ws://a:8188,ws://b:8188`; `auto` is a
 * pool of one). Each new room goes on the least-loaded member that answers (load = rooms this pool
 * placed there); every operation on a call goes to the member holding its room.
 *
 * When a member's Janus dies, its adapter reports each of its rooms lost; the SFU coordinator heals
 * them as it does for a lone Janus (media/sfu-coordinator.ts): it asks for the room again, and the
 * pool then places it on the least-loaded member that answers — another one at once, since the
 * dead one is disconnected — and the members re-publish after `sfuReset`. Waiting for the dead
 * Janus to come back would only make media come back later. A member that reconnects takes new
 * rooms again (it is the least loaded then).
 */
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SfuAdapter } from './types.js';

/** One Janus of the pool: its adapter, and whether its connection is up. */
export interface PoolMember {
  /** The Janus's WebSocket URL (what the call's record names). */
  readonly url: string;
  readonly sfu: SfuAdapter & { readonly connected: boolean };
}

interface Member extends PoolMember {
  /** Calls whose room this pool placed on the member (its load). */
  readonly rooms: Set<string>;
}

export class JanusPool implements SfuAdapter {
  readonly #members: Member[];
  /** The member holding each call's room. */
  readonly #placed = new Map<string, Member>();
  /** Calls whose room their member lost (openRoom places them anew). */
  readonly #lost = new Set<string>();
  readonly #publishers = new Set<(callID: string, publishers: string[]) => void>();
  readonly #roomLost = new Set<(callID: string) => void>();
  readonly #log: Logger;
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(members: readonly PoolMember[], log: Logger) {
    if (!members.length) throw new Error('a Janus pool needs at least one member');
    this.#log = log;
    this.#members = members.map((m) => ({ url: m.url, sfu: m.sfu, rooms: new Set<string>() }));
    for (const member of this.#members) {
      this.#unsubscribe.push(
        // Events of a room the call no longer has on this member (it moved) are stale.
        member.sfu.onPublishersChanged((callID, publishers) => {
          if (this.#placed.get(callID) !== member) return;
          for (const l of this.#publishers) l(callID, publishers);
        }),
        member.sfu.onRoomLost((callID) => {
          if (this.#placed.get(callID) !== member) return;
          this.#lost.add(callID);
          for (const l of this.#roomLost) l(callID);
        }),
      );
    }
  }

  /** Each member's URL, whether it answers, and how many rooms this pool placed on it. */
  get members(): Array<{ url: string; connected: boolean; rooms: number }> {
    return this.#members.map((m) => ({
      url: m.url,
      connected: m.sfu.connected,
      rooms: m.rooms.size,
    }));
  }

  async openRoom(callID: string): Promise<void> {
    if (this.#closed) throw new ServerError('SFU_UNAVAILABLE', 'the SFU adapter is closed');
    const current = this.#placed.get(callID);
    if (current && !this.#lost.has(callID)) return current.sfu.openRoom(callID);
    // A new room, or one whose Janus lost it: the least-loaded member that answers takes it.
    const candidates = this.#members
      .filter((m) => m.sfu.connected)
      .sort((a, b) => load(a, callID) - load(b, callID));
    const errors: string[] = [];
    for (const member of candidates) {
      try {
        await member.sfu.openRoom(callID);
      } catch (err) {
        errors.push(`${member.url}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      this.#lost.delete(callID);
      if (current && current !== member) {
        current.rooms.delete(callID);
        // Its lost room's state goes; Janus has no such room any more (or will drop it with the session).
        void current.sfu.closeRoom(callID).catch(() => {});
        this.#log.info('sfu room moved to another Janus', {
          callID,
          from: current.url,
          to: member.url,
        });
      }
      member.rooms.add(callID);
      this.#placed.set(callID, member);
      return;
    }
    throw new ServerError(
      'SFU_UNAVAILABLE',
      candidates.length
        ? `no Janus of the pool could open a room (${errors.join('; ')})`
        : `no Janus of the pool is reachable right now (${this.#members.map((m) => m.url).join(', ')})`,
    );
  }

  async closeRoom(callID: string): Promise<void> {
    const member = this.#placed.get(callID);
    if (!member) return;
    this.#placed.delete(callID);
    this.#lost.delete(callID);
    member.rooms.delete(callID);
    await member.sfu.closeRoom(callID);
  }

  // Async, so that a call without a room rejects (as JanusSfu does) rather than throws.
  publish: SfuAdapter['publish'] = async (callID, ...a) => this.#at(callID).publish(callID, ...a);
  subscribe: SfuAdapter['subscribe'] = async (callID, ...a) =>
    this.#at(callID).subscribe(callID, ...a);
  answer: SfuAdapter['answer'] = async (callID, ...a) => this.#at(callID).answer(callID, ...a);
  trickle: SfuAdapter['trickle'] = async (callID, ...a) => this.#at(callID).trickle(callID, ...a);
  setLayer: SfuAdapter['setLayer'] = async (callID, ...a) =>
    this.#at(callID).setLayer(callID, ...a);
  restartSubscriber: SfuAdapter['restartSubscriber'] = async (callID, ...a) =>
    this.#at(callID).restartSubscriber(callID, ...a);
  attachedHandles(): number {
    return this.#members.reduce((n, m) => n + m.sfu.attachedHandles(), 0);
  }

  hold: SfuAdapter['hold'] = async (callID, ...a) => this.#at(callID).hold(callID, ...a);

  async unhold(callID: string, userID: string): Promise<boolean> {
    return (await this.#placed.get(callID)?.sfu.unhold(callID, userID)) ?? false;
  }

  async leave(callID: string, userID: string): Promise<void> {
    await this.#placed.get(callID)?.sfu.leave(callID, userID);
  }

  async destroyStaleRoom(placement: { janus: string; room: number }): Promise<void> {
    await this.#members.find((m) => m.url === placement.janus)?.sfu.destroyStaleRoom(placement);
  }

  placement(callID: string): { janus: string; room: number } | undefined {
    const member = this.#placed.get(callID);
    const room = member?.sfu.placement(callID);
    return member && room ? { janus: member.url, room: room.room } : undefined;
  }

  onPublishersChanged(listener: (callID: string, publishers: string[]) => void): () => void {
    this.#publishers.add(listener);
    return () => this.#publishers.delete(listener);
  }

  onRoomLost(listener: (callID: string) => void): () => void {
    this.#roomLost.add(listener);
    return () => this.#roomLost.delete(listener);
  }

  /** True as soon as any member answers. */
  async waitUntilAvailable(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#members.some((m) => m.sfu.connected)) return true;
    // The members' waits resolve false at the timeout; the first true one wins.
    return new Promise((resolve) => {
      let left = this.#members.length;
      for (const m of this.#members) {
        void m.sfu.waitUntilAvailable(timeoutMs).then((ok) => {
          left--;
          if (ok) resolve(true);
          else if (left === 0) resolve(false);
        });
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#placed.clear();
    await Promise.all(this.#members.map((m) => m.sfu.close()));
  }

  /** The adapter of the member holding the call's room; CALL_NOT_FOUND when there is none. */
  #at(callID: string): SfuAdapter {
    const member = this.#placed.get(callID);
    if (!member) {
      throw new ServerError(
        'CALL_NOT_FOUND',
        `call ${callID} has no SFU room (never opened, or already closed)`,
      );
    }
    return member.sfu;
  }
}

/** The member's load as placement sees it: its rooms, not counting the call being placed. */
function load(member: Member, callID: string): number {
  return member.rooms.size - (member.rooms.has(callID) ? 1 : 0);
}
