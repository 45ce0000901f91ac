/**
 * Types of what e2e/harness/in-page.js puts on `window` (the script itself is plain JS because it
 * runs in the browser as is). Functions passed to `page.evaluate` run in the page, so they can
 * only reach the harness through these globals.
 */

/** One TRTCCalling event as the in-page recorder saw it. */
export interface RecordedEvent {
  /** The event's string value, e.g. 'onInvited'. */
  name: string;
  /** The payload, as JSON (errors keep `code`, `message`, `name`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  payload: any;
  /** When it fired: ms since the epoch on this machine's clock. */
  at: number;
  /** Its position in the page's event list. */
  index: number;
}

export interface PageCallResult {
  ok: boolean;
  value?: unknown;
  error?: { name: string; code?: number; message: string };
}

export interface VideoInfo {
  frames: number;
  width: number;
  height: number;
  muted: boolean;
  paused: boolean;
  hasStream: boolean;
  liveTracks: string[];
}

export interface RtpTotals {
  /** Open peer connections the totals were summed over. */
  connections: number;
  packets: number;
  bytes: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  /** Inbound audio only: the sum of totalAudioEnergy; grows only while sound (not silence) arrives. */
  audioEnergy: number;
}

export interface SentTrack {
  kind: string;
  readyState: string;
  enabled: boolean;
  width?: number;
  height?: number;
  deviceId?: string;
}

export interface RinglinePageApi {
  peerConnections: RTCPeerConnection[];
  events: Omit<RecordedEvent, 'index'>[];
  now(): number;
  start(
    options: { SDKAppID: number; server: string; [option: string]: unknown },
    userID: string,
  ): void;
  invoke(method: string, args: unknown[]): Promise<PageCallResult>;
  addView(id: string, width?: number, height?: number): string;
  viewIdOf(userID: string): string;
  showRemotes(width?: number, height?: number): void;
  videoOf(userID: string): HTMLVideoElement | null;
  framesOf(userID: string): number;
  videoInfo(userID: string): VideoInfo | null;
  rtpStats(type: 'inbound-rtp' | 'outbound-rtp', kind: 'audio' | 'video'): Promise<RtpTotals>;
  sentTracks(): SentTrack[];
  firstFrameOf(userID: string, timeoutMs: number): Promise<number>;
  floorFirstFrame(timeoutMs?: number): Promise<number>;
}

declare global {
  interface Window {
    __ringline: RinglinePageApi;
  }
}
