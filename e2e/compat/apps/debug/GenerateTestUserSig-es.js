/* global window, __SDK_APP_ID__ */
// Stands in for the GenerateTestUserSig-es.js Tencent's quick-start copies into the app (it signs
// with the SDK secret in the browser). Here the test signs on the server and puts the signatures
// on the page before the user clicks "init"; the apps import this module exactly as they import
// Tencent's.
export function genTestUserSig({ userID }) {
  const userSig = window.__userSigs?.[userID];
  if (!userSig) throw new Error(`no test userSig for ${userID}`);
  return { userSig, SDKAppID: __SDK_APP_ID__ };
}
