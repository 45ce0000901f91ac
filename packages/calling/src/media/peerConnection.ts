import type { IceServer, IceTransportPolicy } from '@ringline/protocol';
import type { Logger } from '../util/logger.js';

/** How often a peer's audio arrival is checked, ms, and how many checks without any make a gap. */
export const AUDIO_POLL_MS = 100;
export const AUDIO_GAP_POLLS = 10;

/**
 * When `receiver` last got audio (getSynchronizationSources: cheap, no getStats); undefined before
 * any arrived. Audio flows all the time in a call (silence too), so a pause in it is a dead path.
 */
export function lastAudioAt(receiver: RTCRtpReceiver | undefined): number | undefined {
  const sources = receiver?.getSynchronizationSources?.() ?? [];
  return sources.reduce<number | undefined>(
    (max, s) => (max === undefined || s.timestamp > max ? s.timestamp : max),
    undefined,
  );
}

/** New ICE servers (fresh TURN credentials) and policy for a live connection's next ICE restart. */
export function applyIceConfig(
  pc: RTCPeerConnection,
  iceServers: IceServer[],
  iceTransportPolicy: IceTransportPolicy,
  log: Logger,
): void {
  try {
    pc.setConfiguration({
      ...pc.getConfiguration(),
      iceServers: iceServers as RTCIceServer[],
      iceTransportPolicy,
    });
  } catch (error) {
    log.warn('applying the new ICE servers failed', error);
  }
}
