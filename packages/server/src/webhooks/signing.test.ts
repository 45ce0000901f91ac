/** Signing and verifying deliveries: what an app's receiver accepts and refuses. */
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyWebhook, webhookSignature } from './signing.js';

const secret = 'whsec_0123456789abcdef';
const body = '{"id":"e1","type":"call.ended","time":1700000000000,"callID":"c1","seq":5,"data":{}}';
const t = 1_700_000_000;
const now = t * 1000 + 10_000;

describe('verifyWebhook', () => {
  it('accepts a delivery signed with the secret, within the window, and returns its event', () => {
    const v = verifyWebhook({ secret, signature: signatureHeader(secret, t, body), body, now });
    expect(v).toEqual({ ok: true, event: JSON.parse(body) });
  });

  it('accepts a Buffer body and a header given as a list', () => {
    const header = signatureHeader(secret, t, body);
    const v = verifyWebhook({ secret, signature: [header], body: Buffer.from(body), now });
    expect(v.ok).toBe(true);
  });

  it('accepts any of several v1 signatures (a secret being rotated)', () => {
    const header = `t=${t},v1=${webhookSignature('old-secret-0123456', t, body)},v1=${webhookSignature(secret, t, body)}`;
    expect(verifyWebhook({ secret, signature: header, body, now }).ok).toBe(true);
  });

  describe('refuses', () => {
    const header = signatureHeader(secret, t, body);
    const cases: Array<[string, Parameters<typeof verifyWebhook>[0], string]> = [
      ['no header', { secret, signature: undefined, body, now }, 'missing_signature'],
      ['an empty header', { secret, signature: '', body, now }, 'missing_signature'],
      [
        'a header without t',
        { secret, signature: header.replace(/^t=\d+,/, ''), body, now },
        'malformed_signature',
      ],
      [
        'a header that is not hex',
        { secret, signature: `t=${t},v1=zz`, body, now },
        'malformed_signature',
      ],
      ['a huge header', { secret, signature: 'x'.repeat(5000), body, now }, 'malformed_signature'],
      [
        'a changed body',
        { secret, signature: header, body: body.replace('c1', 'c2'), now },
        'bad_signature',
      ],
      [
        'another secret',
        { secret: 'another-secret-123', signature: header, body, now },
        'bad_signature',
      ],
      [
        'a changed timestamp',
        { secret, signature: header.replace(`t=${t}`, `t=${t + 1}`), body, now },
        'bad_signature',
      ],
      [
        'a replay after the window',
        { secret, signature: header, body, now: now + 300_000 },
        'expired',
      ],
      [
        'a timestamp far in the future',
        { secret, signature: header, body, now: t * 1000 - 301_000 },
        'expired',
      ],
    ];
    for (const [what, options, reason] of cases) {
      it(what, () => expect(verifyWebhook(options)).toEqual({ ok: false, reason }));
    }

    it('a signed body that is not an event', () => {
      const bad = '[1,2]';
      const v = verifyWebhook({
        secret,
        signature: signatureHeader(secret, t, bad),
        body: bad,
        now,
      });
      expect(v).toEqual({ ok: false, reason: 'malformed_body' });
    });
  });
});
