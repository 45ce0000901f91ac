/** @ringline/server — the public surface. Everything else is internal. */
export { startServer, type RinglineServer, type ServerOptions } from './server.js';
export {
  genUserSig,
  verifyUserSig,
  DEFAULT_USERSIG_EXPIRE_S,
  type GenUserSigOptions,
  type VerifyUserSigOptions,
  type UserSigClaims,
} from './auth/usersig.js';
export { ServerError } from './errors.js';
export { ConfigError } from './config.js';
export type { Logger } from './log.js';
export type { RateLimitOptions } from './signal/rate-limit.js';
export { createMemoryCluster, type ClusterAdapters } from './cluster/index.js';
/** In-process nodes that resume each other's sessions (tests of clients against several nodes). */
export { withSharedSessions } from './cluster/memory-sessions.js';
export {
  CallEventType,
  type CallEvent,
  type CallEventBase,
  type CallEventOf,
  type CallEventPayloads,
  type CallObserver,
} from './calls/events.js';
/** Webhooks: the events apps receive, and the check of their signatures (docs/webhooks.md). */
export {
  verifyWebhook,
  signatureHeader,
  webhookSignature,
  WebhookHeader,
  DEFAULT_TOLERANCE_S,
  type VerifyWebhookOptions,
  type WebhookVerification,
  type WebhookRejection,
} from './webhooks/signing.js';
export {
  WebhookEventType,
  type WebhookEvent,
  type WebhookEventData,
  type WebhookCallFields,
} from './webhooks/events.js';
export type { WebhookEndpointConfig } from './config.js';
