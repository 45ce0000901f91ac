/** The pino logger behind the Logger seam: JSON lines, levels, readable lines, no secrets. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pinoLogger } from './log.js';

function capture() {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { out, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('pinoLogger', () => {
  it('writes one JSON object per entry: time, level name, msg and the fields', () => {
    const { out, lines } = capture();
    const log = pinoLogger({ out, pretty: false });
    log.info('login', { userID: 'alice', sessionID: 's1' });
    log.debug('not at info');
    log.error('failed', { err: new Error('boom') });
    const [first, second] = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 'info', msg: 'login', userID: 'alice', sessionID: 's1' });
    expect(Date.parse(first!.time as string)).toBeGreaterThan(0);
    expect(second).toMatchObject({ level: 'error', msg: 'failed', err: { message: 'boom' } });
    expect(lines()).toHaveLength(2);
  });

  it('writes debug lines at level debug, and only errors at level error', () => {
    const debug = capture();
    pinoLogger({ out: debug.out, pretty: false, level: 'debug' }).debug('detail');
    expect(debug.lines()).toHaveLength(1);
    const error = capture();
    const log = pinoLogger({ out: error.out, pretty: false, level: 'error' });
    log.warn('warned');
    log.error('failed');
    expect(error.lines().map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['failed']);
  });

  it('redacts userSigs, keys, secrets and passwords, at the top and one level down', () => {
    const { out, lines } = capture();
    pinoLogger({ out, pretty: false }).info('request', {
      userSig: 'eJyrVgrxSQ',
      secretKey: 'k-123',
      webhook: { url: 'https://app.example/hook', secret: 's-456' },
      turn: { credential: 'c-789', username: '1700000000:alice' },
      password: 'p-000',
    });
    const [line] = lines();
    for (const secret of ['eJyrVgrxSQ', 'k-123', 's-456', 'c-789', 'p-000']) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line!)).toMatchObject({
      userSig: '[redacted]',
      webhook: { url: 'https://app.example/hook', secret: '[redacted]' },
      turn: { username: '1700000000:alice' },
    });
  });

  it('writes readable lines when asked (as on a terminal), not JSON', () => {
    const { out, lines } = capture();
    pinoLogger({ out, pretty: true }).info('call: ended', { callID: 'c1', secretKey: 'k-1' });
    const [line] = lines();
    expect(line).toContain('call: ended');
    expect(line).toContain('INFO');
    expect(() => JSON.parse(line!)).toThrow();
    expect(lines().join('\n')).toContain('c1');
    expect(lines().join('\n')).not.toContain('k-1');
  });
});
