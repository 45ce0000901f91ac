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

/**
 * A session's resume-window expiry on the Scheduler (cluster/redis/sessions.ts's reaper builds the
 * same string in Lua).
 */
export const sessionTimerKey = (sessionID: string, userID: string): string =>
  `session:${sessionID}:${userID}`;

/** `sessionTimerKey` read back; undefined for another key. */
export function parseSessionTimerKey(
  key: string,
): { sessionID: string; userID: string } | undefined {
  const m = /^session:([^:]+):(.+)$/s.exec(key);
  return m ? { sessionID: m[1]!, userID: m[2]! } : undefined;
}

/**
 * `--multi-device ring-all`: a device's presence and shared-session key. A user ID never holds
 * `~` (USER_ID_PATTERN), so this never names a user; pushes addressed to it reach that device only.
 */
export const deviceKey = (userID: string, sessionID: string): string => `${userID}~${sessionID}`;

/** `deviceKey` read back; undefined for a plain user ID. */
export function parseDeviceKey(key: string): { userID: string; sessionID: string } | undefined {
  const at = key.indexOf('~');
  return at < 0 ? undefined : { userID: key.slice(0, at), sessionID: key.slice(at + 1) };
}
