/**
 * The signalling protocol, defined once as TypeBox schemas: the server compiles them to validate
 * every frame at its edge, and both sides take their TypeScript types from them.
 *
 * Client → server: requests, each with an `id` and exactly one `reply` carrying the same id. A
 * `signal` may leave out its id: it is then a notification, with no reply on success.
 * Server → client: replies, `error` for frames that had no usable id (a refused notification among
 * them), and pushes. Every push carries a per-session `seq` (1, 2, 3, …) so that a client that
 * reconnects can resume its session and have the server replay what it missed
 * (`login.resume.lastSeq`).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  MAX_INVITEES,
  MAX_INVITE_TIMEOUT_S,
  USER_ID_PATTERN,
  type CallEndReason,
  type CallType,
  type InviteEndReason,
  type KickReason,
  type MediaMode,
} from './constants.js';
import type { WireError } from './errors.js';

const strict = { additionalProperties: false } as const;

export const UserIdSchema = Type.String({ pattern: USER_ID_PATTERN });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const RequestId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const CallTypeSchema = Type.Union([Type.Literal(1), Type.Literal(2)]);

export const OfflinePushInfoSchema = Type.Object(
  {
    title: Type.Optional(Type.String({ maxLength: 256 })),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    androidOPPOChannelID: Type.Optional(Type.String({ maxLength: 256 })),
    extension: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  strict,
);
export type OfflinePushInfo = Static<typeof OfflinePushInfoSchema>;

export const SignalDataSchema = Type.Object(
  {
    description: Type.Optional(
      Type.Object(
        {
          type: Type.Union([
            Type.Literal('offer'),
            Type.Literal('answer'),
            Type.Literal('pranswer'),
            Type.Literal('rollback'),
          ]),
          sdp: Type.Optional(Type.String({ maxLength: 48 * 1024 })),
        },
        strict,
      ),
    ),
    candidate: Type.Optional(
      Type.Object(
        {
          candidate: Type.String({ maxLength: 1024 }),
          sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
          sdpMLineIndex: Type.Optional(
            Type.Union([Type.Integer({ minimum: 0, maximum: 1024 }), Type.Null()]),
          ),
          usernameFragment: Type.Optional(
            Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
          ),
        },
        strict,
      ),
    ),
    /**
     * One-to-one pre-connect: the sender closed the connection it made with the recipient while
     * the call rang (it failed); the recipient closes its side, and the answer connects anew.
     */
    closed: Type.Optional(Type.Literal(true)),
  },
  strict,
);
/**
 * What one peer sends the other through `signal`: an SDP description, an ICE candidate, or that
 * its pre-connection closed.
 */
export type SignalData = Static<typeof SignalDataSchema>;

/** A request's schema; `id` is optional only for requests that may be sent as notifications. */
function request<
  T extends string,
  P extends Record<string, TSchema>,
  I extends TSchema = typeof RequestId,
>(type: T, props: P, id: I = RequestId as unknown as I) {
  return Type.Object({ id, type: Type.Literal(type), ...props }, strict);
}

/** Log in with a userSig; `resume` asks to continue an earlier session of the same user. */
export const LoginRequestSchema = request('login', {
  sdkAppID: Type.Integer({ minimum: 1, maximum: 0xffffffff }),
  userID: Type.String({ minLength: 1, maxLength: 64 }),
  userSig: Type.String({ minLength: 1, maxLength: 4096 }),
  protocol: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  resume: Type.Optional(Type.Object({ sessionID: Id, lastSeq: Seq }, strict)),
});
/** End the session: pending invitations are cancelled and calls are left. */
export const LogoutRequestSchema = request('logout', {});
/** Keep-alive; `ack` tells the server the highest push seq received, so it can drop older ones. */
export const PingRequestSchema = request('ping', { ack: Type.Optional(Seq) });
/** Invite users to a new call, or (with `callID`) into a call the sender is in. */
export const InviteRequestSchema = request('invite', {
  userIDList: Type.Array(UserIdSchema, { minItems: 1, maxItems: MAX_INVITEES }),
  callType: CallTypeSchema,
  groupID: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Seconds; 0 means the invitation rings until answered or cancelled. */
  timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INVITE_TIMEOUT_S })),
  offlinePushInfo: Type.Optional(OfflinePushInfoSchema),
  callID: Type.Optional(Id),
});
/** Accept an invitation addressed to the sender. */
export const AcceptRequestSchema = request('accept', { inviteID: Id });
/** Reject an invitation addressed to the sender; `busy` reports the line as busy instead. */
export const RejectRequestSchema = request('reject', {
  inviteID: Id,
  busy: Type.Optional(Type.Boolean()),
});
/**
 * Pre-connect (the invitee of a ringing one-to-one peer-to-peer call): the sender's SDK is ready to
 * connect media while it rings. The inviter gets `preconnect` and may then `signal` the ringing
 * invitee (and it back) before the answer; no media flows until the invitee accepts.
 */
export const PreconnectRequestSchema = request('preconnect', { inviteID: Id });
/** Cancel an invitation the sender made, for every invitee still ringing. */
export const CancelRequestSchema = request('cancel', { inviteID: Id });
/** Leave a call (cancelling the sender's own invitations into it that still ring). */
export const HangupRequestSchema = request('hangup', { callID: Id });
/**
 * Relay SDP or ICE to another member of the same call. Without an `id` it is a notification: no
 * reply when relayed, an `error` frame naming `signal` when refused. Clients send it that way.
 */
export const SignalRequestSchema = request(
  'signal',
  { callID: Id, to: UserIdSchema, data: SignalDataSchema },
  Type.Optional(RequestId),
);
/** Tell the other members whether the sender's mic and camera are on. */
export const MediaRequestSchema = request('media', {
  callID: Id,
  audio: Type.Boolean(),
  video: Type.Boolean(),
});
/** Switch a one-to-one call between audio and video; the other member follows. */
export const SwitchCallTypeRequestSchema = request('switchCallType', {
  callID: Id,
  callType: CallTypeSchema,
});

const SdpSchema = <T extends 'offer' | 'answer'>(type: T) =>
  Type.Object({ type: Type.Literal(type), sdp: Type.String({ maxLength: 48 * 1024 }) }, strict);

/** Join the ongoing call of a group the sender is a member of, without an invitation. */
export const JoinRequestSchema = request('join', {
  groupID: Type.String({ minLength: 1, maxLength: 64 }),
  callType: CallTypeSchema,
});
/**
 * SFU calls: publish the sender's media. The offer is the sender's publisher connection's; the
 * reply carries the SFU's answer.
 */
export const SfuPublishRequestSchema = request('sfuPublish', {
  callID: Id,
  description: SdpSchema('offer'),
});
/** SFU calls: the answer to the latest `sfuOffer` for the sender's subscriber connection. */
export const SfuAnswerRequestSchema = request('sfuAnswer', {
  callID: Id,
  description: SdpSchema('answer'),
});
/** SFU calls: an ICE candidate of the publisher or subscriber connection; none = gathering done. */
export const SfuTrickleRequestSchema = request('sfuTrickle', {
  callID: Id,
  target: Type.Union([Type.Literal('publisher'), Type.Literal('subscriber')]),
  candidate: Type.Optional(
    Type.Object(
      {
        candidate: Type.String({ maxLength: 1024 }),
        sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
        sdpMLineIndex: Type.Optional(
          Type.Union([Type.Integer({ minimum: 0, maximum: 1024 }), Type.Null()]),
        ),
      },
      strict,
    ),
  ),
});
/**
 * SFU calls: restart ICE on the sender's subscriber connection (its path died). The reply is empty;
 * a new `sfuOffer` (with fresh ICE credentials) follows as a push, answered with `sfuAnswer`. The
 * publisher restarts ICE by sending a new offer (`iceRestart`) with `sfuPublish`.
 */
export const SfuRestartRequestSchema = request('sfuRestart', { callID: Id });
/** SFU calls: which simulcast layer of `userID`'s video the sender wants (0 lowest … 2 highest). */
export const SfuLayerRequestSchema = request('sfuLayer', {
  callID: Id,
  userID: UserIdSchema,
  substream: Type.Integer({ minimum: 0, maximum: 2 }),
});

export const ClientRequestSchemas = {
  login: LoginRequestSchema,
  logout: LogoutRequestSchema,
  ping: PingRequestSchema,
  invite: InviteRequestSchema,
  accept: AcceptRequestSchema,
  reject: RejectRequestSchema,
  preconnect: PreconnectRequestSchema,
  cancel: CancelRequestSchema,
  hangup: HangupRequestSchema,
  signal: SignalRequestSchema,
  media: MediaRequestSchema,
  switchCallType: SwitchCallTypeRequestSchema,
  join: JoinRequestSchema,
  sfuPublish: SfuPublishRequestSchema,
  sfuAnswer: SfuAnswerRequestSchema,
  sfuTrickle: SfuTrickleRequestSchema,
  sfuLayer: SfuLayerRequestSchema,
  sfuRestart: SfuRestartRequestSchema,
} as const;
export type ClientRequestType = keyof typeof ClientRequestSchemas;
export type ClientRequestOf<T extends ClientRequestType> = Static<(typeof ClientRequestSchemas)[T]>;
export type ClientRequest = { [T in ClientRequestType]: ClientRequestOf<T> }[ClientRequestType];

/** A STUN or TURN server, as RTCIceServer. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * Which ICE candidates a client's peer connections may use (RTCIceTransportPolicy): `relay` sends
 * all media through TURN, so members never learn each other's IP addresses.
 */
export type IceTransportPolicy = 'all' | 'relay';

/** The ICE configuration a session uses: in the login reply, and renewed by the `iceServers` push. */
export interface IceConfig {
  iceServers: IceServer[];
  iceTransportPolicy: IceTransportPolicy;
  /**
   * Seconds the TURN credentials in `iceServers` stay valid (0: nothing expires). The server pushes
   * `iceServers` with fresh credentials before they expire.
   */
  iceServersTtl: number;
}

/** A member of a call and the state of their media. */
export interface CallMember {
  userID: string;
  audio: boolean;
  video: boolean;
}

/** What each request's successful reply carries. */
export interface RequestResults {
  login: IceConfig & {
    sessionID: string;
    /** True when `resume` was honoured: pushes after `lastSeq` follow this reply. */
    resumed: boolean;
    userID: string;
    /** Default invitation timeout, seconds. */
    inviteTimeout: number;
    /** How long the server keeps a session whose connection dropped, seconds. */
    resumeWindow: number;
    /** How often the client should ping, seconds. */
    pingInterval: number;
  };
  logout: Record<string, never>;
  ping: { time: number };
  invite: { inviteID: string; callID: string; roomID: number; media: MediaMode };
  accept: JoinedCall;
  reject: Record<string, never>;
  preconnect: Record<string, never>;
  cancel: Record<string, never>;
  hangup: Record<string, never>;
  signal: Record<string, never>;
  media: Record<string, never>;
  switchCallType: Record<string, never>;
  join: JoinedCall;
  sfuPublish: { description: { type: 'answer'; sdp: string } };
  sfuAnswer: Record<string, never>;
  sfuTrickle: Record<string, never>;
  sfuLayer: Record<string, never>;
  sfuRestart: Record<string, never>;
}

/** The call a user just joined (by `accept` or `join`). */
export interface JoinedCall {
  callID: string;
  roomID: number;
  callType: CallType;
  /** Members already in the call (not the joiner), with their media state. */
  members: CallMember[];
  /** How media flows: straight to the other member, or through the SFU. */
  media: MediaMode;
  groupID?: string;
  /** Invitees still ringing. */
  inviteeList: string[];
}

/** One remote stream in an SFU subscriber offer. */
export interface SfuStream {
  /** The transceiver's mid in the offer. */
  mid: string;
  /** Whose stream it is. */
  userID: string;
  kind: 'audio' | 'video';
}

export type ReplyMessage =
  | {
      [T in ClientRequestType]: { type: 'reply'; id: number; ok: true; result: RequestResults[T] };
    }[ClientRequestType]
  | { type: 'reply'; id: number; ok: false; error: WireError };

/** An error about a frame the server could not tie to a request id (e.g. malformed JSON). */
export interface ErrorMessage {
  type: 'error';
  error: WireError;
  /** The type of the notification (a request without an id) the error is about. */
  request?: ClientRequestType;
}

/** Server pushes, keyed by type; each is sent with a `seq`. */
export interface PushPayloads {
  /** The recipient is invited to a call. */
  invited: {
    inviteID: string;
    callID: string;
    roomID: number;
    sponsor: string;
    userIDList: string[];
    isFromGroup: boolean;
    groupID?: string;
    callType: CallType;
    /** Seconds the invitation rings; 0 for no timeout. */
    timeout: number;
    offlinePushInfo?: OfflinePushInfo;
    /**
     * How the call's media flows as it rings (it may still move to the SFU): what a pre-connecting
     * SDK connects to. Absent from servers before pre-connect.
     */
    media?: MediaMode;
  };
  /** To the caller (and members): an invitee rejected. */
  rejected: { inviteID: string; callID: string; userID: string };
  /** To the caller (and members): an invitee was busy. */
  lineBusy: { inviteID: string; callID: string; userID: string };
  /** To the caller (and members): invitees did not answer in time. */
  noResponse: { inviteID: string; callID: string; userID: string; userIDList: string[] };
  /**
   * To the inviter of a ringing one-to-one call: the invitee is ready to connect media while it
   * rings (`preconnect` request). The inviter may offer through `signal` at once.
   */
  preconnect: { inviteID: string; callID: string; userID: string };
  /** To an invitee: the invitation stopped ringing without an answer. */
  inviteEnded: { inviteID: string; callID: string; reason: InviteEndReason };
  /** A user joined the call the recipient is in. */
  userEnter: { callID: string; userID: string; audio: boolean; video: boolean };
  /** A user left the call the recipient is in. */
  userLeave: { callID: string; userID: string };
  /** The call the recipient was in (or calling from) ended. */
  callEnded: { callID: string; reason: CallEndReason };
  /** SDP or ICE from another member. */
  signal: { callID: string; from: string; data: SignalData };
  /** Another member's mic or camera changed. */
  mediaState: { callID: string; userID: string; audio: boolean; video: boolean };
  /** The call switched between audio and video. */
  callTypeChanged: { callID: string; callType: CallType; userID: string };
  /** The list of invitees still ringing in the recipient's call changed. */
  inviteeListUpdate: { callID: string; userIDList: string[] };
  /** The call's media moves to the SFU (a one-to-one call gained a third member). */
  mediaMode: { callID: string; media: MediaMode };
  /**
   * SFU calls: an offer for the recipient's subscriber connection carrying every other member's
   * streams (sent again, as a new offer, whenever they change); answer with `sfuAnswer`.
   */
  sfuOffer: { callID: string; description: { type: 'offer'; sdp: string }; streams: SfuStream[] };
  /**
   * SFU calls: the SFU lost the call's room (Janus restarted) and the server made a new one. The
   * recipient drops its publisher and subscriber connections and publishes again (`sfuPublish`);
   * a fresh `sfuOffer` follows for the subscriber. The call itself goes on.
   */
  sfuReset: { callID: string };
  /**
   * New ICE servers for the session (fresh TURN credentials, sent before the old ones expire): used
   * by every peer connection made from now on and applied to live ones (`setConfiguration`).
   */
  iceServers: IceConfig;
  /** The session was closed by the server; the connection closes after this. */
  kicked: { reason: KickReason };
}
export type PushType = keyof PushPayloads;
export type PushMessage = {
  [T in PushType]: { type: T; seq: number } & PushPayloads[T];
}[PushType];

/**
 * The node this connection is on is draining (shutting down): reconnect (a new connection, through
 * the balancer to another node, or to this one after its restart) and resume the session, which is
 * kept. A notice about the connection, not a push: it has no `seq` and is never replayed.
 */
export interface DrainingMessage {
  type: 'draining';
  /** Milliseconds until the node stops; connections still on it then are closed. */
  timeLeftMs: number;
}

export type ServerMessage = ReplyMessage | ErrorMessage | DrainingMessage | PushMessage;
