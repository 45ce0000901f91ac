import {
  CallMediaType,
  CallRole,
  CallStatus,
  STATUS,
  type CallKitState,
  type Participant,
} from './types.js';
import type { CallKitComponentOptions } from './CallKitServer.js';
import { emptyRecents } from './recents.js';

/** The component options' defaults, as TUICallKit documents them. */
export const OPTION_DEFAULTS: Required<CallKitComponentOptions> = {
  allowedMinimized: false,
  allowedFullScreen: true,
  videoDisplayMode: 'cover',
  videoResolution: '480p',
};

/** A participant with everything off and unknown. */
export function participant(userID: string, fields: Partial<Participant> = {}): Participant {
  return {
    userID,
    audio: true,
    video: false,
    volume: 0,
    ringing: false,
    networkQuality: 0,
    ...fields,
  };
}

/** The state of a kit that is not in a call, keeping the user's options. */
export function idleState(base?: CallKitState): CallKitState {
  return {
    status: STATUS.IDLE,
    role: CallRole.UNKNOWN,
    callStatus: CallStatus.IDLE,
    mediaType: CallMediaType.VIDEO,
    isGroup: false,
    self: participant(base?.self.userID ?? '', {
      nickName: base?.self.nickName,
      avatar: base?.self.avatar,
    }),
    remotes: [],
    // Explicitly cleared: the store merges a change over the previous state.
    peerUserID: undefined,
    connectedAt: undefined,
    minimized: false,
    fullScreen: false,
    speakerMuted: false,
    layout: base?.layout ?? 'remote',
    language: base?.language ?? 'en',
    toasts: base?.toasts ?? [],
    recents: base?.recents ?? emptyRecents(),
    options: base?.options ?? {
      floatWindow: true,
      muteMode: false,
      hiddenButtons: [],
      remoteBackgrounds: {},
      cameraDefaultOn: true,
      ...OPTION_DEFAULTS,
    },
  };
}
