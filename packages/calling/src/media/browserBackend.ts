import { MediaMode } from '@ringline/protocol';
import type { MediaBackend } from './MediaBackend.js';
import { P2PSession } from './P2PSession.js';
import { SfuSession } from './SfuSession.js';

/** The browser's WebRTC: getUserMedia, enumerateDevices and RTCPeerConnection. */
export function createBrowserBackend(): MediaBackend {
  const env = globalThis as {
    RTCPeerConnection?: typeof RTCPeerConnection;
    navigator?: { mediaDevices?: MediaDevices; permissions?: Permissions };
  };
  const devices = (): MediaDevices | undefined => env.navigator?.mediaDevices;
  return {
    unsupported({ capture }) {
      if (typeof env.RTCPeerConnection !== 'function') return 'RTCPeerConnection';
      // mediaDevices is missing on insecure origins (http:// other than localhost).
      if (capture && typeof devices()?.getUserMedia !== 'function') {
        return 'navigator.mediaDevices.getUserMedia (is the page served over https?)';
      }
      return undefined;
    },
    getUserMedia(constraints) {
      const md = devices();
      if (!md) return Promise.reject(new DOMException('no mediaDevices', 'NotSupportedError'));
      return md.getUserMedia(constraints);
    },
    async captureAllowed(kinds) {
      const permissions = env.navigator?.permissions;
      if (!permissions) return false;
      const names = [kinds.audio && 'microphone', kinds.video && 'camera'].filter(Boolean);
      try {
        const states = await Promise.all(
          names.map((name) => permissions.query({ name: name as PermissionName })),
        );
        return states.every((s) => s.state === 'granted');
      } catch {
        return false; // a browser that cannot query camera/microphone permissions
      }
    },
    async enumerateDevices() {
      return (await devices()?.enumerateDevices()) ?? [];
    },
    createSession(options) {
      return options.media === MediaMode.SFU
        ? new SfuSession(options, env.RTCPeerConnection!)
        : new P2PSession(options, env.RTCPeerConnection!);
    },
  };
}
