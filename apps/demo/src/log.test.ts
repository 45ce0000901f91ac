import { describe, expect, it } from 'vitest';
import { formatPayload, formatTime } from './log.js';

describe('formatTime', () => {
  it('pads hours, minutes, seconds and milliseconds', () => {
    expect(formatTime(new Date(2024, 0, 2, 3, 4, 5, 6))).toBe('03:04:05.006');
    expect(formatTime(new Date(2024, 0, 2, 23, 59, 59, 999))).toBe('23:59:59.999');
  });
});

describe('formatPayload', () => {
  it('writes an event payload as one line of JSON', () => {
    expect(formatPayload({ userID: 'alice', isAudioAvailable: false })).toBe(
      '{"userID":"alice","isAudioAvailable":false}',
    );
  });

  it('is empty for no payload', () => {
    expect(formatPayload(undefined)).toBe('');
  });

  it('keeps the code, name and message of an error', () => {
    const error = Object.assign(new Error('No available camera'), { code: 60004 });
    error.name = 'CallError';
    expect(JSON.parse(formatPayload(error))).toEqual({
      name: 'CallError',
      code: 60004,
      message: 'No available camera',
    });
    expect(JSON.parse(formatPayload({ error: new TypeError('bad') }))).toEqual({
      error: { name: 'TypeError', message: 'bad' },
    });
  });

  it('names cycles instead of throwing', () => {
    const payload: Record<string, unknown> = { a: 1 };
    payload.self = payload;
    expect(formatPayload(payload)).toBe('{"a":1,"self":"[circular]"}');
  });

  it('writes an object shared by two fields twice: only real cycles are cut', () => {
    const shared = { x: 1 };
    expect(formatPayload({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('uses toJSON where a value has one', () => {
    expect(formatPayload({ at: new Date(Date.UTC(2024, 0, 2)) })).toBe(
      '{"at":"2024-01-02T00:00:00.000Z"}',
    );
  });

  it('survives values JSON cannot write', () => {
    expect(formatPayload({ n: 10n, f: function named() {} })).toBe(
      '{"n":"10","f":"[function named]"}',
    );
    expect(formatPayload('plain')).toBe('"plain"');
    expect(formatPayload(Symbol('s'))).toBe('"Symbol(s)"');
  });
});
