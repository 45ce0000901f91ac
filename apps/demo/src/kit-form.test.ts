import { describe, expect, test } from 'vitest';
import { parseTimeout, parseUserID, parseUserIDList } from './kit-form.js';

describe('parseUserID', () => {
  test('accepts a trimmed ID and refuses anything the server would', () => {
    expect(parseUserID('  bob ')).toEqual({ ok: true, value: 'bob' });
    expect(parseUserID('')).toMatchObject({ ok: false });
    expect(parseUserID('not valid!')).toMatchObject({ ok: false });
    expect(parseUserID('x'.repeat(33))).toMatchObject({ ok: false });
  });
});

describe('parseUserIDList', () => {
  test('splits on commas, trims, and skips empty items', () => {
    expect(parseUserIDList(' bob, carol ,,dave ')).toEqual({
      ok: true,
      value: ['bob', 'carol', 'dave'],
    });
  });

  test('refuses an empty list, a bad ID, repeats, yourself, and more than 15', () => {
    expect(parseUserIDList(' , ')).toMatchObject({ ok: false, message: /at least one/ });
    expect(parseUserIDList('bob, b@d')).toMatchObject({ ok: false, message: /"b@d"/ });
    expect(parseUserIDList('bob,bob')).toMatchObject({ ok: false, message: /only once/ });
    expect(parseUserIDList('bob,alice', 'alice')).toMatchObject({ ok: false, message: /yourself/ });
    const sixteen = Array.from({ length: 16 }, (_, i) => `u${i}`).join(',');
    expect(parseUserIDList(sixteen)).toMatchObject({ ok: false, message: /at most 15/ });
    const fifteen = Array.from({ length: 15 }, (_, i) => `u${i}`).join(',');
    expect(parseUserIDList(fifteen)).toMatchObject({ ok: true });
  });
});

describe('parseTimeout', () => {
  test('empty is the server default; whole seconds 1..600 pass', () => {
    expect(parseTimeout(' ')).toEqual({ ok: true, value: undefined });
    expect(parseTimeout('5')).toEqual({ ok: true, value: 5 });
    expect(parseTimeout('600')).toEqual({ ok: true, value: 600 });
  });

  test('refuses zero, fractions, negatives, words and too long', () => {
    for (const raw of ['0', '1.5', '-3', 'ten', '601']) {
      expect(parseTimeout(raw), raw).toMatchObject({ ok: false });
    }
  });
});
