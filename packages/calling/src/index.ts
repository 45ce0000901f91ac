/**
 * @ringline/calling — the TRTCCalling API (trtc-calling-js) over a Ringline server.
 *
 *   import TRTCCalling from '@ringline/calling';
 *   const calling = new TRTCCalling({ SDKAppID, server: 'https://calls.example.com' });
 */
import TRTCCalling from './TRTCCalling.js';

export default TRTCCalling;
export type {
  TRTCCallingOptions,
  TRTCCallType,
  TRTCCallStatus,
  TRTCLogLevel,
  SignalingResult,
  SignalingMessage,
  GroupSignalingResult,
  AcceptResult,
  LoginResult,
  HangupResult,
} from './TRTCCalling.js';
export type {
  TRTCCallingEvent,
  TRTCCallingCallbacks,
  InvitedEvent,
  UserEvent,
  NoRespEvent,
  LineBusyEvent,
  InviteeListUpdateEvent,
  InvitationEndedEvent,
  CallEndEvent,
  KickedOutEvent,
  UserVideoAvailableEvent,
  UserAudioAvailableEvent,
  ErrorEvent,
  SdkReadyEvent,
  CallTypeChangedEvent,
  NetworkQualityEvent,
  QualityInfo,
  UserVoiceVolumeEvent,
  VoiceVolume,
} from './events/TRTCCallingEvent.js';
export type { CallError } from './errors.js';
export type {
  HistoryPageOptions,
  MarkSeenOptions,
  MarkSeenResult,
} from './history/HistoryClient.js';
export type {
  CallHistoryCall,
  CallHistoryMember,
  CallHistoryPage,
  MemberOutcome,
  MemberRole,
  MissedCalls,
  UserCallHistoryCall,
} from '@ringline/protocol';
export type { DeviceInfo } from './media/LocalMedia.js';
export type { NetworkQuality } from './media/networkQuality.js';
export type { VideoQuality } from './media/videoQuality.js';
export type { LogLevel } from './util/logger.js';
