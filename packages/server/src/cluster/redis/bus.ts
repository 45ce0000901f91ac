/**
 * The message bus over Redis pub/sub: one channel per node. Redis delivers a channel's messages in
 * the order they were published, and a node's sends share one connection, so messages from one
 * node reach another in order. Pub/sub keeps nothing: a message published while the receiving
 * node's subscription is down is lost (what a session misses is replayed on resume instead).
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { ClusterUnavailableError } from '../errors.js';
import type { BusMessage, MessageBus, Unsubscribe } from '../types.js';
import { guard } from './connection.js';

/** What a received message must look like; anything else is logged and dropped. */
const BusMessageCheck = TypeCompiler.Compile(
  Type.Union([
    Type.Object({
      kind: Type.Literal('push'),
      userID: Type.String(),
      sessionID: Type.String(),
      push: Type.Object({ type: Type.String() }),
    }),
    Type.Object({
      kind: Type.Literal('kick'),
      userID: Type.String(),
      sessionID: Type.String(),
      reason: Type.String(),
    }),
    // The SFU coordinator checks the operation itself (media/sfu-coordinator.ts).
    Type.Object({
      kind: Type.Literal('sfuRequest'),
      requestID: Type.String(),
      from: Type.String(),
      callID: Type.String(),
      op: Type.Object({ op: Type.String() }),
    }),
    Type.Object({
      kind: Type.Literal('sfuReply'),
      requestID: Type.String(),
      error: Type.Optional(Type.Object({ name: Type.String(), message: Type.String() })),
    }),
    Type.Object({
      kind: Type.Literal('pushed'),
      userID: Type.String(),
      sessionID: Type.String(),
      seq: Type.Integer({ minimum: 1 }),
      json: Type.String(),
    }),
    Type.Object({
      kind: Type.Union([Type.Literal('moved'), Type.Literal('expire')]),
      userID: Type.String(),
      sessionID: Type.String(),
    }),
  ]),
);

type Handler = (message: BusMessage) => void | Promise<void>;

export class RedisMessageBus implements MessageBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #handlers = new Map<string, Handler>();
  /** The latest SUBSCRIBE of each channel, settled or not. */
  readonly #subscribing = new Map<string, Promise<unknown>>();
  /** Messages dropped as malformed (tests and metrics). */
  dropped = 0;

  constructor(pub: Redis, sub: Redis, options: { prefix: string; logger: Logger }) {
    this.#pub = pub;
    this.#sub = sub;
    this.#prefix = options.prefix;
    this.#log = options.logger;
    sub.on('message', (channel: string, text: string) => this.#onMessage(channel, text));
    // Every new connection subscribes afresh to the channels still wanted.
    sub.on('ready', () => {
      for (const channel of this.#handlers.keys()) this.#subscribe(channel);
    });
  }

  async send(nodeID: string, message: BusMessage): Promise<boolean> {
    const text = JSON.stringify(message);
    // PUBLISH answers how many subscribers got it: none when the node's connection is gone.
    const receivers = await guard('bus send', () => this.#pub.publish(this.#channel(nodeID), text));
    return receivers > 0;
  }

  subscribe(nodeID: string, handler: Handler): Unsubscribe {
    const channel = this.#channel(nodeID);
    this.#handlers.set(channel, handler);
    this.#subscribe(channel);
    return () => {
      if (this.#handlers.get(channel) !== handler) return;
      this.#handlers.delete(channel);
      this.#subscribing.delete(channel);
      if (this.#sub.status === 'ready') {
        this.#sub.unsubscribe(channel).catch((err: unknown) => {
          this.#log.debug('bus unsubscribe failed', { channel, err });
        });
      }
    };
  }

  async whenSubscribed(): Promise<void> {
    const results = await Promise.allSettled(this.#subscribing.values());
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      throw new ClusterUnavailableError('bus subscription failed', {
        cause: (failed as PromiseRejectedResult).reason,
      });
    }
  }

  #subscribe(channel: string): void {
    if (this.#sub.status !== 'ready') {
      // Refused at once without a connection; the next 'ready' subscribes again.
      const down = Promise.reject(new Error('redis is not connected'));
      down.catch(() => {});
      this.#subscribing.set(channel, down);
      return;
    }
    const p = this.#sub.subscribe(channel);
    p.catch((err: unknown) => this.#log.warn('bus subscribe failed', { channel, err }));
    this.#subscribing.set(channel, p);
  }

  #onMessage(channel: string, text: string): void {
    const handler = this.#handlers.get(channel);
    if (!handler) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    if (!BusMessageCheck.Check(message)) {
      this.dropped++;
      this.#log.warn('bus message dropped: malformed', {
        channel,
        sample: text.slice(0, 200),
      });
      return;
    }
    try {
      const done = handler(message as BusMessage);
      if (done) done.catch((err: unknown) => this.#log.error('bus handler failed', { err }));
    } catch (err) {
      this.#log.error('bus handler failed', { err });
    }
  }

  #channel(nodeID: string): string {
    return `${this.#prefix}:bus:${nodeID}`;
  }
}
