/**
 * What a node reports to Prometheus at `/metrics` (prom-client, a registry per server so that
 * several servers in one process do not mix): its sessions and requests, the calls' domain events
 * it committed, its SFU pool, the webhook outbox, and Node's own process metrics (CPU, memory,
 * event-loop lag). Counters count what this node did: a cluster's figure is the sum over its nodes.
 *
 * Layers: metrics/ → calls/events (types), signal/ (stats types). Nothing depends on it but
 * server.ts, which hands it its sources once they exist.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CallEventType, type CallEvent, type CallObserver } from '../calls/events.js';
import type { EdgeStats } from '../signal/gateway.js';

/** Where the gauges read from, at scrape time. */
export interface MetricsSources {
  /** Sessions on this node. */
  sessions(): number;
  /** Connections open, and what the edge refused, dropped or closed (monotonic counts). */
  edge(): Readonly<EdgeStats> & { connections: number };
  /** The Janus servers this node drives: whether each answers and its rooms. */
  janus?(): ReadonlyArray<{ url: string; connected: boolean; rooms: number }>;
  /** Webhook deliveries waiting in the outbox (all endpoints, all nodes: the store's count). */
  webhookBacklog?(): Promise<number>;
  /** Webhook deliveries this node made, retried and gave up (monotonic counts). */
  webhooks?(): Readonly<{ delivered: number; retried: number; failed: number; dropped: number }>;
}

/**
 * Node's own metrics (CPU, memory, GC, event-loop lag) are the process's, whatever the servers in
 * it: collected once per process (each collection starts its own event-loop monitor and GC
 * observer, for good), and merged into each server's output.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** How an invitee's invitation ended, as `ringline_invitees_total{outcome}` says it. */
function outcomeOf(e: CallEvent): string | undefined {
  switch (e.type) {
    case CallEventType.ANSWERED:
      return 'answered';
    case CallEventType.REJECTED:
      return e.reason;
    case CallEventType.MISSED:
      if (e.reason === 'cancelled') return 'cancelled';
      return e.offline ? 'offline' : 'no_answer';
    default:
      return undefined;
  }
}

/** The edge's counts, by the `reason` label they get. */
const EDGE_REASONS = {
  droppedFrames: 'rate_limited_frame',
  refusedUpgrades: 'connection_cap',
  slowConsumers: 'slow_consumer',
  loginTimeouts: 'login_timeout',
  internalErrors: 'internal_error',
} as const satisfies Record<keyof EdgeStats, string>;

export class Metrics {
  readonly registry = new Registry();
  #sources: MetricsSources | undefined;
  readonly #requests: Counter<'type' | 'result'>;
  readonly #invitees: Counter<'outcome'>;
  readonly #callsStarted: Counter<'media'>;
  readonly #callsEnded: Counter<'media' | 'reason'>;
  readonly #active: Gauge;
  readonly #members: Histogram;
  readonly #answerTime: Histogram;
  readonly #duration: Histogram;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'ringline_requests_total',
      help: 'Signalling requests handled, by type and result (ok, or the error name it was refused with)',
      labelNames: ['type', 'result'],
      registers,
    });
    this.#invitees = new Counter({
      name: 'ringline_invitees_total',
      help: 'Invitations ended per invitee, by outcome (answered, declined, busy, no_answer, offline, cancelled)',
      labelNames: ['outcome'],
      registers,
    });
    this.#callsStarted = new Counter({
      name: 'ringline_calls_started_total',
      help: 'Calls created (their first invitation), by media mode at the start',
      labelNames: ['media'],
      registers,
    });
    this.#callsEnded = new Counter({
      name: 'ringline_calls_ended_total',
      help: 'Calls ended, by media mode at the end and reason',
      labelNames: ['media', 'reason'],
      registers,
    });
    this.#active = new Gauge({
      name: 'ringline_calls_active',
      help: 'Calls started minus calls ended on this node (sum over the nodes for the cluster)',
      registers,
    });
    this.#members = new Histogram({
      name: 'ringline_call_members',
      help: 'Users who were in a call, at its end',
      buckets: [2, 3, 4, 6, 9, 16, 25, 50],
      registers,
    });
    this.#answerTime = new Histogram({
      name: 'ringline_call_answer_seconds',
      help: 'From a call’s first invitation to its connecting (the first answer), for calls that connected',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60],
      registers,
    });
    this.#duration = new Histogram({
      name: 'ringline_call_duration_seconds',
      help: 'From connecting to the end, for calls that connected',
      buckets: [10, 30, 60, 300, 900, 1800, 3600, 7200],
      registers,
    });
    this.#gauges(registers);
  }

  /** The sources the gauges read; until given, they report nothing. */
  attach(sources: MetricsSources): void {
    this.#sources = sources;
  }

  /** Counts one handled signalling request (the gateway's hook). */
  readonly request = (type: string, result: string): void => {
    this.#requests.inc({ type, result });
  };

  /** The call observer: counts what each commit did. */
  readonly observer: CallObserver = (events) => {
    for (const e of events) {
      const outcome = outcomeOf(e);
      if (outcome) this.#invitees.inc({ outcome });
      if (e.type === CallEventType.INVITED && e.created) {
        this.#callsStarted.inc({ media: e.media });
        this.#active.inc();
      } else if (e.type === CallEventType.ENDED) {
        this.#callsEnded.inc({ media: e.media, reason: e.reason });
        this.#active.dec();
        this.#members.observe(e.joined.length);
        if (e.connectedAt !== undefined) {
          this.#answerTime.observe(Math.max(0, e.connectedAt - e.startedAt) / 1000);
          this.#duration.observe(Math.max(0, e.time - e.connectedAt) / 1000);
        }
      }
    }
  };

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([processMetrics(), this.registry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  #gauges(registers: Registry[]): void {
    // Gauges and counters read at scrape time: `this` inside collect() is the metric.
    const sources = (): MetricsSources | undefined => this.#sources;
    new Gauge({
      name: 'ringline_sessions',
      help: 'Logged-in sessions on this node',
      registers,
      collect() {
        const s = sources();
        if (s) this.set(s.sessions());
      },
    });
    new Gauge({
      name: 'ringline_connections',
      help: 'WebSocket connections open on this node (handshakes included)',
      registers,
      collect() {
        const s = sources();
        if (s) this.set(s.edge().connections);
      },
    });
    monotonicCounter(
      registers,
      'ringline_edge_refusals_total',
      'reason',
      'What the signalling edge refused, dropped or closed, by reason',
      () => {
        const edge = sources()?.edge();
        if (!edge) return undefined;
        return Object.fromEntries(
          Object.entries(EDGE_REASONS).map(([key, reason]) => [
            reason,
            edge[key as keyof EdgeStats],
          ]),
        );
      },
    );
    new Gauge({
      name: 'ringline_janus_up',
      help: 'Whether this node’s connection to each Janus is up (1) or not (0)',
      labelNames: ['janus'],
      registers,
      collect() {
        this.reset();
        for (const j of sources()?.janus?.() ?? []) this.set({ janus: j.url }, j.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ringline_sfu_rooms',
      help: 'SFU rooms this node placed on each Janus',
      labelNames: ['janus'],
      registers,
      collect() {
        this.reset();
        for (const j of sources()?.janus?.() ?? []) this.set({ janus: j.url }, j.rooms);
      },
    });
    new Gauge({
      name: 'ringline_webhook_backlog',
      help: 'Webhook deliveries waiting in the outbox (every endpoint and node)',
      registers,
      async collect() {
        const backlog = sources()?.webhookBacklog;
        if (backlog) this.set(await backlog());
      },
    });
    monotonicCounter(
      registers,
      'ringline_webhook_deliveries_total',
      'result',
      'Webhook deliveries this node made, by result (delivered, retried, failed: given up; dropped: never stored)',
      () => sources()?.webhooks?.(),
    );
  }
}

/**
 * A counter over counts kept elsewhere (monotonic, by label value): each scrape adds what grew
 * since the previous one.
 */
function monotonicCounter(
  registers: Registry[],
  name: string,
  label: string,
  help: string,
  read: () => Readonly<Record<string, number>> | undefined,
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      for (const [value, now] of Object.entries(read() ?? {})) {
        this.inc({ [label]: value }, now - (seen.get(value) ?? 0));
        seen.set(value, now);
      }
    },
  });
}
