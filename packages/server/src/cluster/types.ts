/**
 * Every piece of state that a second server node must see sits behind these small interfaces
 * (socket.io's adapters are the model). The in-memory implementations in `memory.ts` are the
 * default; a Redis implementation can replace them without touching the layers above. All methods
 * are async so that such an implementation fits.
 */
import type {
  CallMember,
  CallType,
  KickReason,
  MediaMode,
  OfflinePushInfo,
  PushPayloads,
  PushType,
} from '@ringline/protocol';

/** A server push before its session gives it a `seq`. */
export type PushBody = { [T in PushType]: { type: T } & PushPayloads[T] }[PushType];

/** Where a user's session lives. */
export interface Presence {
  userID: string;
  sessionID: string;
  /** The node holding the session's connection (and its outbox while it waits to resume). */
  nodeID: string;
}

/** Which user has a session, and where. One session per user. */
export interface PresenceStore {
  get(userID: string): Promise<Presence | undefined>;
  /** Records `presence`, replacing any earlier session of the same user. */
  set(presence: Presence): Promise<void>;
  /** Removes the user's entry only if it is still `sessionID` (a newer session is left alone). */
  remove(userID: string, sessionID: string): Promise<boolean>;
}

/**
 * `--multi-device ring-all`: the devices (sessions) of each user, and which of them is in a call.
 * A device's own presence (and shared session) is kept under `deviceKey(userID, sessionID)`
 * (keys.ts) as if it were a user, so PresenceStore and SharedSessions serve devices unchanged;
 * this index is what finds a user's devices. `kick` mode (the default) does not use it at all.
 *
 * Semantics every implementation keeps (cluster/conformance/devices.ts checks them): `add` is an
 * atomic test-and-add (two logins racing for the last place: one wins); `active` names a device
 * only while it is listed (removing the device clears it), and `clearActive` releases it only
 * while it is still for that call.
 */
export interface DeviceStore {
  /** Lists `sessionID` as one of the user's devices unless they have `max` already; false then. */
  add(userID: string, sessionID: string, max: number): Promise<boolean>;
  /** Forgets the device (and its call, if it was the one in a call); true when it was listed. */
  remove(userID: string, sessionID: string): Promise<boolean>;
  /** The user's devices (sessionIDs, oldest first) and the one in a call, in one read. */
  get(userID: string): Promise<UserDevices>;
  /**
   * `sessionID` takes part in `callID` for the user (invited from it, accepted on it, joined
   * from it): the call's pushes go to it alone. False (nothing changed) when it is not listed.
   */
  setActive(userID: string, sessionID: string, callID: string): Promise<boolean>;
  /**
   * The user is no longer in `callID`: `active` stays, `released`, so that the call's last pushes
   * (callEnded) still reach that device alone, while the user's next invitation rings them all. A
   * later call's device is left alone.
   */
  clearActive(userID: string, callID: string): Promise<void>;
}

/** A user's devices as DeviceStore.get reads them. */
export interface UserDevices {
  /** Every listed device's sessionID, oldest first. */
  sessionIDs: string[];
  /** The device in a call (or, `released`, the last one that was) and that call. */
  active?: { sessionID: string; callID: string; released?: true };
}

/** How one invitee's invitation ended, or that it still rings. */
export type InviteeState = 'ringing' | 'accepted' | 'rejected' | 'busy' | 'timeout' | 'cancelled';

/** A call: who is in it, what it is, which invitations belong to it. */
export interface CallRecord {
  callID: string;
  roomID: number;
  callType: CallType;
  /** The user who started the call. */
  sponsor: string;
  groupID?: string;
  /** More than one invitee, or a group: invitee-list updates go to every member. */
  group: boolean;
  /** How media flows: p2p between two members, or through the SFU (the room is the call's). */
  media: MediaMode;
  /** `ringing` until a second member joins, `connected` from then on. */
  state: 'ringing' | 'connected';
  /** Joined members in join order, with their media state. */
  members: CallMember[];
  /** Everyone who has been a member at some point, in join order (for the call's history). */
  joined: string[];
  /** Every invitation made into this call, oldest first. */
  inviteIDs: string[];
  createdAt: number;
  /** When the call connected (a second user joined), Unix ms. */
  connectedAt?: number;
  /** Domain events the call has had (calls/events.ts `seq`); absent before the first. */
  eventSeq?: number;
  /** Where the call's SFU room is, while its media goes through the SFU (absent for p2p). */
  sfu?: SfuPlacement;
}

/**
 * Where a call's SFU room lives and which node drives it, so that any node that loads the call
 * knows where to send its members' `sfu*` requests.
 */
export interface SfuPlacement {
  /**
   * The node whose Janus session holds the room's handles: every SFU operation of the call runs
   * there (other nodes route them to it over the bus). Handing the call over to another node
   * (when this one died) is rewriting this field under the call's lock and re-creating the room.
   */
  node: string;
  /** The Janus holding the room: its URL (a pool member). */
  janus: string;
  /** The room's id in that Janus. */
  room: number;
}

/** One invitation: one inviter, one or more invitees, one timer. */
export interface InvitationRecord {
  inviteID: string;
  callID: string;
  /** The member who invited. */
  inviter: string;
  callType: CallType;
  groupID?: string;
  offlinePushInfo?: OfflinePushInfo;
  /** Invitees as listed (deduplicated), in order. */
  userIDList: string[];
  /**
   * Per invitee, in `userIDList`'s order: ringing, or how it ended. An array, not an object keyed
   * by user ID, so that IDs such as `__proto__` or `constructor` are data, never property names.
   */
  states: InviteeState[];
  /** Seconds it rings (the server's ring-time cap applied). */
  timeout: number;
  createdAt: number;
  /** Epoch ms when it times out. */
  expiresAt?: number;
  /**
   * Invitees who had no session when invited and have not logged in since it rang for them: if
   * it times out, theirs is an offline missed call. Absent when there are none.
   */
  offline?: string[];
  /**
   * Invitees of a ringing one-to-one peer-to-peer call who asked to pre-connect (`preconnect`):
   * they and the inviter may exchange `signal` before the answer. Absent when none did.
   */
  preconnect?: string[];
}

/** A call as one read returns it: the call's record and every invitation made into it. */
export interface LoadedCall {
  call: CallRecord;
  /**
   * Every stored invitation of the call, in no particular order (a network store reads them as a
   * set). `call.inviteIDs` gives their order; the call layer sorts by it.
   */
  invitations: InvitationRecord[];
}

/**
 * One transaction's record changes, written together by `CallStore.commit`. Each field may be
 * left out (nothing of that kind changes).
 */
export interface CallChanges {
  /**
   * The call's record, written whole (insert or replace), or `null`: delete the call together
   * with every invitation it has (and their `invitationCall` entries). Deleting a call that is
   * not stored is a no-op.
   */
  call?: CallRecord | null;
  /** Invitations written whole (insert or replace). Each must belong to this call. */
  invitations?: readonly InvitationRecord[];
  /**
   * IDs of this call's invitations to delete; an ID that is not stored, or that belongs to
   * another call, is ignored.
   */
  deletedInvitations?: readonly string[];
}

/**
 * Calls, invitations and the user → call index, shaped for a network store (Redis): a call and
 * its invitations are one unit, read in one round trip and written in one atomic step. A user
 * belongs to at most one call at a time, as a member or as a ringing invitee; `claimUser` is the
 * atomic test-and-set behind busy detection.
 *
 * Semantics every implementation keeps (cluster/conformance/call-store.ts checks them):
 * - Records are values: what goes in is copied and what comes out is a fresh copy, so a caller
 *   changing a record it holds changes nothing stored until it commits it.
 * - `load` sees exactly the state of the last commit: never a part of one, never a mix of two.
 * - `commit` is atomic: a concurrent `load`, `invitationCall` or `callMembers` sees all of its
 *   changes or none. It does not compare versions (last writer wins): callers serialise the
 *   commits of one call with the LockManager (`call:<callID>`), loading and committing under it.
 *   Invalid changes reject the whole commit, and nothing of it is written:
 *   `changes.call.callID` differs from `callID`; an invitation's `callID` differs from `callID`;
 *   invitations written while the call is neither stored nor written by the same commit;
 *   invitations written by a commit that deletes the call; an invitation both written and
 *   deleted.
 * - The claims (`claimUser`, `claimGroup` and their releases) are single-key operations apart from
 *   `commit`: deleting a call leaves its claims alone (the call layer releases them), and each
 *   claim is atomic on its own under any concurrency.
 */
export interface CallStore {
  /** The call with all its invitations, in one read; undefined if the call is not stored. */
  load(callID: string): Promise<LoadedCall | undefined>;
  /** The call an invitation belongs to (accept, reject and cancel name only the invitation). */
  invitationCall(inviteID: string): Promise<string | undefined>;
  /** Writes all of one transaction's changes to the call and its invitations in one atomic step. */
  commit(callID: string, changes: CallChanges): Promise<void>;
  /** The user IDs of the call's members (those in it, not those ringing); undefined if no call. */
  callMembers(callID: string): Promise<string[] | undefined>;
  /**
   * The calls whose SFU room `nodeID` drives (`call.sfu.node`), as of the last commits: what a
   * node takes over when `nodeID` died.
   */
  sfuCalls(nodeID: string): Promise<string[]>;
  /** Binds `userID` to `callID` unless bound to another call; true when bound (now or already). */
  claimUser(userID: string, callID: string): Promise<boolean>;
  /** The call the user belongs to, if any. */
  userCall(userID: string): Promise<string | undefined>;
  /** Unbinds `userID` if it is bound to `callID`. */
  releaseUser(userID: string, callID: string): Promise<void>;
  /** Makes `callID` the group's ongoing call unless it has another; true when it is (now or already). */
  claimGroup(groupID: string, callID: string): Promise<boolean>;
  /** The group's ongoing call, if any (what `join {groupID}` joins). */
  groupCall(groupID: string): Promise<string | undefined>;
  /** Forgets the group's ongoing call if it is `callID`. */
  releaseGroup(groupID: string, callID: string): Promise<void>;
}

/** What travels between nodes. */
export type BusMessage =
  | { kind: 'push'; userID: string; sessionID: string; push: PushBody }
  | { kind: 'kick'; userID: string; sessionID: string; reason: KickReason }
  | SfuBusRequest
  | SfuBusReply
  /**
   * A push already appended to the session's shared outbox under `seq` (SharedSessions), `json`
   * being its body without the seq.
   */
  | { kind: 'pushed'; userID: string; sessionID: string; seq: number; json: string }
  /** The session resumed on another node: forget it here, without ending it. */
  | { kind: 'moved'; userID: string; sessionID: string }
  /** The session's resume window is over: end it if it is still waiting for its client. */
  | { kind: 'expire'; userID: string; sessionID: string };

/**
 * A member's SFU operation sent to the node that owns the call's SFU room (`SfuPlacement.node`),
 * on that node's SFU channel (`sfuChannel(nodeID)` in keys.ts); answered with one `sfuReply` on
 * the sender's SFU channel.
 */
export interface SfuBusRequest {
  kind: 'sfuRequest';
  /** Matches the reply to the request. */
  requestID: string;
  /** The node that waits for the reply. */
  from: string;
  callID: string;
  op: SfuBusOp;
}

/** The SFU operations one node asks of another (media/sfu-coordinator.ts runs them). */
export type SfuBusOp =
  | { op: 'publish'; userID: string; offer: { type: 'offer'; sdp: string } }
  | { op: 'answer'; userID: string; answer: { type: 'answer'; sdp: string } }
  | {
      op: 'trickle';
      userID: string;
      target: 'publisher' | 'subscriber';
      candidate?: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };
    }
  | { op: 'restart'; userID: string }
  | { op: 'layer'; userID: string; ofUserID: string; substream: number }
  | { op: 'whileHealing' }
  | {
      op: 'afterCommit';
      ops: Array<
        { kind: 'offer'; userID: string } | { kind: 'leave'; userID: string } | { kind: 'close' }
      >;
    };

/** The owner's answer to an `sfuRequest`: the operation's result, or its coded error. */
export interface SfuBusReply {
  kind: 'sfuReply';
  requestID: string;
  result?: unknown;
  /** A ServerError's registry name and message. */
  error?: { name: string; message: string };
}

/**
 * Node-to-node delivery: a node subscribes under its id; messages for it reach it in the order
 * they were sent (from one sender), each once, and never reach another node. A message sent to a
 * node that is not subscribed is dropped.
 */
export interface MessageBus {
  /**
   * Resolves with whether a node was subscribed under `nodeID` to take it: false means the node is
   * gone (its process died, so its subscription with it), whatever the liveness registry says yet.
   */
  send(nodeID: string, message: BusMessage): Promise<boolean>;
  subscribe(nodeID: string, handler: (message: BusMessage) => void | Promise<void>): Unsubscribe;
  /**
   * Resolves once every `subscribe` made so far receives messages (a remote bus confirms its
   * subscriptions asynchronously); a node awaits it before it takes sessions.
   */
  whenSubscribed(): Promise<void>;
}

/**
 * Server-owned timers, by key, so that any node can cancel what another scheduled and a timer
 * fires once in the cluster. Handlers get the key.
 */
export interface Scheduler {
  schedule(key: string, delayMs: number): Promise<void>;
  cancel(key: string): Promise<void>;
  subscribe(handler: (key: string) => void | Promise<void>): Unsubscribe;
}

/**
 * Mutual exclusion by key across the cluster: operations on one call run one at a time. `run`
 * waits for the key, runs `fn`, and releases the key when `fn` settles (also when it throws).
 *
 * TTL semantics (the Redis adapter; the memory one emulates them for nodes sharing it): the key is
 * held as a lease with a TTL (`lockTtlMs`, default 5 s) that the holder renews while `fn` runs
 * (every third of the TTL), so a slow `fn` keeps it but a node that dies (or is closed) mid-`fn`
 * stops renewing and its lease frees itself at most one TTL later. Only the holder releases it (by
 * a token), so a late release never frees a later holder's lease. A holder whose renewal fails
 * for a whole TTL (shared state unreachable) loses the lease; that is logged, and `fn` is not
 * interrupted. Waiters on other nodes retry with bounded backoff; waiters on one node queue in
 * order. A `run` that cannot take the key within `lockWaitMs` (default 10 s), or cannot reach the
 * shared state at all, rejects with `ClusterUnavailableError` without running `fn`.
 */
export interface LockManager {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** One push as a session's outbox keeps it: the seq the store gave it, and its body's JSON. */
export interface OutboxEntry {
  seq: number;
  /** The push body as appended (without its seq: the reader adds it). */
  json: string;
}

/**
 * Sessions' outboxes where every node can read them, so that a client whose node died resumes on
 * another node with the pushes it missed (today a session's outbox lives in its node's memory;
 * this is the shared form, not wired into signal/ yet). Per session: entries in seq order, the
 * newest seq (the head, kept when every entry is acknowledged), and an expiry.
 *
 * The store gives out the seqs, so any node may append (a push for a session whose node died has
 * to land somewhere the next node finds it), and two appenders never take the same seq.
 *
 * Expiry: a session's outbox goes `ttlMs` after the last `open`, `append` or `expire`. The node
 * holding the session calls `expire(resumeWindow)` when its connection drops, and keeps a live
 * session's outbox alive with `expire` now and then (a node that dies stops, and the outbox goes
 * one window later, as the session would have).
 */
export interface OutboxStore {
  /** Starts the session's outbox (empty, head 0) unless it exists, for `ttlMs`. */
  open(sessionID: string, ttlMs: number): Promise<void>;
  /**
   * Appends `json` under the session's next seq and returns that seq, keeping at most `limit`
   * entries (the oldest go) and the outbox `ttlMs` from now. Undefined, and nothing kept, when the
   * session has no outbox (never opened, expired or deleted): nobody could resume it.
   */
  append(
    sessionID: string,
    json: string,
    options: { limit: number; ttlMs: number },
  ): Promise<number | undefined>;
  /**
   * Every entry after `afterSeq`, in order (empty when `afterSeq` is the head), or undefined when
   * they are not all here any more: trimmed by `limit` or `ack`, expired, never appended, or
   * `afterSeq` beyond the head.
   */
  read(sessionID: string, afterSeq: number): Promise<OutboxEntry[] | undefined>;
  /** The client has everything up to `seq`: those entries go (the head stays). */
  ack(sessionID: string, seq: number): Promise<void>;
  /** Keeps the session's outbox `ttlMs` from now (the resume window, on disconnect). */
  expire(sessionID: string, ttlMs: number): Promise<void>;
  /** Forgets the session's outbox (the session ended for good). */
  delete(sessionID: string): Promise<void>;
}

/**
 * Sessions that survive their node (the Redis adapter; the in-memory cluster has one node and
 * keeps sessions in its memory). Every push goes through the session's shared outbox: one atomic
 * step finds the user's session in presence, appends the push there under the outbox's next seq,
 * and publishes it (`pushed`) to the node presence names. The store's seq is the session's seq, so
 * any node can rebuild the session from the outbox, and a push for a session whose node died is
 * kept for the resume instead of vanishing.
 */
export interface SharedSessions {
  /**
   * A fresh session: presence names it (on `nodeID`), its outbox starts empty (head 0), and the
   * node's session index lists it (for the reaper, should the node die).
   */
  open(presence: Presence): Promise<void>;
  /**
   * Appends a push (its body's JSON, without seq) to the user's current session (to `sessionID`
   * only while it is the user's) and publishes it to the session's node; false when the user has
   * no session (or `sessionID` is not it any more).
   */
  deliver(userID: string, json: string, sessionID?: string): Promise<boolean>;
  /**
   * A resume on `nodeID`: if `sessionID` is still the user's session and every push after
   * `afterSeq` is in its outbox, presence names `nodeID` from now on (pushes are published there)
   * and the result has those pushes and the node that held the session; otherwise undefined.
   */
  takeOver(
    userID: string,
    sessionID: string,
    nodeID: string,
    afterSeq: number,
  ): Promise<{ entries: OutboxEntry[]; head: number; previousNode: string } | undefined>;
  /** The client has every push up to `seq`. */
  ack(sessionID: string, seq: number): Promise<void>;
  /** Keeps the outboxes of a node's live sessions from expiring (a node's periodic sweep). */
  keepAlive(sessionIDs: readonly string[]): Promise<void>;
  /**
   * Lists `sessions` as `nodeID`'s again, after the node was claimed dead while it lived (its
   * list was handed over) or Redis came back empty (restarted without persistence): a session
   * whose presence is gone gets it back, on `nodeID`, with an outbox whose head is its `seq`.
   */
  relist(
    nodeID: string,
    sessions: ReadonlyArray<{ sessionID: string; userID: string; seq: number }>,
  ): Promise<void>;
  /** The session ended for good: its outbox goes, and `nodeID`'s index forgets it. */
  end(sessionID: string, nodeID: string): Promise<void>;
}

/**
 * Node liveness: each node beats every `heartbeatMs`; one that has not beaten for `deadAfterMs`
 * is dead. The first node to notice a dead node claims it (once, cluster-wide) and arms, in the
 * same atomic step, the resume-window expiry (a Scheduler key from `sessionTimerKey`) of every
 * session that node held.
 */
export interface NodeRegistry {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  /**
   * Records that `nodeID` lives, and claims dead nodes (their sessions' expiry timers armed
   * `resumeWindowMs` from now); returns the nodes claimed. Claims nothing when this node's own
   * previous beat is stale too (the shared state was away, not the other nodes). `rejoined`: the
   * node was not listed (it starts, or it was claimed dead while it lived and must list its
   * sessions again).
   */
  beat(nodeID: string, resumeWindowMs: number): Promise<{ dead: string[]; rejoined: boolean }>;
  /** Whether `nodeID` has beaten within `deadAfterMs`. */
  alive(nodeID: string): Promise<boolean>;
  /** The node leaves for good (after ending its sessions). */
  leave(nodeID: string): Promise<void>;
  /**
   * A graceful stop that keeps the node's sessions: they are handed over as if the node had died,
   * but at once — their expiry timers armed `resumeWindowMs` from now (a timer already armed keeps
   * its time), the node's session list gone, and the node listed as long dead, so that it is no
   * longer `alive` and the next beat of a live node claims it (taking over the SFU rooms it
   * drove) instead of after `deadAfterMs`. Absent: the node is found dead the usual way.
   */
  handOver?(nodeID: string, resumeWindowMs: number): Promise<void>;
}

export type Unsubscribe = () => void;

/**
 * Whether the adapters can reach their shared state: `/readyz` reports it, and a node refuses new
 * work while it is false. In-memory adapters are always ready.
 */
export interface ClusterHealth {
  readonly ready: boolean;
  /** Calls `listener` on every change of `ready` (not with the current value). */
  onChange(listener: (ready: boolean) => void): Unsubscribe;
}

/** The adapters one node uses; nodes of one app share them. */
export interface ClusterAdapters {
  presence: PresenceStore;
  calls: CallStore;
  bus: MessageBus;
  scheduler: Scheduler;
  locks: LockManager;
  /** Users' devices for `--multi-device ring-all`; absent: the adapter cannot (kick only). */
  devices?: DeviceStore;
  /** Sessions' outboxes for resuming on any node (SharedSessions is what signal/ uses). */
  outbox?: OutboxStore;
  /** Sessions that survive their node (Redis); absent: sessions live in their node's memory. */
  sessions?: SharedSessions;
  /** Node liveness (Redis); absent with a single node. */
  nodes?: NodeRegistry;
  /** Reachability of the shared state; absent means always ready (in-memory). */
  health?: ClusterHealth;
  /** Releases what the adapters hold (timers, connections); idempotent. */
  close(): Promise<void>;
}
