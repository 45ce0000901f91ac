/** The e2e harness: a real server, Debian Chromium with fake devices, one page per user. */
export {
  useRingline,
  RESULTS_DIR,
  type Ringline,
  type RinglineOptions,
  type UserOptions,
} from './fixture.js';
export {
  startTestServer,
  AdminError,
  type TestServer,
  type TestServerOptions,
  type GroupAdmin,
} from './server.js';
export { SyntheticMedia, SyntheticParticipant } from './synthetic.js';
export {
  launchChromium,
  newUserContext,
  assertInTestNamespace,
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
} from './chromium.js';
export {
  TestUser,
  SdkCallError,
  LOCAL_VIEW,
  REMOTE_VIEW,
  type CallingApi,
  type DeviceInfo,
} from './user.js';
export {
  waitForEvent,
  framesDecoded,
  expectFramesRising,
  pollUntil,
  boundedBy,
  type WaitOptions,
} from './wait.js';
export {
  EVENT,
  AUDIO,
  VIDEO,
  ring,
  connect,
  showEachOther,
  groupRing,
  enteredAll,
  connectGroup,
  showAll,
  expectEveryoneDecodes,
  longestFreeze,
  frameCounters,
  connections,
  mediaBytes,
} from './scenarios.js';
export type { RecordedEvent, RtpTotals, VideoInfo, SentTrack } from './page-api.js';
