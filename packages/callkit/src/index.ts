/**
 * @ringline/callkit — a calling UI kit with the API of TUICallKit (web) over a Ringline server.
 *
 *   import { TUICallKitServer, STATUS } from '@ringline/callkit';
 *   await TUICallKitServer.init({ userID, userSig, SDKAppID });
 *   // <tui-call-kit> renders the calls; TUICallKitServer.call({ userID: 'bob', type: 2 });
 */
// Registers <tui-call-kit> (and <ringline-callkit>) rendering TUICallKitServer, as importing
// TUICallKit does.
import './element/index.js';

export { CallKitServer } from './core/CallKitServer.js';
export { TUICallKitServer } from './core/shared.js';
export { Version, t } from './api.js';
export type {
  CallsParams,
  InitParams,
  JoinParams,
  CallKitCallbacks,
  CallKitComponentOptions,
  CallKitServerDeps,
  CallKitLogger,
  ViewAttacher,
} from './core/CallKitServer.js';
export { CallKitStore, type StoreListener } from './core/CallKitStore.js';
export { CallKitError } from './core/errors.js';
export {
  TUICallKitElement,
  RinglineCallKitElement,
  RinglineRecentCallsElement,
} from './element/index.js';
export {
  STATUS,
  CallMediaType,
  CallRole,
  CallStatus,
  FeatureButton,
  TUICallType,
  VideoResolution,
  VideoDisplayMode,
  LayoutMode,
  AudioPlayBackDevice,
  LOG_LEVEL,
  StoreName,
  type Status,
  type Language,
  type Participant,
  type Toast,
  type CallKitState,
  type CallOutcome,
  type RecentCall,
  type RecentCalls,
} from './core/types.js';
export { callBackOf, toRecentCall, MAX_RECENT_CALLS, type CallBack } from './core/recents.js';
// The `server` properties of the elements take these.
export type { ViewServer } from './element/server.js';
export type { RecentsServer } from './element/RecentCallsElement.js';
