/**
 * Test support: a TRTCCalling instance in Node ("a phone") on the real server, with the fake media
 * backend, a faulty-network WebSocket and a recorder of every TRTCCalling event.
 */
import TRTCCalling from '../TRTCCalling.js';
import type { WebSocketConstructor } from '../signal/SignalClient.js';
import { createLogger } from '../util/logger.js';
import { FakeMediaBackend } from './fakeMedia.test-support.js';
import { Network, useTestUsers, type TestServer } from './server.test-support.js';

export interface Recorded {
  name: string;
  payload: Record<string, unknown>;
  /** The value of `this` the listener was called with. */
  self: unknown;
}

/** Records every TRTCCalling event in order; `next` takes them one by one, waiting if needed. */
export class EventLog {
  readonly all: Recorded[] = [];
  #taken = new Set<Recorded>();
  #wake = new Set<() => void>();

  constructor(calling: TRTCCalling) {
    const context = { recorder: this };
    // CALLING_END is CALL_END's alias (one value): each event is recorded once.
    for (const name of new Set(Object.values(TRTCCalling.EVENT))) {
      calling.on(
        name,
        function (this: unknown, payload: unknown) {
          context.recorder.#record(name, payload as Record<string, unknown>, this);
        },
        context,
      );
    }
  }

  /** Names of all events so far, in order. */
  get names(): string[] {
    return this.all.map((e) => e.name);
  }

  /** The first `name` event (matching `predicate`) not taken yet; waits up to `ms` for it. */
  next(
    name: string,
    predicate: (payload: Record<string, unknown>) => boolean = () => true,
    ms = 5_000,
  ): Promise<Record<string, unknown>> {
    const find = () =>
      this.all.find((e) => e.name === name && !this.#taken.has(e) && predicate(e.payload));
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = find();
        if (!found) return false;
        this.#taken.add(found);
        clearTimeout(timer);
        this.#wake.delete(wake);
        resolve(found.payload);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.#wake.delete(wake);
        reject(new Error(`no ${name} within ${ms} ms; events so far: ${this.names.join(', ')}`));
      }, ms);
      if (!check()) this.#wake.add(wake);
    });
  }

  /** How many `name` events were recorded. */
  count(name: string): number {
    return this.all.filter((e) => e.name === name).length;
  }

  #record(name: string, payload: Record<string, unknown>, self: unknown): void {
    this.all.push({ name, payload, self });
    for (const wake of [...this.#wake]) wake();
  }
}

export interface Phone {
  userID: string;
  calling: TRTCCalling;
  events: EventLog;
  media: FakeMediaBackend;
  network: Network;
}

/** A TRTCCalling for `userID` on the test server, logged in unless `login: false`. */
export async function phone(
  ts: TestServer,
  userID: string,
  options: {
    login?: boolean;
    media?: FakeMediaBackend;
    server?: string;
    preconnect?: boolean | 'auto';
    iceTransportPolicy?: 'all' | 'relay';
  } = {},
): Promise<Phone> {
  const media = options.media ?? new FakeMediaBackend();
  const network = new Network();
  const calling = new TRTCCalling(
    {
      SDKAppID: ts.server.sdkAppID,
      server: options.server ?? ts.server.url,
      ...(options.preconnect !== undefined ? { preconnect: options.preconnect } : {}),
      ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
    },
    {
      media,
      WebSocket: network.WebSocket as unknown as WebSocketConstructor,
      logger: createLogger(process.env.RINGLINE_TEST_LOG ? 'debug' : 'silent'),
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    },
  );
  const p = { userID, calling, events: new EventLog(calling), media, network };
  if (options.login !== false) {
    await calling.login({ userID, userSig: ts.sig(userID) });
    await p.events.next(TRTCCalling.EVENT.SDK_READY);
  }
  return p;
}

/** Logs every phone out (ignoring failures: a kicked phone is already out). */
export async function hangUpAll(phones: Phone[]): Promise<void> {
  await Promise.all(phones.splice(0).map((p) => p.calling.logout().catch(() => {})));
}

/** A test file's server and phones (see useTestUsers); phones are logged out after each test. */
export function usePhones() {
  const { server, user } = useTestUsers(phone, hangUpAll);
  return {
    server,
    /** A phone whose user ID is `name` made unique to the test file. */
    user: (name: string, options: Parameters<typeof phone>[2] = {}) => user(name, options),
  };
}
