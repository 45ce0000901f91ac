/** The page's shared kit. */
import { CallKitServer } from './CallKitServer.js';

/** The one kit of the page, as TUICallKit exports it; `<tui-call-kit>` renders this one. */
export const TUICallKitServer = new CallKitServer();
