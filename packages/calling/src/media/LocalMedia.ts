import { SdkErrorCode } from '@ringline/protocol';
import { CallError, type MediaKind } from '../errors.js';
import { TypedEmitter } from '../events/Emitter.js';
import { guard } from '../util/guard.js';
import type { Logger } from '../util/logger.js';
import type { MediaBackend } from './MediaBackend.js';
import { videoConstraints, videoProfiles, type VideoQuality } from './videoQuality.js';

/** Events of the local camera and microphone. */
export enum LocalMediaEvent {
  /** The local track of a kind was replaced, started or stopped (null). */
  TrackChanged = 'trackChanged',
}

/** Listener signatures of LocalMedia events. */
export interface LocalMediaCallbacks {
  [LocalMediaEvent.TrackChanged]: (kind: MediaKind, track: MediaStreamTrack | null) => void;
}

/** A camera or microphone, as `getCameras()` / `getMicrophones()` list them. */
export interface DeviceInfo {
  deviceId: string;
  groupId: string;
  kind: MediaDeviceKind;
  label: string;
}

/** How long a getUserMedia prompt may stay unanswered before the SDK gives up, ms. */
const CAPTURE_TIMEOUT_MS = 60_000;

/**
 * The local microphone and camera: captures tracks (mapping failures to the seed's 60003-60005),
 * keeps the chosen devices and quality, mutes, and switches devices. It owns the tracks it makes
 * and stops them on `release()`.
 */
export class LocalMedia extends TypedEmitter<LocalMediaCallbacks> {
  #tracks: Record<MediaKind, MediaStreamTrack | null> = { audio: null, video: null };
  #deviceIds: Record<MediaKind, string | undefined> = { audio: undefined, video: undefined };
  #quality: VideoQuality = '480p';
  #micMuted = false;

  constructor(
    private readonly backend: MediaBackend,
    private readonly log: Logger,
  ) {
    super();
  }

  /** The live track of `kind`, or null. */
  track(kind: MediaKind): MediaStreamTrack | null {
    return this.#tracks[kind];
  }

  /** The capture profile used for the camera. */
  get quality(): VideoQuality {
    return this.#quality;
  }

  /** Whether the microphone is muted (the track, if any, is disabled). */
  get micMuted(): boolean {
    return this.#micMuted;
  }

  /** What the other members should see: mic on and unmuted, camera on. */
  get mediaState(): { audio: boolean; video: boolean } {
    return {
      audio: this.#tracks.audio !== null && !this.#micMuted,
      video: this.#tracks.video !== null,
    };
  }

  /** Captures what is asked for and not yet live, in one getUserMedia call. */
  async acquire(want: Record<MediaKind, boolean>, signal?: AbortSignal): Promise<void> {
    // A track that ended by itself (device unplugged) is replaced.
    const kinds = (['audio', 'video'] as const).filter(
      (k) => want[k] && (!this.#tracks[k] || this.#tracks[k].readyState === 'ended'),
    );
    if (!kinds.length) return;
    const stream = await this.#capture(kinds, signal);
    for (const kind of kinds) {
      const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      if (!track) {
        stopAll(stream);
        throw kind === 'audio'
          ? CallError.noMicrophone('getUserMedia returned no audio track')
          : CallError.noCamera('getUserMedia returned no video track');
      }
      this.#set(kind, track);
    }
  }

  /** Stops the camera (the light goes off); a later `acquire` opens it again. */
  stopVideo(): void {
    this.#set('video', null);
  }

  /** Mutes or unmutes the microphone by disabling its track (no renegotiation). */
  setMicMuted(muted: boolean): void {
    this.#micMuted = muted;
    const audio = this.#tracks.audio;
    if (audio) audio.enabled = !muted;
  }

  /** Sets the camera profile; a live camera is re-constrained at once. */
  async setQuality(quality: VideoQuality): Promise<void> {
    this.#quality = quality;
    const video = this.#tracks.video;
    if (!video) return;
    const { width, height, frameRate } = videoProfiles[quality];
    try {
      await video.applyConstraints({
        width: { ideal: width },
        height: { ideal: height },
        frameRate: { ideal: frameRate },
      });
    } catch (error) {
      this.log.warn(`the camera could not change to ${quality}`, error);
    }
  }

  /**
   * Uses the device `deviceId` for `kind` from now on; a live track is replaced by one from the new
   * device (the old one stops only once the new one works).
   */
  async switchDevice(kind: MediaKind, deviceId: string, signal?: AbortSignal): Promise<void> {
    const previous = this.#deviceIds[kind];
    this.#deviceIds[kind] = deviceId;
    if (!this.#tracks[kind]) return;
    try {
      const stream = await this.#capture([kind], signal);
      const track = (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0];
      if (!track) throw CallError.fromMediaError(new Error('no track'), kind);
      this.#set(kind, track);
    } catch (error) {
      this.#deviceIds[kind] = previous;
      throw error;
    }
  }

  /** The cameras or microphones of this machine. */
  async devices(kind: 'videoinput' | 'audioinput'): Promise<DeviceInfo[]> {
    const all = await guard(this.backend.enumerateDevices(), {
      ms: 10_000,
      onTimeout: () =>
        CallError.fromMediaError(
          new Error('enumerateDevices timed out'),
          kind === 'audioinput' ? 'audio' : 'video',
        ),
    });
    return all
      .filter((d) => d.kind === kind)
      .map(({ deviceId, groupId, kind: k, label }) => ({ deviceId, groupId, kind: k, label }));
  }

  /**
   * Stops every track. The mute ends with them: the next call starts unmuted, as trtc-calling-js
   * (whose local stream, mute included, is made anew for each call) and as the UI shows it.
   */
  release(): void {
    this.#micMuted = false;
    this.#set('audio', null);
    this.#set('video', null);
  }

  #set(kind: MediaKind, track: MediaStreamTrack | null): void {
    const old = this.#tracks[kind];
    if (old === track) return;
    if (track && kind === 'audio') track.enabled = !this.#micMuted;
    this.#tracks[kind] = track;
    old?.stop();
    this.emit(LocalMediaEvent.TrackChanged, kind, track);
  }

  async #capture(kinds: MediaKind[], signal: AbortSignal | undefined): Promise<MediaStream> {
    const constraints: MediaStreamConstraints = {};
    if (kinds.includes('audio')) {
      const id = this.#deviceIds.audio;
      constraints.audio = id ? { deviceId: { exact: id } } : true;
    }
    if (kinds.includes('video')) {
      constraints.video = videoConstraints(this.#quality, this.#deviceIds.video);
    }
    try {
      return await this.#getUserMedia(constraints, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (kinds.length === 1) throw CallError.fromMediaError(error, kinds[0]!);
      const mapped = CallError.fromMediaError(error, 'audio');
      if (mapped.code === SdkErrorCode.PERMISSION_DENIED) throw mapped;
      // Both were asked for; find out which device is the one that cannot be used.
      try {
        stopAll(await this.#getUserMedia({ audio: constraints.audio! }, signal));
      } catch (audioError) {
        throw CallError.fromMediaError(audioError, 'audio');
      }
      throw CallError.fromMediaError(error, 'video');
    }
  }

  #getUserMedia(constraints: MediaStreamConstraints, signal: AbortSignal | undefined) {
    this.log.debug('getUserMedia', JSON.stringify(constraints));
    return guard(this.backend.getUserMedia(constraints), {
      ms: CAPTURE_TIMEOUT_MS,
      signal,
      onTimeout: () => CallError.permissionDenied('the permission prompt was not answered'),
      // Captured after the caller gave up: release the devices at once.
      onLate: stopAll,
    });
  }
}

function stopAll(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}
