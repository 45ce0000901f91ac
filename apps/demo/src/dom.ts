/** The page's elements, looked up once and checked, so a renamed id fails loudly at start-up. */

/** The element `#id`, checked to be a `type`. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`#${id} is missing from the page or is not a ${type.name}`);
  }
  return element;
}

export function findElements() {
  return {
    body: document.body,
    session: byId('session', HTMLElement),
    logout: byId('logout', HTMLButtonElement),

    loginForm: byId('login-form', HTMLFormElement),
    userID: byId('userID', HTMLInputElement),
    login: byId('login', HTMLButtonElement),

    callForm: byId('call-form', HTMLFormElement),
    status: byId('status', HTMLOutputElement),
    callee: byId('callee', HTMLInputElement),
    callVideo: byId('call-video', HTMLButtonElement),
    callAudio: byId('call-audio', HTMLButtonElement),
    quality: byId('quality', HTMLSelectElement),

    incoming: byId('incoming', HTMLElement),
    incomingCaller: byId('incoming-caller', HTMLElement),
    incomingType: byId('incoming-type', HTMLElement),
    accept: byId('accept', HTMLButtonElement),
    reject: byId('reject', HTMLButtonElement),

    dialing: byId('dialing', HTMLElement),
    dialingCallee: byId('dialing-callee', HTMLElement),
    dialingType: byId('dialing-type', HTMLElement),
    cancel: byId('cancel', HTMLButtonElement),

    inCall: byId('in-call', HTMLElement),
    inCallPeer: byId('in-call-peer', HTMLElement),
    mute: byId('mute', HTMLButtonElement),
    camera: byId('camera', HTMLButtonElement),
    toAudio: byId('to-audio', HTMLButtonElement),
    toVideo: byId('to-video', HTMLButtonElement),
    hangup: byId('hangup', HTMLButtonElement),

    refreshDevices: byId('refresh-devices', HTMLButtonElement),
    cameraSelect: byId('camera-select', HTMLSelectElement),
    micSelect: byId('mic-select', HTMLSelectElement),

    notice: byId('notice', HTMLElement),

    remoteView: byId('remote-view', HTMLDivElement),
    remoteTile: byId('remote-view', HTMLDivElement).parentElement as HTMLElement,
    remotePlaceholder: byId('remote-placeholder', HTMLElement),
    remoteName: byId('remote-name', HTMLElement),
    remoteMuted: byId('remote-muted', HTMLElement),
    remoteCameraOff: byId('remote-camera-off', HTMLElement),
    localView: byId('local-view', HTMLDivElement),
    localTile: byId('local-view', HTMLDivElement).parentElement as HTMLElement,
    localPlaceholder: byId('local-placeholder', HTMLElement),
    localName: byId('local-name', HTMLElement),
    localMuted: byId('local-muted', HTMLElement),

    log: byId('log', HTMLOListElement),
    clearLog: byId('clear-log', HTMLButtonElement),
  };
}

export type Elements = ReturnType<typeof findElements>;
