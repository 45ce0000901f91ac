/**
 * The event log panel: every SDK event, error and demo action as a timestamped line with its
 * payload as JSON. Formatting is pure (tested in Node); `EventLog` only appends DOM nodes.
 */

export type LogKind = 'event' | 'error' | 'action' | 'info' | 'warning';

export interface LogEntry {
  readonly time: Date;
  readonly kind: LogKind;
  /** The SDK event name (`onInvited`), or the demo action (`call()`). */
  readonly name: string;
  readonly payload?: unknown;
}

/** `HH:MM:SS.mmm` in local time: enough to order events within a call. */
export function formatTime(time: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`;
}

/**
 * A payload as one line of JSON. Errors keep their name, code and message (JSON.stringify would
 * drop them), cycles and DOM nodes are named instead of throwing, and `undefined` is empty.
 */
export function formatPayload(payload: unknown): string {
  if (payload === undefined) return '';
  try {
    return JSON.stringify(toPlain(payload, [])) ?? String(payload);
  } catch (error) {
    return `[unserialisable: ${String(error)}]`;
  }
}

/** A JSON-safe copy; `ancestors` holds the objects above this one, so only real cycles are cut. */
function toPlain(value: unknown, ancestors: object[]): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (typeof Node !== 'undefined' && value instanceof Node) return `[${value.nodeName}]`;
  if (ancestors.includes(value)) return '[circular]';
  const inner = [...ancestors, value];
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      ...(code === undefined ? {} : { code: toPlain(code, inner) }),
      message: value.message,
    };
  }
  if (Array.isArray(value)) return value.map((item) => toPlain(item, inner));
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return toPlain((value as { toJSON(): unknown }).toJSON(), inner);
  }
  const plain: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) plain[key] = toPlain(item, inner);
  }
  return plain;
}

/** The log panel. Keeps the newest `limit` entries and follows the bottom unless scrolled up. */
export class EventLog {
  readonly #entries: LogEntry[] = [];

  constructor(
    private readonly list: HTMLOListElement,
    private readonly limit = 500,
  ) {}

  get entries(): readonly LogEntry[] {
    return this.#entries;
  }

  add(kind: LogKind, name: string, payload?: unknown): void {
    const entry: LogEntry = { time: new Date(), kind, name, payload };
    this.#entries.push(entry);
    const follow =
      this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 24 ||
      this.list.childElementCount === 0;
    this.list.append(renderEntry(entry));
    while (this.#entries.length > this.limit) {
      this.#entries.shift();
      this.list.firstElementChild?.remove();
    }
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }

  clear(): void {
    this.#entries.length = 0;
    this.list.replaceChildren();
  }
}

function renderEntry(entry: LogEntry): HTMLLIElement {
  const item = document.createElement('li');
  item.className = `log-entry log-entry--${entry.kind}`;
  item.dataset.kind = entry.kind;
  item.dataset.name = entry.name;

  const time = document.createElement('time');
  time.dateTime = entry.time.toISOString();
  time.textContent = formatTime(entry.time);

  const name = document.createElement('span');
  name.className = 'log-name';
  name.textContent = entry.name;

  item.append(time, name);
  const payload = formatPayload(entry.payload);
  if (payload) {
    const code = document.createElement('code');
    code.className = 'log-payload';
    code.textContent = payload;
    item.append(code);
  }
  return item;
}
