import type { Substream } from '../media/MediaSession.js';

/** The simulcast layer that suits a view this many CSS pixels high. */
export function layerForHeight(height: number): Substream {
  if (height >= 540) return 2;
  if (height >= 270) return 1;
  return 0;
}

/** How long a view's size must hold before its layer is asked for, ms (resizes come in bursts). */
export const LAYER_DEBOUNCE_MS = 250;

/**
 * Watches the remote `<video>` elements the SDK made and reports the simulcast layer each user's
 * video should arrive in, from the height it is rendered at: debounced, and only on change. A
 * hidden view (0 high) or a view that was stopped asks for the lowest layer.
 */
export class LayerWatcher {
  readonly #observer: ResizeObserver | undefined;
  readonly #users = new Map<Element, string>();
  readonly #elements = new Map<string, Element>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #reported = new Map<string, Substream>();

  constructor(
    ResizeObserverClass: typeof ResizeObserver | undefined,
    private readonly onChange: (userID: string, substream: Substream) => void,
    private readonly debounceMs = LAYER_DEBOUNCE_MS,
  ) {
    this.#observer = ResizeObserverClass
      ? new ResizeObserverClass((entries) => {
          for (const entry of entries) {
            const userID = this.#users.get(entry.target);
            if (userID !== undefined) this.#schedule(userID, entry.contentRect.height);
          }
        })
      : undefined;
  }

  /** Follows the size of `element`, the view of `userID` (replacing an earlier one). */
  watch(userID: string, element: Element): void {
    this.#drop(userID);
    this.#users.set(element, userID);
    this.#elements.set(userID, element);
    // The observer reports the first size by itself; without one, the size now is all we know.
    if (this.#observer) this.#observer.observe(element);
    else this.#schedule(userID, (element as HTMLElement).clientHeight ?? 0);
  }

  /** `userID`'s view was stopped: nobody watches their video, so the lowest layer will do. */
  unwatch(userID: string): void {
    if (!this.#elements.has(userID)) return;
    this.#drop(userID);
    this.#schedule(userID, 0);
  }

  /** `userID` left: forgets them without asking for anything. */
  forget(userID: string): void {
    this.#drop(userID);
    this.#clearTimer(userID);
    this.#reported.delete(userID);
  }

  /** Stops watching everything (the call ended). */
  clear(): void {
    for (const userID of [...this.#elements.keys(), ...this.#timers.keys()]) this.forget(userID);
    this.#reported.clear();
  }

  #drop(userID: string): void {
    const element = this.#elements.get(userID);
    if (!element) return;
    this.#elements.delete(userID);
    this.#users.delete(element);
    this.#observer?.unobserve(element);
  }

  #schedule(userID: string, height: number): void {
    const layer = layerForHeight(height);
    this.#clearTimer(userID);
    this.#timers.set(
      userID,
      setTimeout(() => {
        this.#timers.delete(userID);
        if (this.#reported.get(userID) === layer) return;
        this.#reported.set(userID, layer);
        this.onChange(userID, layer);
      }, this.debounceMs),
    );
  }

  #clearTimer(userID: string): void {
    const timer = this.#timers.get(userID);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(userID);
  }
}
