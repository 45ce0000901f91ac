import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LAYER_DEBOUNCE_MS, LayerWatcher, layerForHeight } from './LayerWatcher.js';

/**
 * ResizeObserver as the browser drives it: `resize(element, height)` delivers an entry to every
 * observer watching that element (Node has no layout, so the test plays the browser's part).
 */
class Layout {
  readonly observers = new Set<{ callback: ResizeObserverCallback; targets: Set<Element> }>();

  readonly ResizeObserver = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const layout = this;
    return class {
      readonly #entry: { callback: ResizeObserverCallback; targets: Set<Element> };
      constructor(callback: ResizeObserverCallback) {
        this.#entry = { callback, targets: new Set() };
        layout.observers.add(this.#entry);
      }
      observe(target: Element): void {
        this.#entry.targets.add(target);
      }
      unobserve(target: Element): void {
        this.#entry.targets.delete(target);
      }
      disconnect(): void {
        this.#entry.targets.clear();
      }
    } as unknown as typeof ResizeObserver;
  })();

  resize(target: Element, height: number): void {
    for (const { callback, targets } of this.observers) {
      if (!targets.has(target)) continue;
      const entry = { target, contentRect: { height, width: (height * 16) / 9 } };
      callback([entry as unknown as ResizeObserverEntry], {} as ResizeObserver);
    }
  }

  watched(target: Element): boolean {
    return [...this.observers].some(({ targets }) => targets.has(target));
  }
}

const element = (name: string) => ({ name }) as unknown as Element;

describe('layerForHeight', () => {
  it('picks 2 from 540 px, 1 from 270 px, else 0', () => {
    expect([0, 120, 269, 270, 539, 540, 1080].map(layerForHeight)).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });
});

describe('LayerWatcher', () => {
  let layout: Layout;
  let changes: [string, number][];
  let watcher: LayerWatcher;

  beforeEach(() => {
    vi.useFakeTimers();
    layout = new Layout();
    changes = [];
    watcher = new LayerWatcher(layout.ResizeObserver, (userID, layer) =>
      changes.push([userID, layer]),
    );
  });
  afterEach(() => {
    watcher.clear();
    vi.useRealTimers();
  });

  it('reports the layer for the rendered height once the size settles', () => {
    const view = element('bob');
    watcher.watch('bob', view);
    layout.resize(view, 720);
    expect(changes).toEqual([]);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([['bob', 2]]);
  });

  it('a burst of resizes gives one report, for the last size', () => {
    const view = element('bob');
    watcher.watch('bob', view);
    for (const height of [100, 300, 600, 200]) {
      layout.resize(view, height);
      vi.advanceTimersByTime(LAYER_DEBOUNCE_MS / 2);
    }
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([['bob', 0]]);
  });

  it('reports only changes of layer, not of size', () => {
    const view = element('bob');
    watcher.watch('bob', view);
    for (const height of [300, 400, 500, 600, 700]) {
      layout.resize(view, height);
      vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    }
    expect(changes).toEqual([
      ['bob', 1],
      ['bob', 2],
    ]);
  });

  it('a hidden view (0 high) and a stopped view ask for the lowest layer', () => {
    const view = element('bob');
    watcher.watch('bob', view);
    layout.resize(view, 600);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    layout.resize(view, 0);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    layout.resize(view, 600);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    watcher.unwatch('bob');
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([
      ['bob', 2],
      ['bob', 0],
      ['bob', 2],
      ['bob', 0],
    ]);
    expect(layout.watched(view)).toBe(false);
  });

  it('each user is followed on their own; a user who left is forgotten silently', () => {
    const bob = element('bob');
    const carol = element('carol');
    watcher.watch('bob', bob);
    watcher.watch('carol', carol);
    layout.resize(bob, 300);
    layout.resize(carol, 800);
    watcher.forget('carol');
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([['bob', 1]]);
    expect(layout.watched(carol)).toBe(false);
  });

  it('a new view of the same user replaces the old one', () => {
    const small = element('small');
    const large = element('large');
    watcher.watch('bob', small);
    watcher.watch('bob', large);
    expect(layout.watched(small)).toBe(false);
    layout.resize(small, 100);
    layout.resize(large, 700);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([['bob', 2]]);
  });

  it('without ResizeObserver the size at the start decides', () => {
    const plain = new LayerWatcher(undefined, (userID, layer) => changes.push([userID, layer]));
    plain.watch('bob', { clientHeight: 360 } as unknown as Element);
    vi.advanceTimersByTime(LAYER_DEBOUNCE_MS);
    expect(changes).toEqual([['bob', 1]]);
    plain.clear();
  });
});
