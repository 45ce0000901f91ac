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
  /** navigator.mediaDevices.enumerateDevices. */
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
  /** A new media session for one call. */
  createSession(options: SessionOptions): MediaSession;
}
