import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../util/logger.js';
import { CallState, callTransitions } from './CallState.js';
import { StateMachine } from './StateMachine.js';

const { Idle, Dialing, BeInvited, Connected } = CallState;

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = (...args: unknown[]) => lines.push(args.join(' '));
  return {
    lines,
    logger: createLogger('debug', { debug: sink, info: sink, warn: sink, error: sink }, '[t]'),
  };
}

function machine(initial: CallState = Idle) {
  const { logger, lines } = captureLogger();
  const changes: [CallState, CallState][] = [];
  const m = new StateMachine('call', callTransitions, initial, logger, (next, prev) =>
    changes.push([prev, next]),
  );
  return { m, lines, changes };
}

describe('call state transitions', () => {
  const allowed: [CallState, CallState][] = [
    [Idle, Dialing],
    [Idle, BeInvited],
    [Dialing, Connected],
    [Dialing, Idle],
    [BeInvited, Connected],
    [BeInvited, Idle],
    [Connected, Idle],
  ];
  const forbidden: [CallState, CallState][] = [
    [Idle, Connected],
    [Dialing, BeInvited],
    [BeInvited, Dialing],
    [Connected, Dialing],
    [Connected, BeInvited],
  ];

  it.each(allowed)('%s -> %s is allowed', (from, to) => {
    const { m, changes, lines } = machine(from);
    expect(m.set(to)).toBe(true);
    expect(m.state).toBe(to);
    expect(changes).toEqual([[from, to]]);
    expect(lines).toContain(`[t] call state ${from} -> ${to}`);
  });

  it.each(forbidden)('%s -> %s is refused with INVALID_CALL_STATE', (from, to) => {
    const { m, changes } = machine(from);
    expect(() => m.set(to)).toThrow(expect.objectContaining({ code: 40902 }));
    expect(m.state).toBe(from);
    expect(changes).toEqual([]);
  });

  it('setting the current state again changes nothing and emits nothing', () => {
    const { m, changes } = machine(Dialing);
    expect(m.set(Dialing)).toBe(false);
    expect(changes).toEqual([]);
  });

  it('a whole call walks idle → dialing → connected → idle', () => {
    const { m, changes } = machine();
    m.set(Dialing);
    m.set(Connected);
    m.set(Idle);
    expect(changes).toEqual([
      [Idle, Dialing],
      [Dialing, Connected],
      [Connected, Idle],
    ]);
  });
});
