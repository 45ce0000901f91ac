/**
 * What `TUICallKitServer.getTUICallEngineInstance()` returns: an object with the TUICallEngine
 * methods apps call on it, run by the kit (so the kit's UI stays in step) or by its TRTCCalling.
 * Event names are TUICallEngine's (`onUserJoin`, `onCallEnd`…); payloads are the SDK's. Not
 * provided: Tencent IM's `tim` (null) and TRTC's cloud object beyond `muteAllRemoteAudio`.
 */
import TRTCCalling from '@ringline/calling';
import { CallKitError } from './errors.js';

const EVENT = TRTCCalling.EVENT as Record<string, string>;

/** TUICallEngine's event names → the key of the SDK's event with the same meaning. */
export const ENGINE_EVENTS: Readonly<Record<string, string>> = {
  onError: 'ERROR',
  sdkReady: 'SDK_READY',
  onKickedOffLine: 'KICKED_OUT',
  onInvited: 'INVITED',
  onCallReceived: 'INVITED',
  onUserAccept: 'USER_ACCEPT',
  onUserJoin: 'USER_ENTER',
  onUserLeave: 'USER_LEAVE',
  onUserReject: 'REJECT',
  onUserNoResponse: 'NO_RESP',
  onUserLineBusy: 'LINE_BUSY',
  onCallingCancel: 'CALLING_CANCEL',
  onCallCancelled: 'CALLING_CANCEL',
  onCallEnd: 'CALL_END',
  onUserVideoAvailable: 'USER_VIDEO_AVAILABLE',
  onUserAudioAvailable: 'USER_AUDIO_AVAILABLE',
  onUserVoiceVolumeChanged: 'USER_VOICE_VOLUME',
  onGroupCallInviteeListUpdate: 'GROUP_CALL_INVITEE_LIST_UPDATE',
  onCallMediaTypeChanged: 'CALL_TYPE_CHANGED',
  onUserNetworkQualityChanged: 'NETWORK_QUALITY',
};

/** The kit operations the engine object runs (a subset of CallKitServer). */
export interface EngineHost {
  calling(): TRTCCalling | undefined;
  accept(): Promise<void>;
  reject(): Promise<void>;
  hangup(): Promise<void>;
  calls(params: { userIDList: string[]; type: number; chatGroupID?: string }): Promise<void>;
  join(params: { callId?: string; groupID?: string; type?: number }): Promise<void>;
  inviteUser(params: { userIDList: string[] }): Promise<void>;
  openCamera(videoViewDomID?: string): Promise<void>;
  closeCamera(): Promise<void>;
  openMicrophone(): Promise<void>;
  closeMicrophone(): Promise<void>;
  muteSpeaker(): void;
  unMuteSpeaker(): void;
  setSelfInfo(params: { nickName?: string; avatar?: string }): Promise<void>;
  setVideoResolution(resolution: '480p' | '720p' | '1080p'): Promise<void>;
  getDeviceList(deviceType: string): Promise<unknown[]>;
  switchDevice(params: { deviceType: string; deviceId: string }): Promise<void>;
  setLogLevel(level: number): void;
  destroyed(): Promise<void>;
}

/** The TUICallEngine look-alike for `host`. */
export function createEngine(host: EngineHost) {
  const sdkEvent = (name: string): string | undefined => {
    const key = ENGINE_EVENTS[name];
    return key ? EVENT[key] : undefined;
  };
  const need = (method: string): TRTCCalling => {
    const calling = host.calling();
    if (!calling) throw CallKitError.notInitialized(method);
    return calling;
  };
  return {
    /** Tencent IM's instance: Ringline has none. */
    tim: null,
    getTim: (): null => null,
    /** Listens to a TUICallEngine event (name as TUICallEvent has it); unknown names are refused. */
    on(name: string, callback: (...args: unknown[]) => void, context?: unknown): void {
      const event = sdkEvent(name);
      if (!event) throw CallKitError.invalidArgument('event', 'a TUICallEvent name Ringline emits');
      need('on').on(event as never, callback as never, context);
    },
    off(name: string, callback: (...args: unknown[]) => void, context?: unknown): void {
      const event = sdkEvent(name);
      if (event) host.calling()?.off(event as never, callback as never, context);
    },
    accept: () => host.accept(),
    reject: () => host.reject(),
    hangup: () => host.hangup(),
    calls: (params: { userIDList: string[]; type: number; chatGroupID?: string }) =>
      host.calls(params),
    join: (params: { callId?: string; groupID?: string; type?: number }) => host.join(params),
    inviteUser: (params: { userIDList: string[] }) => host.inviteUser(params),
    openCamera: (videoViewDomID?: string) => host.openCamera(videoViewDomID),
    closeCamera: () => host.closeCamera(),
    openMicrophone: () => host.openMicrophone(),
    closeMicrophone: () => host.closeMicrophone(),
    setSelfInfo: (params: { nickName?: string; avatar?: string }) => host.setSelfInfo(params),
    setVideoQuality: (profile: '480p' | '720p' | '1080p') => host.setVideoResolution(profile),
    getDeviceList: (deviceType: string) => host.getDeviceList(deviceType),
    switchDevice: async (params: { deviceType: string; deviceId: string }) => {
      await host.switchDevice(params);
      return true;
    },
    setLogLevel: (level: number) => host.setLogLevel(level),
    startRemoteView: (params: { userID: string; videoViewDomID: string }) =>
      need('startRemoteView').startRemoteView(params),
    stopRemoteView: (params: { userID: string }) => need('stopRemoteView').stopRemoteView(params),
    /** TRTC's cloud object, as far as TUICallKit uses it (speaker mute). */
    getTRTCCloudInstance: () => ({
      muteAllRemoteAudio: (mute: boolean) => (mute ? host.muteSpeaker() : host.unMuteSpeaker()),
    }),
    destroyInstance: () => host.destroyed(),
  };
}

/** The object `getTUICallEngineInstance()` returns. */
export type CallEngineInstance = ReturnType<typeof createEngine>;
