import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { CallType, MAX_FRAME_BYTES, SIGNAL_PATH, ServerErrorCode } from '@ringline/protocol';
import type { TestClient } from '../testing/client.js';
import { startTestServer, type TestServer } from '../testing/server.js';
import { CloseCode } from './gateway.js';

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

describe('hostile values never reach the process', () => {
  /** `depth` arrays, one inside the next, around `inner` (as JSON text). */
  const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

  test('an object with a non-function toString as a user ID, before login → INVALID_USER_ID', async () => {
    const anon = await server.connect();
    // The 67-byte frame from issue 10: building the error message called String() on the object.
    const frame = '{"id":1,"type":"invite","userIDList":[{"toString":1}],"callType":1}';
    expect(await answerTo(anon, frame)).toMatchObject({
      id: 1,
      error: { code: ServerErrorCode.INVALID_USER_ID },
    });
    const error = await mallory.fail('invite', {
      userIDList: [{ toString: 1 }],
      callType: 1,
    } as never);
    expect(error.code).toBe(ServerErrorCode.INVALID_USER_ID);
    expect(error.message).toContain('/userIDList/0');
    expect(error.message).toContain('an object');
    await everyoneStillWorks();
  });

  test.each([
    ['invite', (v: string) => `{"id":2,"type":"invite","userIDList":[${v}],"callType":1}`],
    ['signal', (v: string) => `{"id":2,"type":"signal","callID":"c","to":${v},"data":{}}`],
    [
      'sfuLayer',
      (v: string) => `{"id":2,"type":"sfuLayer","callID":"c","userID":${v},"substream":0}`,
    ],
  ])(
    '%s with a user ID nested 20,000 arrays deep → MALFORMED_MESSAGE before parsing, as its reply',
    async (_type, frame) => {
      const text = frame(nested(20_000));
      expect(text.length).toBeLessThan(MAX_FRAME_BYTES);
      for (const client of [mallory, await server.connect()]) {
        const answer = await answerTo(client, text);
        expect(answer).toMatchObject({ type: 'reply', id: 2, ok: false });
        const error = answer!.error as { code: number; message: string };
        expect(error.code).toBe(ServerErrorCode.MALFORMED_MESSAGE);
        expect(error.message).toMatch(/deeper than \d+/);
      }
      await everyoneStillWorks();
    },
  );

  test('deep nesting inside strings does not count', async () => {
    const candidate = nested(400, '"x"').replace(/"/g, '');
    await alice.call('signal', { callID, to: 'bob', data: { candidate: { candidate } } });
    expect((await bob.waitForPush('signal')).data.candidate?.candidate).toBe(candidate);
  });

  test('nesting within the limit is validated as usual', async () => {
    const error = await mallory.fail('invite', {
      userIDList: [JSON.parse(nested(20)) as string],
      callType: 1,
    });
    expect(error.code).toBe(ServerErrorCode.INVALID_USER_ID);
    expect(error.message).toContain('an array of 1');
  });

  test('a huge unknown key is named shortened', async () => {
    const error = await mallory.fail('invite', {
      userIDList: ['bob'],
      callType: 1,
      ['k'.repeat(50_000)]: 1,
    } as never);
    expect(error.code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(error.message.length).toBeLessThan(400);
  });

  test('prototype keys are plain fields', async () => {
    const frame = '{"id":3,"type":"ping","__proto__":{"ack":1},"constructor":1}';
    expect(await answerTo(mallory, frame)).toMatchObject({
      id: 3,
      error: { code: ServerErrorCode.INVALID_FIELD },
    });
    await everyoneStillWorks();
  });
});

describe('an upgrade to another path, then a TCP reset', () => {
  test('gets 404 and the reset does not reach the process', async () => {
    const { port } = new URL(server.url);
    for (let i = 0; i < 20; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.write(
        'GET /not-ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      const head = await new Promise<string>((resolve) =>
        socket.once('data', (d: Buffer) => resolve(d.toString())),
      );
      expect(head).toMatch(/^HTTP\/1.1 404/);
      socket.resetAndDestroy();
      await once(socket, 'close');
    }
    await everyoneStillWorks();
  });
});

describe('rate limit', () => {
  test('the first request over the burst gets RATE_LIMITED, the rest no reply, others are unaffected', async () => {
    const limited = await startTestServer({ rateLimit: { burst: 5, perSecond: 5 } });
    try {
      const a = await limited.login('a');
      const b = await limited.login('b');
      // The session starts with a full bucket of 5; refill (one per 200 ms) is far slower than this.
      const ids: number[] = [];
      const answers = new Map<number, string | number>();
      a.ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as {
          type: string;
          id?: number;
          ok?: boolean;
          error?: { code: number };
        };
        if (m.type === 'reply' && m.id! >= 1000) answers.set(m.id!, m.ok ? 'ok' : m.error!.code);
      });
      for (let i = 0; i < 10; i++) {
        ids.push(1000 + i);
        a.send({ id: 1000 + i, type: 'ping' });
      }
      // Binary and oversized frames take tokens too, and are dropped unanswered the same way.
      a.ws.send(Buffer.from('{}'), { binary: true });
      a.send('x'.repeat(MAX_FRAME_BYTES + 1));
      // Once a token is back, a request goes through; replies come in order, so by then every
      // reply the flood got has arrived.
      let probe = 5000;
      await until(
        async () => (await answerTo(a, `{"id":${++probe},"type":"ping"}`, 300))?.ok === true,
        'a ping to pass',
      );
      expect(ids.map((id) => answers.get(id) ?? 'none')).toEqual([
        ...Array(5).fill('ok'),
        ServerErrorCode.RATE_LIMITED,
        ...Array(4).fill('none'),
      ]);
      expect(limited.edgeStats().droppedFrames).toBeGreaterThanOrEqual(6);
      // The other session has its own bucket.
      expect((await b.call('ping', {})).time).toBeGreaterThan(0);
      expect(a.ws.readyState).toBe(a.ws.OPEN);
    } finally {
      await limited.close();
    }
  });

  test('a connection that keeps sending over the limit is closed (4006)', async () => {
    const limited = await startTestServer({
      rateLimit: { burst: 5, perSecond: 0.01 },
      limits: { rateLimitCloseAfter: 50 },
    });
    try {
      const a = await limited.login('a');
      const b = await limited.login('b');
      for (let i = 0; i < 100; i++) a.send({ id: i + 10, type: 'ping' });
      expect((await a.closed()).code).toBe(CloseCode.RATE_LIMITED);
      expect((await b.call('ping', {})).time).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  test('before login, one bucket per source address is shared by all its connections', async () => {
    const limited = await startTestServer({
      limits: { preLoginRateLimit: { burst: 6, perSecond: 0.001 } },
    });
    try {
      const bystander = await limited.login('bystander'); // its login takes one token
      const anons = await Promise.all([limited.connect(), limited.connect(), limited.connect()]);
      const codes: number[][] = anons.map(() => []);
      anons.forEach((anon, i) =>
        anon.ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as { error?: { code: number } };
          if (m.error) codes[i]!.push(m.error.code);
        }),
      );
      for (const anon of anons) for (let i = 0; i < 4; i++) anon.send({ id: i + 1, type: 'ping' });
      // 5 tokens for 12 frames: 5 are answered NOT_LOGGED_IN, the first frame over the limit on
      // each connection that has one RATE_LIMITED, the rest nothing.
      const all = () => codes.flat();
      await until(
        () => all().filter((c) => c === ServerErrorCode.RATE_LIMITED).length >= 2,
        'RATE_LIMITED replies',
      );
      await until(() => all().length >= 7, 'the first replies');
      expect(all().filter((c) => c === ServerErrorCode.NOT_LOGGED_IN)).toHaveLength(5);
      for (const list of codes) {
        expect(list.filter((c) => c === ServerErrorCode.RATE_LIMITED).length).toBeLessThanOrEqual(
          1,
        );
      }
      // Another address has its own bucket, and a logged-in session has its own too.
      const other = new WebSocket(limited.url.replace('http', 'ws') + SIGNAL_PATH, {
        localAddress: '127.0.0.2',
      });
      await once(other, 'open');
      other.send(JSON.stringify({ id: 1, type: 'ping' }));
      const [reply] = (await once(other, 'message')) as [Buffer];
      expect(JSON.parse(reply.toString())).toMatchObject({
        error: { code: ServerErrorCode.NOT_LOGGED_IN },
      });
      other.close();
      await bystander.sync();
    } finally {
      await limited.close();
    }
  });
});

/** Sends a raw frame and resolves with the next reply or `error` message. */
async function answerTo(
  client: TestClient,
  frame: string,
  timeoutMs?: number,
): Promise<Record<string, unknown> | undefined> {
  const answer = new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
    // With a timeout, no answer is an answer (undefined); without, it is a failure.
    const timer = setTimeout(
      () => (timeoutMs ? resolve(undefined) : reject(new Error('no answer within 5 s'))),
      timeoutMs ?? 5000,
    );
    const onMessage = (data: Buffer) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.type !== 'reply' && m.type !== 'error') return;
      clearTimeout(timer);
      client.ws.off('message', onMessage);
      resolve(m);
    };
    client.ws.on('message', onMessage);
  });
  client.send(frame);
  return answer;
}

/** Polls `predicate` every 20 ms until it holds; fails after `timeoutMs`. */
async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
