/** The capture profiles of `setVideoQuality`. */
export type VideoQuality = '480p' | '720p' | '1080p';

/** Capture size and encoder ceiling of each profile. */
export interface VideoProfile {
  width: number;
  height: number;
  frameRate: number;
  /** Encoder `maxBitrate`, bits/s. */
  maxBitrate: number;
}

/** The seed's sizes (640×480, 1280×720, 1920×1080) with bitrates that suit them. */
export const videoProfiles: Readonly<Record<VideoQuality, VideoProfile>> = {
  '480p': { width: 640, height: 480, frameRate: 15, maxBitrate: 900_000 },
  '720p': { width: 1280, height: 720, frameRate: 15, maxBitrate: 1_500_000 },
  '1080p': { width: 1920, height: 1080, frameRate: 15, maxBitrate: 2_500_000 },
};

/** Whether `value` names a profile. */
export function isVideoQuality(value: unknown): value is VideoQuality {
  return typeof value === 'string' && Object.hasOwn(videoProfiles, value);
}

/** getUserMedia video constraints for a profile and, optionally, a chosen camera. */
export function videoConstraints(
  quality: VideoQuality,
  deviceId: string | undefined,
): MediaTrackConstraints {
  const { width, height, frameRate } = videoProfiles[quality];
  return {
    width: { ideal: width },
    height: { ideal: height },
    frameRate: { ideal: frameRate },
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}
