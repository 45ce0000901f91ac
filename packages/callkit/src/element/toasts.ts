/** Which of the core's toasts the element shows: one per message, however often it was raised. */

/** A toast to show, with the ids of every toast whose message it stands for. */
export interface ShownToast<T> {
  toast: T;
  text: string;
  /** All ids with this text; dismissing the shown toast dismisses them all. */
  ids: number[];
}

/**
 * The toasts to render, one per distinct text, in order of their latest occurrence. The latest
 * stands for the rest, so when an earlier twin times out nothing on screen flickers.
 */
export function uniqueToasts<T extends { id: number }>(
  toasts: readonly T[],
  textOf: (toast: T) => string,
): ShownToast<T>[] {
  const byText = new Map<string, ShownToast<T>>();
  for (const toast of toasts) {
    const text = textOf(toast);
    const seen = byText.get(text);
    // Deleting first moves the text to the end: the order is that of latest occurrence.
    byText.delete(text);
    byText.set(text, { toast, text, ids: [...(seen?.ids ?? []), toast.id] });
  }
  return [...byText.values()];
}
