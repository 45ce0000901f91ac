/**
 * What the views need from the core: its store (to render) and its component-facing actions. The
 * element depends on this subset only, so it cannot reach into call logic.
 */
import type { CallKitServer } from '../core/CallKitServer.js';

export type {
  CallKitCallbacks,
  CallKitComponentOptions,
  ViewAttacher,
} from '../core/CallKitServer.js';

/** The core's component-facing surface (a subset of `CallKitServer`). */
export type ViewServer = Pick<
  CallKitServer,
  | 'store'
  | 'accept'
  | 'reject'
  | 'hangup'
  | 'toggleMic'
  | 'toggleCamera'
  | 'switchCamera'
  | 'switchMediaType'
  | 'setMinimized'
  | 'setFullScreen'
  | 'swapLayout'
  | 'dismissToast'
  | 'inviteUser'
  | 'attachViews'
  | 'setCallbacks'
  | 'setComponentOptions'
>;
