// The app's backend: mints a userSig with @ringline/server and checks it, as a login endpoint would.
import { genUserSig, verifyUserSig } from '@ringline/server';

const options = { sdkAppID: 1400000001, secretKey: 'consumer-secret', userID: 'alice' };
const userSig: string = genUserSig(options);
const claims = verifyUserSig(userSig, options);
console.log(JSON.stringify({ userID: claims.userID }));
