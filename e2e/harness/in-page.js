// A classic browser script, not a module: Playwright installs it with
// `addInitScript({ path })` so that it runs in every page before any of the page's own scripts.
// The e2e harness and bench/call.mjs both use it, so the tests and the benchmark measure alike.
//
// It exposes `window.__ringline` with:
// - `peerConnections`: every RTCPeerConnection the page creates (the SDK's included), recorded by a
//   transparent subclass installed before the SDK loads, so tests can read `getStats()` without
//   reaching into the SDK's internals;
// - `events`: every TRTCCalling event fired, with its payload, once `record()` was called;
// - helpers to find the `<video>` showing a user, count its frames, read RTP stats;
// - `floorFirstFrame()`: a bare RTCPeerConnection pair in this page, the benchmark's baseline.
(() => {
  if (window.__ringline) return;

  const NativePeerConnection = window.RTCPeerConnection;
  const peerConnections = [];
  if (NativePeerConnection) {
    // A subclass, not a wrapper object: instanceof checks and static members keep working.
    class RecordedPeerConnection extends NativePeerConnection {
      constructor(...args) {
        super(...args);
        peerConnections.push(this);
      }
    }
    window.RTCPeerConnection = RecordedPeerConnection;
  }

  const now = () => performance.timeOrigin + performance.now();

  /** Payloads cross into Node as JSON; errors keep their code and message. */
  function toPlain(value) {
    try {
      return JSON.parse(
        JSON.stringify(value === undefined ? null : value, (_key, v) => {
          if (v instanceof Error) return { name: v.name, code: v.code, message: v.message };
          if (v instanceof Node) return `<${v.nodeName}>`;
          if (v instanceof MediaStream || v instanceof MediaStreamTrack)
            return `[${v.constructor.name}]`;
          return v;
        }),
      );
    } catch (error) {
      return { unserializable: String(error) };
    }
  }

  const events = [];
  /** The TRTCCalling instance under test and its user, set by `start()`. */
  let calling = null;
  let ownUserID = null;

  /**
   * Prepares the page as an app would: two view containers, then `new TRTCCalling(options)` from
   * the SDK's global, with every event recorded.
   */
  function start(options, userID) {
    if (typeof window.TRTCCalling !== 'function') {
      throw new Error('window.TRTCCalling is not a constructor: the SDK bundle did not load');
    }
    const views = ['local-view', 'remote-view'].map((id) => {
      const div = document.createElement('div');
      div.id = id;
      div.style.cssText =
        'display:inline-block;width:320px;height:240px;margin:4px;background:#222';
      return div;
    });
    const label = document.createElement('p');
    label.textContent = `user ${userID}`;
    document.body.replaceChildren(label, ...views);
    calling = new window.TRTCCalling(options);
    ownUserID = userID;
    record(calling, window.TRTCCalling.EVENT);
    window.trtcCalling = calling;
  }

  /** Subscribes to every event in `EVENT` (all of TRTCCalling.EVENT's values) with `on`. */
  function record(calling, EVENT) {
    for (const name of new Set(Object.values(EVENT))) {
      calling.on(name, (payload) => {
        events.push({ name, payload: toPlain(payload), at: now() });
        if (name === 'onUserEnter' && autoViewSize) showRemote(payload.userID);
      });
    }
  }

  /**
   * A view container with id `id` (made if missing) of `width` × `height` CSS pixels — the size
   * the SDK's simulcast layer choice reads.
   */
  function addView(id, width = 320, height = 240) {
    let div = document.getElementById(id);
    if (!div) {
      div = document.createElement('div');
      div.id = id;
      document.body.append(div);
    }
    div.style.cssText = `display:inline-block;width:${width}px;height:${height}px;margin:2px;background:#222`;
    return id;
  }

  /** The id of the view container `showRemotes` makes for `userID`. */
  const viewIdOf = (userID) => `view-${userID}`;

  /** Size of the views made on USER_ENTER once `showRemotes` was called (null: not wanted). */
  let autoViewSize = null;
  const shownRemotes = new Set();

  /** Renders `userID` into a view of their own (once), as a group-call app does on USER_ENTER. */
  function showRemote(userID) {
    if (shownRemotes.has(userID) || userID === ownUserID) return;
    shownRemotes.add(userID);
    const id = addView(viewIdOf(userID), autoViewSize.width, autoViewSize.height);
    calling.startRemoteView({ userID, videoViewDomID: id }).catch((error) => {
      console.error(`startRemoteView(${userID}) failed: ${error?.code} ${error?.message}`);
    });
  }

  /**
   * From now on, every user who enters the call (and everyone who already did) is shown in a
   * view of their own of `width` × `height`.
   */
  function showRemotes(width = 160, height = 120) {
    autoViewSize = { width, height };
    for (const e of events) if (e.name === 'onUserEnter') showRemote(e.payload.userID);
  }

  /** Runs `calling[method](...args)`; never throws, so a coded SDK error reaches Node intact. */
  async function invoke(method, args) {
    if (typeof calling?.[method] !== 'function') {
      return {
        ok: false,
        error: { name: 'TypeError', message: `TRTCCalling has no method ${method}()` },
      };
    }
    try {
      return { ok: true, value: toPlain(await calling[method](...args)) };
    } catch (error) {
      return {
        ok: false,
        error: {
          name: error?.name ?? 'Error',
          code: error?.code,
          message: error?.message ?? String(error),
        },
      };
    }
  }

  /**
   * The `<video>` showing `userID`: the one the SDK tagged with data-user-id, else the one in the
   * view container the harness made for that side (own user → local view, anyone else → remote).
   */
  function videoOf(userID) {
    const tagged = document.querySelector(`video[data-user-id="${CSS.escape(userID)}"]`);
    if (tagged) return tagged;
    const containerID = userID === ownUserID ? 'local-view' : 'remote-view';
    return document.querySelector(`#${containerID} video`);
  }

  /** Frames the `<video>` showing `userID` has decoded and presented so far (0 without one). */
  function framesOf(userID) {
    const video = videoOf(userID);
    if (!video) return 0;
    return video.getVideoPlaybackQuality().totalVideoFrames;
  }

  function videoInfo(userID) {
    const video = videoOf(userID);
    if (!video) return null;
    return {
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
      width: video.videoWidth,
      height: video.videoHeight,
      muted: video.muted,
      paused: video.paused,
      hasStream: video.srcObject instanceof MediaStream,
      liveTracks:
        video.srcObject instanceof MediaStream
          ? video.srcObject
              .getTracks()
              .filter((t) => t.readyState === 'live')
              .map((t) => t.kind)
          : [],
    };
  }

  /** Sums RTP stats of one direction and kind over every open peer connection of the page. */
  async function rtpStats(type, kind) {
    const total = {
      audioEnergy: 0,
      connections: 0,
      packets: 0,
      bytes: 0,
      framesDecoded: 0,
      frameWidth: 0,
      frameHeight: 0,
    };
    for (const pc of peerConnections) {
      if (pc.connectionState === 'closed') continue;
      total.connections += 1;
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== type || s.kind !== kind) return;
        total.packets += (type === 'inbound-rtp' ? s.packetsReceived : s.packetsSent) ?? 0;
        total.bytes += (type === 'inbound-rtp' ? s.bytesReceived : s.bytesSent) ?? 0;
        total.framesDecoded += s.framesDecoded ?? 0;
        total.audioEnergy += s.totalAudioEnergy ?? 0;
        if (s.frameWidth) {
          total.frameWidth = s.frameWidth;
          total.frameHeight = s.frameHeight;
        }
      });
    }
    return total;
  }

  /** Live local tracks being sent, with their capture settings. */
  function sentTracks() {
    const out = [];
    for (const pc of peerConnections) {
      if (pc.connectionState === 'closed') continue;
      for (const sender of pc.getSenders()) {
        const t = sender.track;
        if (!t) continue;
        const { width, height, deviceId } = t.getSettings();
        out.push({
          kind: t.kind,
          readyState: t.readyState,
          enabled: t.enabled,
          width,
          height,
          deviceId,
        });
      }
    }
    return out;
  }

  /**
   * Resolves with the time (ms since the epoch, this machine's clock) of the first frame presented
   * by `video` from now on, using requestVideoFrameCallback; rejects after `timeoutMs`.
   */
  function nextFrameAt(video, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no video frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      video.requestVideoFrameCallback(() => {
        clearTimeout(timer);
        resolve(now());
      });
    });
  }

  /**
   * Resolves with the time of the first frame of the `<video>` that will show `userID`, waiting for
   * the SDK to create that element first (it appears after startRemoteView / the remote track).
   */
  function firstFrameOf(userID, timeoutMs) {
    const deadline = now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const look = () => {
        const video = videoOf(userID);
        if (video) {
          nextFrameAt(video, Math.max(1, deadline - now())).then(resolve, reject);
          return;
        }
        if (now() > deadline) {
          reject(new Error(`no <video> for ${userID} within ${timeoutMs} ms`));
          return;
        }
        requestAnimationFrame(look);
      };
      look();
    });
  }

  /**
   * The benchmark's floor: a bare RTCPeerConnection pair in this page (fake camera, offer/answer
   * and ICE exchanged in-page, no server), from getUserMedia to the first decoded remote frame.
   * Returns the milliseconds it took; closes everything it opened.
   */
  async function floorFirstFrame(timeoutMs = 15000) {
    const started = now();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const a = new NativePeerConnection();
    const b = new NativePeerConnection();
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    document.body.append(video);
    try {
      a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
      b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
      const firstFrame = new Promise((resolve, reject) => {
        b.ontrack = (e) => {
          if (e.track.kind !== 'video') return;
          video.srcObject = new MediaStream([e.track]);
          nextFrameAt(video, timeoutMs).then(resolve, reject);
        };
      });
      for (const track of stream.getTracks()) a.addTrack(track, stream);
      await a.setLocalDescription();
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription();
      await a.setRemoteDescription(b.localDescription);
      return (await firstFrame) - started;
    } finally {
      a.close();
      b.close();
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
      video.remove();
    }
  }

  /**
   * The group benchmark's baseline, without the SDK or our server: a bare publisher and subscriber
   * connection whose SDP the bench relays to Janus itself (non-trickle: each description is
   * returned once ICE gathering is complete).
   */
  const bare = { publisher: null, subscriber: null, stream: null, streams: [] };

  function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  }

  async function barePublisherOffer() {
    bare.stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 640, height: 480 },
    });
    const pc = new NativePeerConnection();
    bare.publisher = pc;
    for (const track of bare.stream.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [bare.stream] });
    }
    await pc.setLocalDescription();
    await gathered(pc);
    return { type: 'offer', sdp: pc.localDescription.sdp };
  }

  async function barePublisherAnswer(answer) {
    await bare.publisher.setRemoteDescription(answer);
  }

  /** Answers Janus's subscriber offer; each video mid gets a tagged `<video>` of `width`×`height`. */
  async function bareSubscribe(offer, streams, width = 150, height = 112) {
    bare.streams = streams;
    const pc = new NativePeerConnection();
    bare.subscriber = pc;
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      const userID = bare.streams.find((s) => s.mid === e.transceiver.mid)?.userID;
      if (!userID) return;
      const video = document.createElement('video');
      video.autoplay = true;
      video.muted = true;
      video.playsInline = true;
      video.dataset.userId = userID;
      video.style.cssText = `width:${width}px;height:${height}px;margin:2px;background:#222`;
      video.srcObject = new MediaStream([e.track]);
      document.body.append(video);
    };
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription();
    await gathered(pc);
    return { type: 'answer', sdp: pc.localDescription.sdp };
  }

  function bareClose() {
    bare.publisher?.close();
    bare.subscriber?.close();
    for (const t of bare.stream?.getTracks() ?? []) t.stop();
    for (const v of document.querySelectorAll('video[data-user-id]')) v.remove();
    Object.assign(bare, { publisher: null, subscriber: null, stream: null, streams: [] });
  }

  window.__ringline = {
    barePublisherOffer,
    barePublisherAnswer,
    bareSubscribe,
    bareClose,
    peerConnections,
    events,
    now,
    start,
    record,
    invoke,
    addView,
    viewIdOf,
    showRemotes,
    videoOf,
    framesOf,
    videoInfo,
    rtpStats,
    sentTracks,
    nextFrameAt,
    firstFrameOf,
    floorFirstFrame,
  };
})();
