// A TUICallKit React app and a trtc-calling-js app, with only the imports changed to Ringline's.
import { useState } from 'react';
import TRTCCalling from '@ringline/calling';
import { TUICallKit, TUICallKitServer } from '@ringline/callkit/react';

const SDKAppID = 1400000001;
const server = 'http://127.0.0.1:8080';

/** The trtc-calling-js way: one TRTCCalling, listeners on its EVENT names. */
export async function callWithSdk(userID: string, userSig: string, peer: string): Promise<void> {
  const calling = new TRTCCalling({ SDKAppID, server });
  calling.on(TRTCCalling.EVENT.INVITED, () => void calling.accept());
  calling.on(TRTCCalling.EVENT.USER_ENTER, ({ userID: remote }: { userID: string }) => {
    void calling.startRemoteView({ userID: remote, videoViewDomID: 'remote' });
  });
  await calling.login({ userID, userSig });
  await calling.call({ userID: peer, type: TRTCCalling.CALL_TYPE.VIDEO_CALL });
}

export function App() {
  const [userID, setUserID] = useState('');
  const login = async (userSig: string) => {
    await TUICallKitServer.init({ userID, userSig, SDKAppID, server });
  };
  return (
    <>
      <input value={userID} onChange={(e) => setUserID(e.target.value)} />
      <button onClick={() => void login('sig')}>Login</button>
      <button onClick={() => void TUICallKitServer.call({ userID: 'bob', type: 2 })}>Call</button>
      <TUICallKit style={{ width: 600, height: 400 }} />
    </>
  );
}
