import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './Emitter.js';

enum Ev {
  Ping = 'ping',
  Pair = 'pair',
}
interface Callbacks {
  [Ev.Ping]: (n: number) => void;
  [Ev.Pair]: (a: string, b: string) => void;
}

function emitter(reported: { error: unknown; event: string }[] = []) {
  return new TypedEmitter<Callbacks>((error, event) => reported.push({ error, event }));
}

describe('TypedEmitter', () => {
  it('calls listeners in order with the emitted arguments', () => {
    const e = emitter();
    const calls: string[] = [];
    e.on(Ev.Pair, (a, b) => calls.push(`1:${a}${b}`));
    e.on(Ev.Pair, (a, b) => calls.push(`2:${a}${b}`));
    expect(e.emit(Ev.Pair, 'x', 'y')).toBe(true);
    expect(calls).toEqual(['1:xy', '2:xy']);
    expect(e.emit(Ev.Ping, 1)).toBe(false);
  });

  it('invokes a listener with this = the context it was registered with', () => {
    const e = emitter();
    const context = { seen: [] as number[] };
    e.on(
      Ev.Ping,
      function (this: typeof context, n: number) {
        this.seen.push(n);
      },
      context,
    );
    e.emit(Ev.Ping, 7);
    expect(context.seen).toEqual([7]);
  });

  it('off removes only the matching (callback, context) pair', () => {
    const e = emitter();
    const seen: string[] = [];
    const a = { name: 'a' };
    const b = { name: 'b' };
    function listener(this: { name: string }) {
      seen.push(this.name);
    }
    e.on(Ev.Ping, listener, a);
    e.on(Ev.Ping, listener, b);
    e.off(Ev.Ping, listener, a);
    e.emit(Ev.Ping, 1);
    expect(seen).toEqual(['b']);
    expect(e.listenerCount(Ev.Ping)).toBe(1);
  });

  it('off without a context removes the callback under every context; without a callback, all', () => {
    const e = emitter();
    const fn = () => {};
    const other = () => {};
    e.on(Ev.Ping, fn, {}).on(Ev.Ping, fn, {}).on(Ev.Ping, other);
    e.off(Ev.Ping, fn);
    expect(e.listenerCount(Ev.Ping)).toBe(1);
    e.off(Ev.Ping);
    expect(e.listenerCount(Ev.Ping)).toBe(0);
  });

  it('once listeners fire a single time', () => {
    const e = emitter();
    let count = 0;
    e.once(Ev.Ping, () => count++);
    e.emit(Ev.Ping, 1);
    e.emit(Ev.Ping, 2);
    expect(count).toBe(1);
  });

  it('a throwing listener is reported and does not stop the others or the emitter', () => {
    const reported: { error: unknown; event: string }[] = [];
    const e = emitter(reported);
    const seen: number[] = [];
    const boom = new Error('app bug');
    e.on(Ev.Ping, () => {
      throw boom;
    });
    e.on(Ev.Ping, (n) => seen.push(n));
    expect(() => e.emit(Ev.Ping, 3)).not.toThrow();
    expect(seen).toEqual([3]);
    expect(reported).toEqual([{ error: boom, event: 'ping' }]);
  });

  it('a listener removed during an emission still sees that emission, not the next', () => {
    const e = emitter();
    const seen: string[] = [];
    const second = () => seen.push('second');
    e.on(Ev.Ping, () => {
      seen.push('first');
      e.off(Ev.Ping, second);
    });
    e.on(Ev.Ping, second);
    e.emit(Ev.Ping, 1);
    e.emit(Ev.Ping, 2);
    expect(seen).toEqual(['first', 'second', 'first']);
  });

  it('refuses a listener that is not a function', () => {
    const e = emitter();
    expect(() => e.on(Ev.Ping, 'nope' as unknown as () => void)).toThrow(TypeError);
  });
});
