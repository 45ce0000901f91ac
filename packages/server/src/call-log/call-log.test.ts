/**
 * A real server logging through pino: one line per login, per call created, per invitation's
 * outcome and per call end, each with the call's ID — and never a userSig or the secret key.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { pinoLogger } from '../log.js';
import { startTestServer, type TestServer } from '../testing/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the call log', () => {
  it('tells a call’s story by its ID, with no secret in any line', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const secretKey = 'call-log-secret-key-0123456789';
    server = await startTestServer({
      sdkAppID: 1400000999,
      secretKey,
      logger: pinoLogger({ out, pretty: false }),
    });
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.VIDEO,
    });
    await bob.call('accept', { inviteID });
    await alice.call('hangup', { callID });
    await bob.waitForPush('callEnded');

    const entries = chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; callID?: string; userID?: string });
    expect(entries.filter((e) => e.msg === 'login').map((e) => e.userID)).toEqual(['alice', 'bob']);
    expect(entries.filter((e) => e.callID === callID).map((e) => e.msg)).toEqual([
      'call: created',
      'invitation: answered',
      'call: ended',
    ]);
    const text = chunks.join('');
    expect(text).not.toContain(secretKey);
    // A userSig is zlib-deflated JSON in base64url: it starts "eJ".
    expect(text).not.toMatch(/eJ[\w*-]{40,}/);
  });
});
