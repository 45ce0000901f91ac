import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CallType, MAX_FRAME_BYTES, ServerErrorCode } from '@ringline/protocol';
import type { TestClient } from '../testing/client.js';
import { startTestServer, type TestServer } from '../testing/server.js';

/**
 * Bad input from one client gets a coded answer, never a crash: after every case the offender's
 * connection still works, and so does a call between two other users on the same server.
 */
let server: TestServer;
let mallory: TestClient;
let alice: TestClient;
let bob: TestClient;
let callID: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.login('alice');
  bob = await server.login('bob');
  const invite = await alice.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
  callID = invite.callID;
  await bob.call('accept', { inviteID: invite.inviteID });
  mallory = await server.login('mallory');
});
afterAll(async () => {
  await server.close();
});

let relayed = 0;
/** The bystanders' call still relays, and the offender can still make requests. */
async function everyoneStillWorks(): Promise<void> {
  const candidate = `still-${++relayed}`;
  await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate } } });
  expect((await bob.waitForPush('signal')).data.candidate?.candidate).toBe(candidate);
  expect((await mallory.call('ping', {})).time).toBeGreaterThan(0);
}

describe('frames that are not requests get an `error` message', () => {
  test.each([
    ['malformed JSON', '{"id":1,"type":', ServerErrorCode.MALFORMED_MESSAGE],
    ['a JSON array', '[1,2,3]', ServerErrorCode.MALFORMED_MESSAGE],
    ['a JSON number', '42', ServerErrorCode.MALFORMED_MESSAGE],
    ['JSON null', 'null', ServerErrorCode.MALFORMED_MESSAGE],
    ['a JSON string', '"login"', ServerErrorCode.MALFORMED_MESSAGE],
    ['an unknown type without id', '{"type":"teleport"}', ServerErrorCode.UNKNOWN_TYPE],
    ['no type at all', '{"id":"x"}', ServerErrorCode.UNKNOWN_TYPE],
    ['a known type without id', '{"type":"ping"}', ServerErrorCode.INVALID_FIELD],
    [
      'a known type with a non-integer id',
      '{"type":"ping","id":1.5}',
      ServerErrorCode.INVALID_FIELD,
    ],
  ])('%s → %s', async (_what, frame, code) => {
    mallory.send(frame);
    const { error } = await mallory.waitForError();
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
    await everyoneStillWorks();
  });

  test('a binary frame → MALFORMED_MESSAGE', async () => {
    mallory.ws.send(Buffer.from(JSON.stringify({ id: 1, type: 'ping' })), { binary: true });
    expect((await mallory.waitForError()).error.code).toBe(ServerErrorCode.MALFORMED_MESSAGE);
    await everyoneStillWorks();
  });

  test('a frame over MAX_FRAME_BYTES → FRAME_TOO_LARGE, and the connection stays open', async () => {
    const sdp = 'a'.repeat(MAX_FRAME_BYTES);
    mallory.send({
      id: 7,
      type: 'signal',
      callID,
      to: 'bob',
      data: { description: { type: 'offer', sdp } },
    });
    const { error } = await mallory.waitForError();
    expect(error).toMatchObject({ code: ServerErrorCode.FRAME_TOO_LARGE, name: 'FRAME_TOO_LARGE' });
    expect(error.message).toContain(String(MAX_FRAME_BYTES));
    await everyoneStillWorks();
  });

  test('a frame over the hard cap closes only that connection', async () => {
    const victim = await server.login('victim');
    victim.send('x'.repeat(2 * 1024 * 1024));
    expect((await victim.closed()).code).toBe(1009);
    await everyoneStillWorks();
  });
});

describe('requests that fail validation get a reply with the error', () => {
  test('an unknown type with an id → UNKNOWN_TYPE', async () => {
    const reply = await mallory.request('teleport' as 'ping', {});
    expect(!reply.ok && reply.error.code).toBe(ServerErrorCode.UNKNOWN_TYPE);
    await everyoneStillWorks();
  });

  test.each([
    ['a missing field', '/callType', { userIDList: ['bob'] }],
    ['an extra field', '/color', { userIDList: ['bob'], callType: 1, color: 'red' }],
    ['a wrong-typed field', '/callType', { userIDList: ['bob'], callType: 'video' }],
    ['a list that is a string', '/userIDList', { userIDList: 'bob', callType: 1 }],
    ['an empty list', '/userIDList', { userIDList: [], callType: 1 }],
    ['a timeout out of range', '/timeout', { userIDList: ['bob'], callType: 1, timeout: -5 }],
  ])('invite with %s → INVALID_FIELD naming %s', async (_what, path, fields) => {
    const error = await mallory.fail('invite', fields as never);
    expect(error.code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(error.message).toContain(path);
    await everyoneStillWorks();
  });

  test('signal with a malformed SDP payload → INVALID_FIELD naming the nested path', async () => {
    const error = await alice.fail('signal', {
      callID,
      to: 'bob',
      data: { description: { type: 'bogus', sdp: 'x' } },
    } as never);
    expect(error.code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(error.message).toContain('/data/description/type');
    await everyoneStillWorks();
  });

  test.each([
    ['invite', '/userIDList/1', { userIDList: ['bob', 'not valid!'], callType: 1 }],
    ['signal', '/to', { callID: 'c', to: 'b o b', data: {} }],
    ['invite', '/userIDList/0', { userIDList: ['x'.repeat(33)], callType: 1 }],
  ])('%s with an invalid user ID at %s → INVALID_USER_ID', async (type, path, fields) => {
    const error = await mallory.fail(type as 'invite', fields as never);
    expect(error.code).toBe(ServerErrorCode.INVALID_USER_ID);
    expect(error.message).toContain(path);
    await everyoneStillWorks();
  });
});

describe('signal as a notification (no id)', () => {
  test('is relayed and gets no reply', async () => {
    const replies = alice.replies;
    const errors = alice.errors.length;
    alice.send({ type: 'signal', callID, to: 'bob', data: { candidate: { candidate: 'n-1' } } });
    expect((await bob.waitForPush('signal')).data.candidate?.candidate).toBe('n-1');
    await alice.sync();
    expect(alice.replies).toBe(replies + 1); // the sync's own
    expect(alice.errors.length).toBe(errors);
  });

  test('refused, it comes back as an `error` frame naming signal', async () => {
    alice.send({ type: 'signal', callID, to: 'mallory', data: { candidate: { candidate: 'x' } } });
    const frame = await alice.waitForError();
    expect(frame.request).toBe('signal');
    expect(frame.error.code).toBe(ServerErrorCode.NOT_CALL_MEMBER);
    await everyoneStillWorks();
  });

  test('other requests still need an id', async () => {
    mallory.send({ type: 'hangup', callID });
    const frame = await mallory.waitForError();
    expect(frame.error.code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(frame.error.message).toContain('/id');
  });
});

describe('rate limit', () => {
  test('requests beyond the session’s burst get RATE_LIMITED; others are unaffected', async () => {
    const limited = await startTestServer({ rateLimit: { burst: 5, perSecond: 0.5 } });
    try {
      const a = await limited.login('a');
      const b = await limited.login('b');
      // The session starts with a full bucket of 5; the refill (one per 2 s) is too slow to matter.
      const replies = await Promise.all(Array.from({ length: 10 }, () => a.request('ping', {})));
      const codes = replies.map((r) => (r.ok ? 'ok' : r.error.code));
      expect(codes).toEqual([
        ...Array(5).fill('ok'),
        ...Array(5).fill(ServerErrorCode.RATE_LIMITED),
      ]);
      // A frame without an id is answered with an `error` message instead.
      a.send('not json');
      expect((await a.waitForError()).error.code).toBe(ServerErrorCode.RATE_LIMITED);
      // The other session has its own bucket.
      expect((await b.call('ping', {})).time).toBeGreaterThan(0);
      expect(a.ws.readyState).toBe(a.ws.OPEN);
    } finally {
      await limited.close();
    }
  });
});
