/**
 * The LockManager keys of a call, in one place: the call layer and the media layer both take the
 * call's lock, and a network lock manager sees these strings.
 */

/** The call's lock: loading and committing a call, and relaying between its members, hold it. */
export const callLockKey = (callID: string): string => `call:${callID}`;

/** The call's SFU queue: one SFU operation of a call at a time, outside the call's lock. */
export const sfuQueueKey = (callID: string): string => `sfu:${callID}`;

/** A node's SFU channel on the bus: `sfuRequest`s to it and `sfuReply`s for it. */
export const sfuChannel = (nodeID: string): string => `${nodeID}:sfu`;
