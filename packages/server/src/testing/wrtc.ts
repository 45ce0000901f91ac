/**
 * @roamhq/wrtc (libwebrtc for Node) for the server's media tests, with a minimal typing of the
 * parts they use (its own types need the DOM lib).
 */
import { createRequire } from 'node:module';

export interface Track {
  kind: string;
  stop(): void;
}
/** RTCRtpSendParameters, of which the tests set only the degradation preference. */
export interface SendParameters {
  degradationPreference?: 'balanced' | 'maintain-framerate' | 'maintain-resolution';
  [other: string]: unknown;
}
export interface Transceiver {
  mid: string | null;
  receiver: { track: Track };
  sender: {
    getParameters(): SendParameters;
    setParameters(parameters: SendParameters): Promise<void>;
    replaceTrack(track: Track | null): Promise<void>;
  };
}
export interface Candidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}
export interface PeerConnection {
  addTransceiver(
    /** A track, or a kind for a sender without one yet (pre-connect). */
    track: Track | 'audio' | 'video',
    init: {
      direction: 'sendonly';
      sendEncodings?: { rid: string; scaleResolutionDownBy: number; maxBitrate?: number }[];
    },
  ): Transceiver;
  createOffer(): Promise<{ type: 'offer'; sdp: string }>;
  createAnswer(): Promise<{ type: 'answer'; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  onicecandidate: ((e: { candidate: Candidate | null }) => void) | null;
  ontrack: ((e: { track: Track; transceiver: Transceiver }) => void) | null;
  readonly connectionState: string;
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}
export interface VideoSink {
  onframe: ((e: { frame: { width: number; height: number } }) => void) | null;
  stop(): void;
}
export interface Wrtc {
  RTCPeerConnection: new (config?: object) => PeerConnection;
  nonstandard: {
    RTCVideoSource: new () => {
      createTrack(): Track;
      onFrame(f: { width: number; height: number; data: Uint8Array }): void;
    };
    RTCAudioSource: new () => {
      createTrack(): Track;
      onData(d: { samples: Int16Array; sampleRate: number }): void;
    };
    RTCVideoSink: new (track: Track) => VideoSink;
  };
}

export const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;

/** Media bytes sent and received over `pc` (RTP payload and headers, as getStats counts them). */
export async function mediaBytes(pc: PeerConnection): Promise<{ sent: number; received: number }> {
  let sent = 0;
  let received = 0;
  for (const r of (await pc.getStats()).values()) {
    if (r.type === 'outbound-rtp') sent += Number(r.bytesSent ?? 0);
    if (r.type === 'inbound-rtp') received += Number(r.bytesReceived ?? 0);
  }
  return { sent, received };
}
