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

export type ParseResult =
  { ok: true; request: ClientRequest } | { ok: false; id: number | undefined; error: ServerError };

/** Parses and validates one text frame. Never throws. */
export function parseRequest(text: string): ParseResult {
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
