import { describe, expect, it } from 'vitest';
import { uniqueToasts } from './toasts.js';

const text = (t: { id: number; msg: string }) => t.msg;

describe('uniqueToasts', () => {
  it('shows one toast for messages raised twice, standing for both ids', () => {
    const shown = uniqueToasts(
      [
        { id: 1, msg: 'Camera not found' },
        { id: 2, msg: 'Camera not found' },
      ],
      text,
    );
    expect(shown).toEqual([
      { toast: { id: 2, msg: 'Camera not found' }, text: 'Camera not found', ids: [1, 2] },
    ]);
  });

  it('keeps distinct messages, ordered by their latest occurrence', () => {
    const shown = uniqueToasts(
      [
        { id: 1, msg: 'a' },
        { id: 2, msg: 'b' },
        { id: 3, msg: 'a' },
      ],
      text,
    );
    expect(shown.map((s) => [s.text, s.ids])).toEqual([
      ['b', [2]],
      ['a', [1, 3]],
    ]);
  });

  it('shows nothing for no toasts', () => {
    expect(uniqueToasts([], text)).toEqual([]);
  });
});
