/** `@ringline/callkit/vue`: the kit as a Vue 3 component. */
export { TUICallKit } from './TUICallKit.js';
