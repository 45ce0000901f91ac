/**
 * TUICallKit's React quick-start (e2e/compat/apps/react), with only its import changed to
 * `@ringline/callkit/react` and the server URL added, in Chromium: see tuicallkit-app.ts.
 */
import { describeQuickStartApp } from './tuicallkit-app.js';

describeQuickStartApp('react');
