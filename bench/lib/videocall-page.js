// bench:call's second baseline, run inside a Chromium page: a 1:1 ringing service made straight
// on Janus's VideoCall plugin (register, call, incoming call, accept), with the Janus JSON API over
// its WebSocket transport — what an app built on that plugin does, without Ringline. One client
// per page, as `window.__videocall`. Times are performance.timeOrigin + performance.now(), the
// clock the Ringline measurements in these pages use.
(() => {
  if (window.__videocall) return;
  const now = () => performance.timeOrigin + performance.now();
  let ws;
  let sessionID;
  let handleID;
  let pc;
  let localStream;
  let keepalive;
  let nextTransaction = 0;
  /** Janus replies and plugin events, by transaction; plugin events without one go to `onEvent`. */
  const waiting = new Map();
  /** VideoCall plugin events (`incomingcall`, `accepted`, `hangup`, …) not yet taken. */
  const events = [];
  const eventWaiters = [];

  function send(message) {
    const transaction = `t${++nextTransaction}`;
    ws.send(
      JSON.stringify({ ...message, transaction, session_id: sessionID, handle_id: handleID }),
    );
    return transaction;
  }

  /** Sends `message`; resolves with the reply that is not an `ack` (rejects on `error`). */
  function request(message, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const transaction = send(message);
      const timer = setTimeout(() => {
        waiting.delete(transaction);
        reject(new Error(`janus: no reply to ${message.janus} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(transaction, (reply) => {
        clearTimeout(timer);
        waiting.delete(transaction);
        if (reply.janus === 'error') reject(new Error(`janus: ${reply.error?.reason}`));
        else resolve(reply);
      });
    });
  }

  function onMessage(text) {
    const message = JSON.parse(text);
    if (message.janus === 'ack') return;
    if (message.janus === 'event' && message.plugindata) {
      const data = message.plugindata.data;
      if (data.error) {
        const reply = waiting.get(message.transaction);
        if (reply) reply({ janus: 'error', error: { reason: data.error } });
        return;
      }
      // The answer to a request (`registered`, `calling`, …) is also an event others may wait for.
      waiting.get(message.transaction)?.(message);
      const result = data.result ?? {};
      const event = { name: result.event, jsep: message.jsep, at: now() };
      const waiter = eventWaiters.findIndex((w) => w.name === event.name);
      if (waiter >= 0) eventWaiters.splice(waiter, 1)[0].resolve(event);
      else events.push(event);
      return;
    }
    if (message.transaction && waiting.has(message.transaction)) {
      waiting.get(message.transaction)(message);
    }
  }

  /** The next VideoCall event named `name` (already received or still to come). */
  function nextEvent(name, timeoutMs = 15_000) {
    const index = events.findIndex((e) => e.name === name);
    if (index >= 0) return Promise.resolve(events.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { name, resolve };
      eventWaiters.push(waiter);
      setTimeout(() => {
        const at = eventWaiters.indexOf(waiter);
        if (at < 0) return;
        eventWaiters.splice(at, 1);
        reject(new Error(`videocall: no ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /** Connects, creates a session, attaches the VideoCall plugin and registers `username`. */
  async function register(url, username) {
    ws = new WebSocket(url, 'janus-protocol');
    ws.onmessage = (e) => onMessage(e.data);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`janus: cannot connect to ${url}`));
    });
    sessionID = (await request({ janus: 'create' })).data.id;
    handleID = (await request({ janus: 'attach', plugin: 'janus.plugin.videocall' })).data.id;
    keepalive = setInterval(() => send({ janus: 'keepalive' }), 20_000);
    await request({ janus: 'message', body: { request: 'register', username } });
  }

  /** A fresh peer connection that trickles its candidates to Janus and shows the remote video. */
  function newPeerConnection() {
    pc = new RTCPeerConnection();
    pc.onicecandidate = (e) =>
      send({ janus: 'trickle', candidate: e.candidate ?? { completed: true } });
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    document.body.append(video);
    const firstFrame = new Promise((resolve) => {
      pc.ontrack = (e) => {
        if (e.track.kind !== 'video') return;
        video.srcObject = new MediaStream([e.track]);
        video.requestVideoFrameCallback(() => resolve(now()));
      };
    });
    return { video, firstFrame };
  }

  let view;

  /** The caller: camera and mic, an offer, `call`; resolves once Janus says it is ringing. */
  async function call(peer) {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    view = newPeerConnection();
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    await pc.setLocalDescription();
    await request({
      janus: 'message',
      body: { request: 'call', username: peer },
      jsep: { type: 'offer', sdp: pc.localDescription.sdp },
    });
    await nextEvent('calling');
    // The answer arrives with `accepted`, whenever the callee accepts.
    void nextEvent('accepted', 60_000)
      .then((e) => e.jsep && pc?.setRemoteDescription(e.jsep))
      .catch(() => undefined);
  }

  /**
   * The callee presses Accept: camera and mic, the answer, `accept`. Resolves with the time Accept
   * was pressed; `firstFrame()` then gives the first decoded remote frame.
   */
  async function accept(offer) {
    const t0 = now();
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    view = newPeerConnection();
    await pc.setRemoteDescription(offer);
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    await pc.setLocalDescription();
    send({
      janus: 'message',
      body: { request: 'accept' },
      jsep: { type: 'answer', sdp: pc.localDescription.sdp },
    });
    return t0;
  }

  /** Rings, then accepts at once; resolves with {t0, frameAt}. */
  async function answerIncoming(timeoutMs = 15_000) {
    const incoming = await nextEvent('incomingcall', timeoutMs);
    const t0 = await accept(incoming.jsep);
    return { t0, frameAt: await firstFrame(timeoutMs) };
  }

  function firstFrame(timeoutMs = 15_000) {
    return Promise.race([
      view.firstFrame,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no video frame within ${timeoutMs} ms`)), timeoutMs),
      ),
    ]);
  }

  /** Ends the call on this side and waits for Janus's `hangup`; resets for the next call. */
  async function hangup() {
    send({ janus: 'message', body: { request: 'hangup' } });
    await nextEvent('hangup').catch(() => undefined);
    reset();
  }

  /** The other side hung up: waits for it and resets. */
  async function hungUp() {
    await nextEvent('hangup').catch(() => undefined);
    reset();
  }

  function reset() {
    pc?.close();
    pc = undefined;
    view?.video.remove();
    view = undefined;
    for (const track of localStream?.getTracks() ?? []) track.stop();
    localStream = undefined;
    events.length = 0;
  }

  function close() {
    reset();
    clearInterval(keepalive);
    ws?.close();
  }

  window.__videocall = { register, call, answerIncoming, firstFrame, hangup, hungUp, close };
})();
