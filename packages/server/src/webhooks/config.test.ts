/** The webhook flags and variables: --webhook, --webhook-secret, RINGLINE_WEBHOOK(_SECRET). */
import { describe, expect, test } from 'vitest';
import { ConfigError, parseServeArgs } from '../config.js';
import { startServer } from '../server.js';

const secret = 'whsec_0123456789abcdef';
const other = 'whsec_fedcba9876543210';

describe('webhook configuration', () => {
  test('is absent unless given', () => {
    expect(parseServeArgs([], {}).webhooks).toBeUndefined();
  });

  test('one secret signs for every --webhook', () => {
    const config = parseServeArgs(
      [
        '--webhook',
        'https://a.example/hooks',
        '--webhook',
        'http://b.example:8080/in?x=1',
        '--webhook-secret',
        secret,
      ],
      {},
    );
    expect(config.webhooks).toEqual([
      { url: 'https://a.example/hooks', secret },
      { url: 'http://b.example:8080/in?x=1', secret },
    ]);
  });

  test('secrets given once per --webhook pair up in order', () => {
    const config = parseServeArgs(
      [
        '--webhook',
        'https://a.example/',
        '--webhook',
        'https://b.example/',
        '--webhook-secret',
        secret,
        '--webhook-secret',
        other,
      ],
      {},
    );
    expect(config.webhooks).toEqual([
      { url: 'https://a.example/', secret },
      { url: 'https://b.example/', secret: other },
    ]);
  });

  test('comes from RINGLINE_WEBHOOK and RINGLINE_WEBHOOK_SECRET (comma-separated); flags win', () => {
    const env = {
      RINGLINE_WEBHOOK: 'https://a.example/, https://b.example/',
      RINGLINE_WEBHOOK_SECRET: `${secret},${other}`,
    };
    expect(parseServeArgs([], env).webhooks).toEqual([
      { url: 'https://a.example/', secret },
      { url: 'https://b.example/', secret: other },
    ]);
    expect(
      parseServeArgs(['--webhook', 'https://c.example/', '--webhook-secret', other], env).webhooks,
    ).toEqual([{ url: 'https://c.example/', secret: other }]);
  });

  test.each([
    [
      ['--webhook', 'ftp://a.example/', '--webhook-secret', secret],
      /--webhook must be an http:\/\/ or https:\/\/ URL/,
    ],
    [['--webhook', 'not a url', '--webhook-secret', secret], /--webhook must be an http/],
    [['--webhook', 'https://a.example/'], /--webhook needs --webhook-secret/],
    [['--webhook-secret', secret], /--webhook-secret was given without --webhook/],
    [
      ['--webhook', 'https://a.example/', '--webhook-secret', 'short'],
      /--webhook-secret #1 must be 16-256 characters/,
    ],
    [
      ['--webhook', 'https://a.example/', '--webhook-secret', 'has space in it 0123'],
      /--webhook-secret #1/,
    ],
    [
      [
        '--webhook',
        'https://a.example/',
        '--webhook',
        'https://b.example/',
        '--webhook',
        'https://c.example/',
        '--webhook-secret',
        secret,
        '--webhook-secret',
        other,
      ],
      /one secret for every endpoint or one per --webhook \(3\), got 2/,
    ],
    [
      [
        '--webhook',
        'https://a.example/',
        '--webhook',
        'https://a.example',
        '--webhook-secret',
        secret,
      ],
      /lists https:\/\/a.example\/ twice/,
    ],
    [
      [
        ...Array.from({ length: 17 }, (_, i) => ['--webhook', `https://h${i}.example/`]).flat(),
        '--webhook-secret',
        secret,
      ],
      /at most 16 endpoints/,
    ],
  ])('refuses %j with a ConfigError naming the flag', (args, message) => {
    expect(() => parseServeArgs(args, {})).toThrow(ConfigError);
    expect(() => parseServeArgs(args, {})).toThrow(message);
  });

  test('a refused secret is never shown, nor a URL password', () => {
    const bad = 'a secret, with a comma';
    const err = (() => {
      try {
        parseServeArgs(['--webhook', 'https://a.example/', '--webhook-secret', bad], {});
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).not.toContain(bad);
    const url = (() => {
      try {
        parseServeArgs(
          ['--webhook', 'gopher://user:hunter2hunter2@a.example/', '--webhook-secret', secret],
          {},
        );
      } catch (e) {
        return e as Error;
      }
    })();
    expect(url?.message).not.toContain('hunter2');
  });

  test('startServer refuses a bad webhook with a ConfigError', async () => {
    await expect(
      startServer({
        port: 0,
        sdkAppID: 1,
        secretKey: 'k',
        webhooks: [{ url: 'file:///etc/passwd', secret }],
      }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      startServer({
        port: 0,
        sdkAppID: 1,
        secretKey: 'k',
        webhooks: [{ url: 'https://a.example/', secret: '' }],
      }),
    ).rejects.toThrow(/--webhook-secret/);
  });
});
