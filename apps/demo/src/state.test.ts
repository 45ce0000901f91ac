import { describe, expect, it } from 'vitest';
import {
  STATUS_TRANSITIONS,
  Store,
  TransitionError,
  initialState,
  reduce,
  type Action,
  type CallStatus,
  type DemoState,
} from './state.js';

/** Applies actions in order, as the SDK's events and the user's clicks would arrive. */
function run(...actions: Action[]): DemoState {
  return actions.reduce(reduce, initialState);
}

const signedIn: Action[] = [{ type: 'signingIn', userID: 'alice' }, { type: 'ready' }];

describe('session', () => {
  it('is ready after signing in and SDK_READY', () => {
    const state = run(...signedIn);
    expect(state.session).toBe('ready');
    expect(state.userID).toBe('alice');
    expect(state.status).toBe('idle');
  });

  it('ignores a late SDK_READY once signed out', () => {
    const state = run({ type: 'signedOut' }, { type: 'ready' });
    expect(state.session).toBe('signed-out');
  });

  it('signing out in the middle of a call clears the call and keeps the notice', () => {
    const state = run(
      ...signedIn,
      { type: 'dial', peer: 'bob', callType: 2 },
      { type: 'userEnter', userID: 'bob' },
      { type: 'signedOut', notice: 'kicked' },
    );
    expect(state).toMatchObject({
      session: 'signed-out',
      userID: null,
      status: 'idle',
      peer: null,
      remote: null,
      notice: 'kicked',
    });
  });
});

describe('caller side', () => {
  it('dials, then is in a call when the callee enters', () => {
    const dialing = run(...signedIn, { type: 'dial', peer: 'bob', callType: 2 });
    expect(dialing).toMatchObject({ status: 'dialing', peer: 'bob', callType: 2 });

    const inCall = reduce(dialing, { type: 'userEnter', userID: 'bob' });
    expect(inCall.status).toBe('in call');
    expect(inCall.remote).toEqual({ userID: 'bob', audio: true, video: true, joined: true });
  });

  it.each([
    ['onReject', 'bob rejected the call'],
    ['onNoResp', 'bob did not answer'],
    ['onLineBusy', 'bob is busy'],
  ])('goes back to idle on %s with a notice', (_event, notice) => {
    const state = run(
      ...signedIn,
      { type: 'dial', peer: 'bob', callType: 1 },
      { type: 'ended', notice },
    );
    expect(state).toMatchObject({ status: 'idle', peer: null, callType: null, notice });
  });

  it('a peer in an audio call is assumed to send no video until told', () => {
    const state = run(
      ...signedIn,
      { type: 'dial', peer: 'bob', callType: 1 },
      { type: 'userEnter', userID: 'bob' },
    );
    expect(state.remote).toMatchObject({ audio: true, video: false });
  });
});

describe('callee side', () => {
  const invited: Action = {
    type: 'invited',
    incoming: { sponsor: 'alice', callType: 2, inviteID: 'inv-1' },
  };

  it('rings with the caller and call type, then accepting puts it in a call', () => {
    const ringing = run(...signedIn, invited);
    expect(ringing).toMatchObject({ status: 'ringing', peer: 'alice', callType: 2 });
    expect(ringing.incoming).toEqual({ sponsor: 'alice', callType: 2, inviteID: 'inv-1' });

    const accepted = reduce(ringing, { type: 'accepted' });
    expect(accepted).toMatchObject({ status: 'in call', incoming: null });
  });

  it('USER_ENTER of the caller before accept() resolves also means in call', () => {
    const state = run(
      ...signedIn,
      invited,
      { type: 'userEnter', userID: 'alice' },
      { type: 'accepted' },
    );
    expect(state.status).toBe('in call');
    expect(state.remote?.userID).toBe('alice');
  });

  it('the caller cancelling stops the ringing', () => {
    const state = run(...signedIn, invited, { type: 'ended', notice: 'alice cancelled the call' });
    expect(state).toMatchObject({
      status: 'idle',
      incoming: null,
      notice: 'alice cancelled the call',
    });
  });
});

describe('in a call', () => {
  const inCall = run(
    ...signedIn,
    { type: 'dial', peer: 'bob', callType: 2 },
    { type: 'userEnter', userID: 'bob' },
  );

  it('tracks the peer muting and turning the camera off', () => {
    const state = [
      { type: 'remoteAudio', userID: 'bob', available: false },
      { type: 'remoteVideo', userID: 'bob', available: false },
    ].reduce((s, a) => reduce(s, a as Action), inCall);
    expect(state.remote).toEqual({ userID: 'bob', audio: false, video: false, joined: true });

    const back = reduce(state, { type: 'remoteAudio', userID: 'bob', available: true });
    expect(back.remote?.audio).toBe(true);
  });

  it('availability before USER_ENTER is kept when the peer enters', () => {
    const state = run(
      ...signedIn,
      { type: 'dial', peer: 'bob', callType: 2 },
      { type: 'remoteAudio', userID: 'bob', available: false },
      { type: 'userEnter', userID: 'bob' },
    );
    expect(state.remote).toEqual({ userID: 'bob', audio: false, video: true, joined: true });
  });

  it('ignores availability events once idle', () => {
    const idle = run(...signedIn);
    expect(reduce(idle, { type: 'remoteAudio', userID: 'bob', available: false })).toBe(idle);
  });

  it('switching to audio turns the camera off, back to video turns it on', () => {
    const audio = reduce(inCall, { type: 'callType', callType: 1 });
    expect(audio).toMatchObject({ callType: 1, cameraOff: true });
    const video = reduce(audio, { type: 'callType', callType: 2 });
    expect(video).toMatchObject({ callType: 2, cameraOff: false });
  });

  it('USER_LEAVE marks the peer gone; CALL_END then ends the call and resets local media', () => {
    const muted = reduce(inCall, { type: 'micMuted', muted: true });
    const left = reduce(muted, { type: 'userLeave', userID: 'bob' });
    expect(left.remote?.joined).toBe(false);
    expect(left.status).toBe('in call');

    const ended = reduce(left, { type: 'ended', notice: 'The call ended' });
    expect(ended).toMatchObject({
      status: 'idle',
      remote: null,
      micMuted: false,
      cameraOff: false,
    });
  });

  it('keeps the chosen video quality across calls', () => {
    const state = run(
      ...signedIn,
      { type: 'quality', quality: '1080p' },
      { type: 'dial', peer: 'bob', callType: 2 },
      { type: 'ended', notice: 'x' },
    );
    expect(state.quality).toBe('1080p');
  });
});

describe('status transitions', () => {
  const statuses = Object.keys(STATUS_TRANSITIONS) as CallStatus[];

  it('every status can get back to idle except idle itself, which stays', () => {
    for (const status of statuses) {
      if (status !== 'idle') expect(STATUS_TRANSITIONS[status]).toContain('idle');
    }
  });

  it('refuses to accept while idle', () => {
    expect(() => reduce(run(...signedIn), { type: 'accepted' })).toThrow(TransitionError);
  });

  it('refuses a second invitation while in a call', () => {
    const inCall = run(
      ...signedIn,
      { type: 'dial', peer: 'bob', callType: 2 },
      { type: 'userEnter', userID: 'bob' },
    );
    const invite: Action = {
      type: 'invited',
      incoming: { sponsor: 'carol', callType: 1, inviteID: 'inv-2' },
    };
    expect(() => reduce(inCall, invite)).toThrow(/from in call to ringing/);
  });

  it('refuses to dial while ringing', () => {
    const ringing = run(...signedIn, {
      type: 'invited',
      incoming: { sponsor: 'carol', callType: 1, inviteID: 'inv-2' },
    });
    expect(() => reduce(ringing, { type: 'dial', peer: 'bob', callType: 2 })).toThrow(
      TransitionError,
    );
  });
});

describe('Store', () => {
  it('reports each status move as prev -> next and notifies subscribers once per change', () => {
    const reports: string[] = [];
    const store = new Store((message) => reports.push(message));
    const seen: string[] = [];
    const unsubscribe = store.subscribe((state, prev) =>
      seen.push(`${prev.status}>${state.status}`),
    );

    store.dispatch({ type: 'signingIn', userID: 'alice' });
    store.dispatch({ type: 'ready' });
    store.dispatch({ type: 'ready' }); // no change: nobody is told
    store.dispatch({ type: 'dial', peer: 'bob', callType: 2 });
    store.dispatch({ type: 'ended', notice: 'bob rejected the call' });
    unsubscribe();

    expect(reports).toEqual(['status idle -> dialing', 'status dialing -> idle']);
    expect(seen).toEqual(['idle>idle', 'idle>idle', 'idle>dialing', 'dialing>idle']);
  });

  it('reports a refused action as a warning and keeps the state', () => {
    const reports: Array<[string, string]> = [];
    const store = new Store((message, kind) => reports.push([kind, message]));
    const before = store.state;
    store.dispatch({ type: 'accepted' });
    expect(store.state).toBe(before);
    expect(reports).toEqual([
      ['warning', 'ignored: "accepted" cannot move the call from idle to in call'],
    ]);
  });

  it('a throwing subscriber is reported and does not stop the others', () => {
    const reports: string[] = [];
    const store = new Store((message) => reports.push(message));
    let calls = 0;
    store.subscribe(() => {
      throw new Error('boom');
    });
    store.subscribe(() => calls++);
    store.dispatch({ type: 'signingIn', userID: 'alice' });
    expect(calls).toBe(1);
    expect(reports).toEqual(['render failed: Error: boom']);
  });
});
