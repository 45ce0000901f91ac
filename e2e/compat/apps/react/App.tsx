// TUICallKit's React quick-start (App.tsx), as Tencent's docs write it; only changed: the import
// line (`@tencentcloud/call-uikit-react` → `@ringline/callkit/react`) and `server` in init. The
// statusChanged/afterCalling props (documented props of <TUICallKit>) record into the page for the
// test to read.
import { useState } from 'react';
import { TUICallKit, TUICallKitServer, TUICallType } from '@ringline/callkit/react';
import * as GenerateTestUserSig from '../debug/GenerateTestUserSig-es';

declare const __SDK_APP_ID__: number;
declare const __RINGLINE_SERVER__: string;
const record = (entry: unknown) =>
  ((window as unknown as { __kitLog?: unknown[] }).__kitLog ??= []).push(entry);

function App() {
  const [callerUserID, setCallerUserID] = useState('');
  const [calleeUserID, setCalleeUserID] = useState('');
  const SDKAppID = __SDK_APP_ID__; // TODO: Replace with your SDKAppID
  const SDKSecretKey = ''; // TODO: Replace with your SDKSecretKey

  const init = async () => {
    const { userSig } = GenerateTestUserSig.genTestUserSig({
      userID: callerUserID,
      SDKAppID,
      SecretKey: SDKSecretKey,
    });
    await TUICallKitServer.init({
      userID: callerUserID,
      userSig,
      SDKAppID,
      server: __RINGLINE_SERVER__,
    });
    alert('TUICallKit init succeed');
  };

  const call = async () => {
    await TUICallKitServer.calls({
      userIDList: [calleeUserID],
      type: TUICallType.VIDEO_CALL,
    });
  };

  // From the docs' "audio call", "group call" and "virtual background" sections: an audio call
  // to the callee; several callees make a group call; blur is set on TUICallKitServer.
  const [groupUserIDs, setGroupUserIDs] = useState('');
  const groupCall = async () => {
    await TUICallKitServer.calls({
      userIDList: groupUserIDs.split(','),
      type: TUICallType.VIDEO_CALL,
    });
  };
  const audioCall = async () => {
    await TUICallKitServer.calls({
      userIDList: [calleeUserID],
      type: TUICallType.AUDIO_CALL,
    });
  };
  const blur = async () => {
    await TUICallKitServer.setBlurBackground(true);
  };

  return (
    <>
      <span>caller's ID: </span>
      <input
        type="text"
        placeholder="input caller userID"
        onChange={(event) => setCallerUserID(event.target.value)}
      />
      <button onClick={init}> step1. init </button> <br />
      <span>callee's ID: </span>
      <input
        type="text"
        placeholder="input callee userID"
        onChange={(event) => setCalleeUserID(event.target.value)}
      />
      <button onClick={call}> step2. call </button> <br />
      <input
        type="text"
        placeholder="input callee userIDs"
        onChange={(event) => setGroupUserIDs(event.target.value)}
      />
      <button onClick={audioCall}> audio call </button>
      <button onClick={groupCall}> group call </button>
      <button onClick={blur}> blur on </button>
      <TUICallKit
        statusChanged={(s: unknown) => record({ name: 'statusChanged', arg: s })}
        afterCalling={() => record({ name: 'afterCalling' })}
        kickedOut={(e: unknown) => record({ name: 'kickedOut', arg: e })}
      />
    </>
  );
}

export default App;
