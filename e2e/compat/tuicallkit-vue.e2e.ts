/**
 * TUICallKit's Vue 3 quick-start (e2e/compat/apps/vue), with only its import changed to
 * `@ringline/callkit/vue` and the server URL added, in Chromium: see tuicallkit-app.ts.
 */
import { describeQuickStartApp } from './tuicallkit-app.js';

describeQuickStartApp('vue');
