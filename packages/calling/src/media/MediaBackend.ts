import type { MediaSession, SessionOptions } from './MediaSession.js';

/**
 * The environment's media capabilities behind one interface (after mediasoup-client's
 * HandlerInterface): the browser's in the product, a fake one in Node tests.
 */
export interface MediaBackend {
  /** The missing API when calls cannot work here (e.g. `RTCPeerConnection`), else undefined. */
  unsupported(need: { capture: boolean }): string | undefined;
  /** navigator.mediaDevices.getUserMedia. */
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  /**
   * Whether the user has already allowed capturing these kinds here (Permissions API), so that
   * opening them prompts nobody; false when it cannot tell.
   */
  captureAllowed(kinds: Record<'audio' | 'video', boolean>): Promise<boolean>;
  /** navigator.mediaDevices.enumerateDevices. */
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
  /** A new media session for one call. */
  createSession(options: SessionOptions): MediaSession;
}
