/**
 * The kit page's form input, checked before anything reaches the kit: user IDs as the server
 * accepts them, a comma-separated invitee list, and the optional ring time. Pure, tested in Node.
 */

const USER_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
/** The SDK's upper bound for an invitation's ring time (seconds). */
const MAX_TIMEOUT_S = 600;
/** A group grid holds 16 tiles: the caller plus 15 invitees. */
const MAX_INVITEES = 15;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function parseUserID(raw: string): Parsed<string> {
  const value = raw.trim();
  return USER_ID_RE.test(value)
    ? { ok: true, value }
    : { ok: false, message: 'A user ID is 1–32 letters, digits, hyphens or underscores.' };
}

/** `"bob, carol ,dave"` → `['bob', 'carol', 'dave']`; empty items are skipped, repeats refused. */
export function parseUserIDList(raw: string, self?: string): Parsed<string[]> {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) return { ok: false, message: 'List at least one user ID to call.' };
  if (items.length > MAX_INVITEES) {
    return { ok: false, message: `A group call invites at most ${MAX_INVITEES} people.` };
  }
  const bad = items.find((item) => !USER_ID_RE.test(item));
  if (bad !== undefined) return { ok: false, message: `"${bad}" is not a valid user ID.` };
  if (new Set(items).size !== items.length) {
    return { ok: false, message: 'Each user ID may appear only once.' };
  }
  if (self !== undefined && items.includes(self)) {
    return { ok: false, message: 'You cannot invite yourself.' };
  }
  return { ok: true, value: items };
}

/** The ring time field: empty means the server's default (`undefined`), else whole seconds. */
export function parseTimeout(raw: string): Parsed<number | undefined> {
  const value = raw.trim();
  if (value === '') return { ok: true, value: undefined };
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > MAX_TIMEOUT_S) {
    return { ok: false, message: `Ring time is whole seconds from 1 to ${MAX_TIMEOUT_S}.` };
  }
  return { ok: true, value: seconds };
}
