/**
 * The edge: every frame is parsed and checked against the protocol's schemas (compiled once)
 * before anything else sees it. The result is either a typed request or a coded error, plus the
 * request id when one could be read, so that the error can go back as that request's reply.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { USER_ID_PATTERN, type ClientRequest, type ClientRequestType } from '@ringline/protocol';
import { ClientRequestSchemas } from '@ringline/protocol/schema';
import { ServerError } from '../errors.js';

const checkers = new Map<string, TypeCheck<TSchema>>(
  Object.entries(ClientRequestSchemas).map(([type, schema]) => [
    type,
    TypeCompiler.Compile(schema),
  ]),
);
/** Request types that may come without an id, as notifications. */
const notifications = new Set(
  Object.entries(ClientRequestSchemas)
    .filter(([, schema]) => !(schema.required as readonly string[]).includes('id'))
    .map(([type]) => type),
);

const userIdRe = new RegExp(USER_ID_PATTERN);

/** True for a user ID the protocol accepts. */
export function isValidUserID(value: unknown): value is string {
  return typeof value === 'string' && userIdRe.test(value);
}

/** How deep a frame's arrays and objects may nest by default; real requests need 5. */
export const DEFAULT_MAX_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when the JSON text in `buf` nests arrays/objects deeper than `max`, found by one pass over
 * the raw bytes (brackets inside strings do not count), so that a hostile frame is refused before
 * JSON.parse and everything after it (schema checks, error messages, relays) recurse into it.
 * O(length), no allocation. Malformed text is left for JSON.parse to report.
 */
export function nestsDeeperThan(buf: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;
const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The top-level `"id": N` of a frame that is not parsed (it nests too deep), so that its refusal
 * still answers the request rather than leaving the client to time out. One pass, as
 * nestsDeeperThan; the last such key wins, as in JSON.parse; undefined unless it is a plain
 * non-negative integer.
 */
export function topLevelId(buf: Uint8Array): number | undefined {
  let depth = 0;
  let found: number | undefined;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const start = i;
      for (i++; i < buf.length && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
      // A key "id" directly inside the outermost object: a colon follows it.
      if (depth !== 1 || i !== start + 3 || buf[start + 1] !== 0x69 || buf[start + 2] !== 0x64) {
        continue;
      }
      let j = i + 1;
      while (isSpace(buf[j])) j++;
      if (buf[j] !== COLON) continue;
      for (j++; isSpace(buf[j]); j++);
      let id = 0;
      let digits = 0;
      for (; buf[j]! >= ZERO && buf[j]! <= NINE && digits < 16; j++, digits++) {
        id = id * 10 + (buf[j]! - ZERO);
      }
      const next = buf[j];
      const plain = digits > 0 && (isSpace(next) || next === 0x2c || next === CLOSE_OBJECT);
      found = plain && Number.isSafeInteger(id) ? id : undefined;
      i = j - 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return found;
}

export type ParseResult =
  { ok: true; request: ClientRequest } | { ok: false; id: number | undefined; error: ServerError };

/**
 * Parses and validates one text frame. Never throws. `maxDepth` is checked on the raw bytes first
 * when the caller has them (the gateway does); pass the text alone and it is checked on the text.
 */
export function parseRequest(
  text: string,
  maxDepth = DEFAULT_MAX_DEPTH,
  raw: Uint8Array = Buffer.from(text),
): ParseResult {
  if (nestsDeeperThan(raw, maxDepth)) {
    return {
      ok: false,
      id: topLevelId(raw),
      error: ServerError.malformed(`the frame nests arrays or objects deeper than ${maxDepth}`),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      id: undefined,
      error: ServerError.malformed('the frame is not valid JSON'),
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      id: undefined,
      error: ServerError.malformed('the frame is not a JSON object'),
    };
  }
  const msg = value as Record<string, unknown>;
  const id =
    Number.isSafeInteger(msg.id) && (msg.id as number) >= 0 ? (msg.id as number) : undefined;
  const type = msg.type;
  const check = typeof type === 'string' ? checkers.get(type) : undefined;
  if (!check) return { ok: false, id, error: ServerError.unknownType(type) };
  if (id === undefined && !(msg.id === undefined && notifications.has(type as string))) {
    return {
      ok: false,
      id,
      error: ServerError.invalidField('/id', 'must be a non-negative integer'),
    };
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    if (first?.schema.pattern === USER_ID_PATTERN) {
      return { ok: false, id, error: ServerError.invalidUserID(first.path, first.value) };
    }
    return {
      ok: false,
      id,
      error: ServerError.invalidField(first?.path ?? '', first?.message ?? 'invalid'),
    };
  }
  // login's userID is only length-checked by the schema (Tencent accepts what it accepts); ours
  // must also be a valid user ID, since it is how others address this user.
  if (type === 'login' && !isValidUserID(msg.userID)) {
    return { ok: false, id, error: ServerError.invalidUserID('/userID', msg.userID) };
  }
  return { ok: true, request: value as ClientRequest };
}

/** Narrows a request to one type (for handler tables). */
export type RequestOf<T extends ClientRequestType> = Extract<ClientRequest, { type: T }>;
