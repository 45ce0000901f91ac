import { describe, expect, it } from 'vitest';
import { CallKitStore } from './CallKitStore.js';
import { idleState } from './initialState.js';
import { STATUS } from './types.js';

describe('CallKitStore', () => {
  it('makes a new frozen snapshot on every change and tells subscribers (new, previous)', () => {
    const store = new CallKitStore(idleState());
    const first = store.state;
    const seen: [string, string][] = [];
    const off = store.subscribe((state, prev) => seen.push([prev.status, state.status]));
    store.update({ status: STATUS.BE_INVITED });
    expect(store.state).not.toBe(first);
    expect(first.status).toBe(STATUS.IDLE);
    expect(Object.isFrozen(store.state)).toBe(true);
    off();
    store.update({ status: STATUS.IDLE });
    expect(seen).toEqual([[STATUS.IDLE, STATUS.BE_INVITED]]);
  });

  it('a subscriber that throws is reported and does not stop the others', () => {
    const errors: unknown[] = [];
    const store = new CallKitStore(idleState(), (error) => errors.push(error));
    let reached = false;
    store.subscribe(() => {
      throw new Error('view bug');
    });
    store.subscribe(() => {
      reached = true;
    });
    store.update({ minimized: true });
    expect(reached).toBe(true);
    expect(errors).toEqual([new Error('view bug')]);
  });
});
