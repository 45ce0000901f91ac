import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import { describe, expect, it } from 'vitest';
import { CallError } from './errors.js';

describe('CallError', () => {
  it('factories carry the seed codes', () => {
    expect(CallError.switchToAudioFailed('x').code).toBe(60001);
    expect(CallError.switchToVideoFailed('x').code).toBe(60002);
    expect(CallError.noMicrophone('x').code).toBe(60003);
    expect(CallError.noCamera('x').code).toBe(60004);
    expect(CallError.permissionDenied('x').code).toBe(60005);
    expect(CallError.webrtcUnsupported('RTCPeerConnection').code).toBe(60006);
  });

  it('factories for connection failures and misuse use the registries', () => {
    expect(CallError.timeout('invite request', 10).code).toBe(SdkErrorCode.SIGNAL_TIMEOUT);
    expect(CallError.disconnected('gone').code).toBe(SdkErrorCode.SIGNAL_DISCONNECTED);
    expect(CallError.notLoggedIn('call').code).toBe(ServerErrorCode.NOT_LOGGED_IN);
    expect(CallError.invalidUserID('a b').code).toBe(ServerErrorCode.INVALID_USER_ID);
    expect(CallError.invalidArgument('type', '1 or 2').code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(CallError.invalidState('accept', 'idle').code).toBe(ServerErrorCode.INVALID_CALL_STATE);
    expect(CallError.notSupported('group calls are not supported yet').code).toBe(50100);
  });

  it('is an Error with a readable message, a registry name and an ERROR-event payload', () => {
    const error = CallError.noCamera('NotFoundError: Requested device not found');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CallError');
    expect(error.codeName).toBe('NO_CAMERA');
    expect(error.message).toBe('no available camera: NotFoundError: Requested device not found');
    expect(JSON.parse(JSON.stringify(error))).toEqual({ code: 60004, message: error.message });
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(CallError.switchToVideoFailed('no camera', cause).cause).toBe(cause);
  });

  it('carries a server error through unchanged', () => {
    const error = CallError.fromWire({
      code: ServerErrorCode.INVITATION_NOT_FOUND,
      name: 'INVITATION_NOT_FOUND',
      message: 'no invitation abc is ringing',
    });
    expect(error.code).toBe(40400);
    expect(error.codeName).toBe('INVITATION_NOT_FOUND');
    expect(error.message).toBe('no invitation abc is ringing');
  });

  it('from() keeps CallErrors and wraps anything else with the fallback code', () => {
    const original = CallError.noCamera('x');
    expect(CallError.from(original)).toBe(original);
    const wrapped = CallError.from(new TypeError('bad'), ServerErrorCode.INVALID_FIELD);
    expect(wrapped.code).toBe(ServerErrorCode.INVALID_FIELD);
    expect(wrapped.message).toBe('bad');
    expect(CallError.from('text').code).toBe(ServerErrorCode.INTERNAL);
  });

  describe('fromMediaError maps getUserMedia failures', () => {
    const domError = (name: string) => Object.assign(new Error(`${name} happened`), { name });

    it('NotFoundError → 60003 for audio, 60004 for video', () => {
      expect(CallError.fromMediaError(domError('NotFoundError'), 'audio').code).toBe(60003);
      expect(CallError.fromMediaError(domError('NotFoundError'), 'video').code).toBe(60004);
    });

    it('a busy or unsuitable device counts as not available', () => {
      expect(CallError.fromMediaError(domError('NotReadableError'), 'video').code).toBe(60004);
      expect(CallError.fromMediaError(domError('OverconstrainedError'), 'audio').code).toBe(60003);
    });

    it('NotAllowedError and SecurityError → 60005 whatever the device', () => {
      expect(CallError.fromMediaError(domError('NotAllowedError'), 'audio').code).toBe(60005);
      expect(CallError.fromMediaError(domError('SecurityError'), 'video').code).toBe(60005);
    });

    it('names the browser error in the message', () => {
      expect(CallError.fromMediaError(domError('NotFoundError'), 'video').message).toContain(
        'NotFoundError: NotFoundError happened',
      );
    });
  });
});
