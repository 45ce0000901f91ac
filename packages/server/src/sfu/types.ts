/**
 * The SFU as the call layer sees it: one room per call, one publisher and one multistream
 * subscriber per member. The implementation drives Janus VideoRoom through janode; clients never
 * talk to Janus, all SDP and ICE pass through our signalling.
 */
import type { SfuStream } from '@ringline/protocol';

export interface SessionDescription<T extends 'offer' | 'answer'> {
  type: T;
  sdp: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** An offer for a member's subscriber connection, and which stream each mid carries. */
export interface SubscriberOffer {
  description: SessionDescription<'offer'>;
  streams: SfuStream[];
}

export interface SfuAdapter {
  /** Creates the call's room (with a secret only the server knows); idempotent per callID. */
  openRoom(callID: string): Promise<void>;
  /** Destroys the call's room and every handle in it; idempotent. */
  closeRoom(callID: string): Promise<void>;
  /** Joins `userID` to the room as publisher with the client's offer; returns the SFU's answer. */
  publish(
    callID: string,
    userID: string,
    offer: SessionDescription<'offer'>,
  ): Promise<SessionDescription<'answer'>>;
  /**
   * Makes `userID`'s subscriber carry exactly the streams of `publishers` (creating it on first
   * use, updating it after). Returns the SFU's new offer, or undefined when nothing changed or
   * there is nothing to receive yet.
   */
  subscribe(
    callID: string,
    userID: string,
    publishers: string[],
  ): Promise<SubscriberOffer | undefined>;
  /**
   * Applies the client's answer to the latest subscriber offer (starts or resumes the streams).
   * While an offer awaits its answer, `subscribe()` only records the wanted publishers (Janus
   * cannot offer again before the answer) and returns undefined; the follow-up offer for them is
   * returned here, to be pushed to the member like one from `subscribe()`.
   */
  answer(
    callID: string,
    userID: string,
    answer: SessionDescription<'answer'>,
  ): Promise<SubscriberOffer | undefined>;
  /** Trickles a client candidate to its publisher or subscriber handle; none = end of candidates. */
  trickle(
    callID: string,
    userID: string,
    target: 'publisher' | 'subscriber',
    candidate: IceCandidate | undefined,
  ): Promise<void>;
  /**
   * Restarts ICE on `userID`'s subscriber connection (its network path died): returns the SFU's
   * new offer, with fresh ICE credentials, to be pushed to the member and answered like any other.
   * INVALID_CALL_STATE when the member has no subscriber, or an offer still awaits its answer.
   */
  restartSubscriber(callID: string, userID: string): Promise<SubscriberOffer>;
  /** Chooses the simulcast layer (0 lowest … 2 highest) of `ofUserID`'s video that `userID` receives. */
  setLayer(callID: string, userID: string, ofUserID: string, substream: number): Promise<void>;
  /**
   * Pre-connect (a ringing invitee connects while it rings): from now on Janus sends `userID`'s
   * subscriber nothing (each stream `send: false`, set before the client answers each offer),
   * until `unhold`. Its publisher is the client's to keep silent (transceivers without tracks).
   */
  hold(callID: string, userID: string): Promise<void>;
  /**
   * The held user entered the call: Janus sends its subscriber every stream now, and each
   * publisher it receives is asked for a keyframe. Resolves false (doing nothing) when it was
   * not held.
   */
  unhold(callID: string, userID: string): Promise<boolean>;
  /** Removes `userID`'s publisher and subscriber from the room. */
  leave(callID: string, userID: string): Promise<void>;
  /** Fires when the set of users publishing in a call's room changes (joined, left, or failed). */
  onPublishersChanged(listener: (callID: string, publishers: string[]) => void): () => void;
  /**
   * Fires when Janus lost a call's room: it restarted, the connection to it dropped, or it no
   * longer knows the room or its handles. Operations on the room then fail with SFU_UNAVAILABLE
   * until `openRoom()` makes a new one (with new handles; every member must publish again).
   */
  onRoomLost(listener: (callID: string) => void): () => void;
  /**
   * Destroys a room another node made on one of this adapter's Janus servers and left behind when
   * it died (its room was taken over and re-created). Its secret derives from the room key all
   * nodes share (`roomKey`). A room this adapter holds, or a Janus it does not drive, is left
   * alone; idempotent; never throws (a failure is logged: the room then lives until Janus restarts).
   */
  destroyStaleRoom(placement: { janus: string; room: number }): Promise<void>;
  /**
   * How many handles Janus holds for this adapter (every room's publishers and subscribers, plus
   * one control handle per Janus), as Janus acknowledged their attach and detach: what a leak
   * would show in.
   */
  attachedHandles(): number;
  /** Where the call's room is (the Janus URL and its room id); undefined when it has none. */
  placement(callID: string): { janus: string; room: number } | undefined;
  /** Resolves true once rooms can be opened (at once if they can now), false after `timeoutMs`. */
  waitUntilAvailable(timeoutMs: number): Promise<boolean>;
  /** Closes every room and the connection to Janus; idempotent. */
  close(): Promise<void>;
}
