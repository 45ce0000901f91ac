/**
 * Webhook signatures: `Ringline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `<t>.<body>` with the endpoint's secret (the scheme Stripe's webhooks use). `verifyWebhook` is
 * what an app's receiver calls; it is exported from the package. No dependencies beyond node:crypto.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers every delivery carries. */
export const WebhookHeader = {
  SIGNATURE: 'Ringline-Signature',
  EVENT_ID: 'Ringline-Event-Id',
  EVENT_TYPE: 'Ringline-Event-Type',
} as const;

/** How old a signature `verifyWebhook` accepts by default, seconds (and how far in the future). */
export const DEFAULT_TOLERANCE_S = 300;

/** The hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `Ringline-Signature` header's value for `body` sent at `timestamp` (Unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

/** Why `verifyWebhook` refused a delivery. */
export type WebhookRejection =
  'missing_signature' | 'malformed_signature' | 'expired' | 'bad_signature' | 'malformed_body';

export type WebhookVerification =
  | { ok: true; event: { id: string; type: string; time: number } & Record<string, unknown> }
  | { ok: false; reason: WebhookRejection };

export interface VerifyWebhookOptions {
  /** The endpoint's secret (what the server has in --webhook-secret). */
  secret: string;
  /** The `Ringline-Signature` header as received. */
  signature: string | string[] | undefined;
  /** The raw request body, exactly as received (not re-serialized JSON). */
  body: string | Buffer;
  /** Seconds a signature stays acceptable, either way from now (replays). Default 300. */
  toleranceS?: number;
  /** Unix ms; default Date.now(). */
  now?: number;
}

/**
 * Checks a delivery's signature and age, then parses it. A valid one resolves `{ok: true, event}`;
 * de-duplicate by `event.id` (a retry repeats it). Never throws for bad input.
 */
export function verifyWebhook(options: VerifyWebhookOptions): WebhookVerification {
  const { secret, toleranceS = DEFAULT_TOLERANCE_S } = options;
  const header = Array.isArray(options.signature) ? options.signature[0] : options.signature;
  if (!header) return { ok: false, reason: 'missing_signature' };
  if (header.length > 1024) return { ok: false, reason: 'malformed_signature' };
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v !== undefined && /^\d{1,12}$/.test(v)) t = Number(v);
    // Several v1 values let a sender sign with an old and a new secret while rotating.
    else if (k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v)) candidates.push(v);
  }
  if (t === undefined || candidates.length === 0)
    return { ok: false, reason: 'malformed_signature' };
  const now = (options.now ?? Date.now()) / 1000;
  if (Math.abs(now - t) > toleranceS) return { ok: false, reason: 'expired' };
  const body = typeof options.body === 'string' ? options.body : options.body.toString('utf8');
  const expected = Buffer.from(webhookSignature(secret, t, body), 'hex');
  const match = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  if (!match) return { ok: false, reason: 'bad_signature' };
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed_body' };
  }
  const e = event as Record<string, unknown> | null;
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.type !== 'string') {
    return { ok: false, reason: 'malformed_body' };
  }
  return { ok: true, event: e as { id: string; type: string; time: number } };
}
