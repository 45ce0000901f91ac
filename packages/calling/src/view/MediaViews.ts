import { CallError } from '../errors.js';
import type { Substream } from '../media/MediaSession.js';
import type { Logger } from '../util/logger.js';
import { LayerWatcher } from './LayerWatcher.js';

interface View {
  userID: string;
  container: HTMLElement;
  video: HTMLVideoElement;
}

/**
 * The `<video>` and `<audio>` elements the SDK manages. Video goes into the app's DOM nodes
 * (start/stop…View); remote audio plays through one hidden `<audio>` per remote user so that audio
 * calls are heard without any view. Video elements are muted: sound comes only from the `<audio>`.
 */
export class MediaViews {
  #local: View | undefined;
  #localTrack: MediaStreamTrack | null = null;
  #remote = new Map<string, View>();
  #remoteTracks = new Map<string, { audio?: MediaStreamTrack; video?: MediaStreamTrack }>();
  #audio = new Map<string, HTMLAudioElement>();
  #waitingForGesture = false;
  #speakerMuted = false;
  readonly #layers: LayerWatcher;

  /** `onLayer` hears which simulcast layer each remote view's size calls for. */
  constructor(
    private readonly doc: Document,
    private readonly log: Logger,
    onLayer: (userID: string, substream: Substream) => void = () => {},
  ) {
    const view = doc.defaultView as (Window & { ResizeObserver?: typeof ResizeObserver }) | null;
    this.#layers = new LayerWatcher(view?.ResizeObserver, onLayer);
  }

  /** Shows the local camera in the node `domID` (replacing an earlier local view). */
  startLocal(userID: string, domID: string): void {
    const container = this.#container(domID);
    this.stopLocal();
    const video = this.#createVideo(userID, true);
    container.appendChild(video);
    this.#local = { userID, container, video };
    this.#show(video, this.#localTrack);
  }

  /** Removes the local view. */
  stopLocal(): void {
    const view = this.#local;
    this.#local = undefined;
    if (view) removeVideo(view.video);
  }

  /** The local camera track changed (null: camera off). */
  setLocalTrack(track: MediaStreamTrack | null): void {
    this.#localTrack = track;
    if (this.#local) this.#show(this.#local.video, track);
  }

  /** Shows `userID`'s video in the node `domID`, now or as soon as it arrives. */
  startRemote(userID: string, domID: string): void {
    const container = this.#container(domID);
    this.stopRemote(userID);
    const video = this.#createVideo(userID, false);
    container.appendChild(video);
    this.#remote.set(userID, { userID, container, video });
    this.#layers.watch(userID, video);
    this.#show(video, this.#remoteTracks.get(userID)?.video ?? null);
  }

  /** Removes `userID`'s remote view. */
  stopRemote(userID: string): void {
    const view = this.#remote.get(userID);
    this.#remote.delete(userID);
    this.#layers.unwatch(userID);
    if (view) removeVideo(view.video);
  }

  /** A remote track arrived: audio plays at once, video shows in the user's view if any. */
  addRemoteTrack(userID: string, track: MediaStreamTrack): void {
    const tracks = this.#remoteTracks.get(userID) ?? {};
    this.#remoteTracks.set(userID, tracks);
    if (track.kind === 'audio') {
      tracks.audio = track;
      this.#playAudio(userID, track);
    } else if (track.kind === 'video') {
      tracks.video = track;
      const view = this.#remote.get(userID);
      if (view) this.#show(view.video, track);
    }
  }

  /** `userID` left: their view and audio go. */
  removeUser(userID: string): void {
    this.#layers.forget(userID);
    this.stopRemote(userID);
    this.#remoteTracks.delete(userID);
    const audio = this.#audio.get(userID);
    this.#audio.delete(userID);
    if (audio) {
      audio.srcObject = null;
      audio.remove();
    }
  }

  /** The call ended: every element the SDK made is removed (as TRTC's stream.stop() does). */
  clear(): void {
    for (const userID of new Set([...this.#remote.keys(), ...this.#audio.keys()])) {
      this.removeUser(userID);
    }
    this.#remoteTracks.clear();
    this.#layers.clear();
    this.stopLocal();
  }

  #container(domID: string): HTMLElement {
    const container = this.doc.getElementById(domID);
    if (!container) {
      throw CallError.invalidArgument(
        'videoViewDomID',
        `the id of an element in the page (${domID})`,
      );
    }
    return container;
  }

  #createVideo(userID: string, local: boolean): HTMLVideoElement {
    const video = this.doc.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    video.setAttribute('autoplay', '');
    video.setAttribute('playsinline', '');
    video.setAttribute('muted', '');
    video.dataset.userId = userID;
    video.dataset.ringline = local ? 'local' : 'remote';
    video.style.width = '100%';
    video.style.height = '100%';
    video.style.objectFit = 'cover';
    if (local) video.style.transform = 'scaleX(-1)'; // a mirror, as people expect to see themselves
    return video;
  }

  #show(video: HTMLVideoElement, track: MediaStreamTrack | null): void {
    const current = (video.srcObject as MediaStream | null)?.getTracks()[0] ?? null;
    if (current === track) return;
    video.srcObject = track ? new MediaStream([track]) : null;
    if (track) this.#play(video);
  }

  /** Silences (or restores) every remote user's sound here, including users who join later. */
  setSpeakerMuted(muted: boolean): void {
    this.#speakerMuted = muted;
    for (const audio of this.#audio.values()) audio.muted = muted;
  }

  #playAudio(userID: string, track: MediaStreamTrack): void {
    let audio = this.#audio.get(userID);
    if (!audio) {
      audio = this.doc.createElement('audio');
      audio.autoplay = true;
      audio.setAttribute('autoplay', '');
      audio.dataset.userId = userID;
      audio.dataset.ringline = 'remote-audio';
      audio.style.display = 'none';
      this.doc.body.appendChild(audio);
      this.#audio.set(userID, audio);
    }
    audio.muted = this.#speakerMuted;
    audio.srcObject = new MediaStream([track]);
    this.#play(audio);
  }

  #play(element: HTMLMediaElement): void {
    element.play().catch((error: unknown) => {
      if ((error as { name?: string } | null)?.name === 'AbortError') return; // replaced meanwhile
      // Autoplay was refused: try again on the user's next gesture.
      this.log.warn('playback was blocked until the user interacts with the page', error);
      this.#retryOnGesture();
    });
  }

  #retryOnGesture(): void {
    if (this.#waitingForGesture) return;
    this.#waitingForGesture = true;
    const retry = (): void => {
      this.#waitingForGesture = false;
      for (const type of ['click', 'keydown', 'touchend'] as const) {
        this.doc.removeEventListener(type, retry, true);
      }
      for (const audio of this.#audio.values()) audio.play().catch(() => {});
      for (const view of [this.#local, ...this.#remote.values()])
        view?.video.play().catch(() => {});
    };
    for (const type of ['click', 'keydown', 'touchend'] as const) {
      this.doc.addEventListener(type, retry, true);
    }
  }
}

function removeVideo(video: HTMLVideoElement): void {
  video.srcObject = null;
  video.remove();
}
