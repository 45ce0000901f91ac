// A trtc-calling-js app in plain TypeScript (no bundler types), with only the import changed.
import TRTCCalling from '@ringline/calling';

export async function startCall(userID: string, userSig: string, peer: string): Promise<void> {
  const calling = new TRTCCalling({ SDKAppID: 1400000001, server: 'https://calls.example.com' });
  calling.on(TRTCCalling.EVENT.REJECT, () => void calling.hangup());
  await calling.login({ userID, userSig });
  await calling.call({ userID: peer, type: TRTCCalling.CALL_TYPE.VIDEO_CALL });
}
