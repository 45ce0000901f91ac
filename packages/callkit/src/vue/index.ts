/** `@ringline/callkit/vue`: the kit as a Vue 3 component. */
export { TUICallKit } from './TUICallKit.js';
// The kit's controller, so that one import line replaces @tencentcloud/call-uikit-vue's.
export { TUICallKitServer } from '../core/shared.js';
